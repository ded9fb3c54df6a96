"""The vaccination record as the immunisation registry's XML, and its answers.

Wire format: docs/departments.md, `cdc`. Requests are built with `xml.etree`;
answers are parsed with `defusedxml` and any DTD or entity declaration is refused
(`DepartmentProtocolError`), never expanded.
"""

from typing import Literal
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

import defusedxml
import defusedxml.ElementTree

from adapters._runtime.china_time import iso_cst
from adapters._runtime.errors import DepartmentProtocolError
from adapters._runtime.http import Refusal
from contracts.records import VaccinationRecord

Relation = Literal["mother", "father"]


def _text(parent: Element, tag: str, text: str) -> None:
    SubElement(parent, tag).text = text


def registration_xml(
    record: VaccinationRecord, *, relation: Relation = "mother", record_no: str | None = None
) -> bytes:
    """`POST /ImmunizationService/register` body: `<ChildRegistration>` with the
    hospital, the child, the guardian and one `<Dose>` per birth dose; with
    `record_no`, the body of `update` (the whole registration and its `<RecordNo>`).

    The record does not say how the guardian is related to the child; the saga
    names the mother as guardian, hence the default.
    """
    root = Element("ChildRegistration")
    if record_no is not None:
        _text(root, "RecordNo", record_no)
    SubElement(root, "Hospital", code=record.hospital_code)

    child = SubElement(root, "Child")
    _text(child, "Name", record.child.name)
    _text(child, "Sex", record.child.sex)
    _text(child, "BirthTime", iso_cst(record.child.born_at))
    _text(child, "BirthWeight", str(record.child.weight_g))

    guardian = SubElement(root, "Guardian", relation=relation)
    _text(guardian, "Name", record.guardian.name)
    _text(guardian, "IdType", record.guardian.id_type)
    _text(guardian, "IdNumber", record.guardian.id_number)
    if record.guardian.phone is not None:
        _text(guardian, "Phone", record.guardian.phone)

    for dose in record.doses:
        attrs = {
            "vaccine": dose.vaccine,
            "seq": str(dose.dose),
            "lot": dose.lot_number,
            "date": iso_cst(dose.given_at),
        }
        if dose.site is not None:
            attrs["site"] = dose.site
        SubElement(root, "Dose", attrs)
    document: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def cancellation_xml(record_no: str, reason: str) -> bytes:
    """`POST /ImmunizationService/cancel` body: `<Cancel><RecordNo/><Reason/></Cancel>`."""
    root = Element("Cancel")
    _text(root, "RecordNo", record_no)
    _text(root, "Reason", reason)
    document: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def parse_xml(body: bytes) -> Element:
    """Parse an answer safely: malformed XML, a DTD or an entity is a
    `DepartmentProtocolError`."""
    try:
        root: Element = defusedxml.ElementTree.fromstring(body, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise DepartmentProtocolError(
            f"department answered XML with a forbidden construct ({type(exc).__name__})"
        ) from exc
    except ParseError as exc:
        raise DepartmentProtocolError("department answered malformed XML") from exc
    return root


def record_number(body: bytes) -> str:
    """`<Result><RecordNo>…</RecordNo></Result>` → the record number."""
    root = parse_xml(body)
    number = root.findtext("RecordNo") if root.tag == "Result" else None
    if not number or not number.strip():
        raise DepartmentProtocolError("department answer has no <Result><RecordNo>")
    return number.strip()


def error_reason(body: bytes) -> Refusal | None:
    """`<Error><Code>…</Code><Message>…</Message></Error>` → the refusal; None when
    the body is not that shape."""
    try:
        root = parse_xml(body)
    except DepartmentProtocolError:
        return None
    message = root.findtext("Message") if root.tag == "Error" else None
    if not message:
        return None
    return Refusal(message.strip(), (root.findtext("Code") or "").strip() or None)


def vaccination_output(number: str) -> dict[str, str | None]:
    """What the step gives the saga."""
    return {"record_number": number}
