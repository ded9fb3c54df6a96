"""A BFDR-shaped FHIR Bundle (R4 or R4B) mapped to the birth event contract (SPEC §12).

The Bundle is parsed with the ``fhir.resources`` R4B models (R4 content parses with
them: the resources read here did not change between R4 and R4B). Only the resource
types the mapping reads are parsed; every other entry is dropped before parsing, so
a document's Conditions, Procedures, Coverage and the rest are ignored, never an error.

The result is the birth event as JSON (what a hospital would have posted) and, for
each field set, the FHIRPath expression into the Bundle it came from, so that the
contract's problems can be answered at the right place. The contract itself decides
what is valid: this module only reads.

Errors: :class:`NotFhir` (the body is not a FHIR Bundle: ``400``) and
:class:`MappingError` (the Bundle is FHIR but a field cannot be read: answered like a
contract problem, ``422``).
"""

# Chinese messages use Chinese (full-width) punctuation.
# ruff: noqa: RUF001

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import pycountry
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.composition import Composition
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.messageheader import MessageHeader
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse,
    QuestionnaireResponseItem,
)
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.relatedperson import RelatedPerson
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import ValidationError

from contracts.problems import FieldProblem
from gateway.fhir.questionnaire import QUESTIONNAIRE_URL, application_paths, field_type

LOINC: Final = "http://loinc.org"
V2_0203: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"
V3_ROLE: Final = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CVX: Final = "http://hl7.org/fhir/sid/cvx"
UCUM: Final = "http://unitsofmeasure.org"
ID_TYPES_SYSTEM: Final = "https://birthlink.example/fhir/CodeSystem/id-type"
VACCINE_SYSTEM: Final = "https://birthlink.example/fhir/CodeSystem/vaccine"
BIRTH_TIME: Final = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
NATIONALITY: Final = "http://hl7.org/fhir/StructureDefinition/patient-nationality"
MOTHER_PROFILE: Final = "Patient-mother-vr"
HOSPITAL_CODE_SYSTEM: Final = "https://birthlink.example/fhir/sid/hospital-code"
LIVE_BIRTH_REPORT: Final = "68998-4"

BIRTH_WEIGHT: Final = "8339-4"
GESTATIONAL_AGE: Final = "11884-4"
PLURALITY: Final = "57722-1"
PLURALITY_OF_MOTHER: Final = "73773-4"
BODY_LENGTH: Final = "89269-5"

# Identifier types (v2-0203, or birthlink's own code system) -> contract id_type.
ID_TYPES: Final[dict[tuple[str, str], str]] = {
    (V2_0203, "NNCHN"): "resident_id",
    (V2_0203, "PPN"): "passport",
    **{
        (ID_TYPES_SYSTEM, code): code
        for code in (
            "resident_id",
            "passport",
            "hk_macao_permit",
            "taiwan_permit",
            "foreign_permanent_id",
        )
    },
}
# The order in which a person's identifiers are preferred.
_ID_PREFERENCE: Final = (
    "resident_id",
    "hk_macao_permit",
    "taiwan_permit",
    "foreign_permanent_id",
    "passport",
)
# Birth doses: CVX 08 hepatitis B pediatric, 45 hepatitis B unspecified, 19 BCG.
VACCINES: Final[dict[tuple[str, str], str]] = {
    (CVX, "08"): "HepB",
    (CVX, "45"): "HepB",
    (CVX, "19"): "BCG",
    (VACCINE_SYSTEM, "HepB"): "HepB",
    (VACCINE_SYSTEM, "BCG"): "BCG",
}
GENDER: Final = {"male": "1", "female": "2", "other": "9", "unknown": "9"}
# Measurements by LOINC: the contract field, and its units (UCUM) with their factor.
QUANTITIES: Final[dict[str, tuple[str, dict[str, Decimal]]]] = {
    BIRTH_WEIGHT: ("child.weight_g", {"g": Decimal(1), "kg": Decimal(1000)}),
    GESTATIONAL_AGE: ("child.gestational_weeks", {"wk": Decimal(1), "d": 1 / Decimal(7)}),
    BODY_LENGTH: ("child.length_cm", {"cm": Decimal(1), "mm": Decimal("0.1")}),
}
MOTHER_ROLES: Final = frozenset({"MTH", "NMTH"})
FATHER_ROLES: Final = frozenset({"FTH", "NFTH"})
# The types the mapping reads; entries of any other type are dropped unparsed.
READ_TYPES: Final = frozenset(
    {
        "Bundle",
        "Composition",
        "MessageHeader",
        "Patient",
        "RelatedPerson",
        "Observation",
        "Immunization",
        "Encounter",
        "Organization",
        "QuestionnaireResponse",
    }
)
_CJK = re.compile(r"[\u3400-\u9fff]")


class NotFhir(ValueError):  # noqa: N818 (reads as the answer: 400)
    """The body is not a FHIR Bundle the library can parse."""

    def __init__(self, problems: list[tuple[str, FieldProblem]]) -> None:
        self.problems = problems
        super().__init__(f"not a FHIR Bundle ({len(problems)} problem(s))")


@dataclass
class Found:
    """A parsed resource and where it sits in the posted Bundle (FHIRPath)."""

    resource: Any
    at: str
    full_url: str | None


@dataclass
class Mapped:
    """The birth event as JSON, and where each field came from in the Bundle."""

    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[tuple[str, FieldProblem]] = field(default_factory=list)
    questionnaire_at: str | None = None

    def set(self, path: str, value: Any, at: str) -> None:
        """Set the field at a dotted path (``child.weight_g``) read from ``at``."""
        node = self.data
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        self.sources["/" + path.replace(".", "/")] = at

    def has(self, path: str) -> bool:
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def problem(self, at: str, pointer: str, code: str, en: str, zh: str) -> None:
        self.problems.append(
            (at, FieldProblem(pointer=pointer, code=code, message=en, message_zh=zh))
        )

    def expression(self, pointer: str) -> str:
        """The FHIRPath expression for a contract pointer: where the value came from,
        else where it should have been, else the nearest part that was read."""
        if pointer in self.sources:
            return self.sources[pointer]
        dotted = ".".join(p for p in pointer.split("/") if p and not p.isdigit())
        asked = any(dotted == p or dotted.startswith(p + ".") for p in application_paths())
        if self.questionnaire_at and field_type(dotted) is not None and asked:
            return f"{self.questionnaire_at}.repeat(item).where(linkId='{dotted}')"
        parts = pointer.split("/")
        while len(parts) > 1:
            parts.pop()
            parent = "/".join(parts)
            if parent in self.sources:
                return self.sources[parent]
        return "Bundle"


# -- parsing ----------------------------------------------------------------------------


def _expression(loc: tuple[int | str, ...], root: str = "Bundle") -> str:
    text = root
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _prune(bundle: dict[str, Any], at: str, problems: list[tuple[str, FieldProblem]]) -> None:
    """Drop the entries the mapping does not read (in place), keeping their positions."""
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            continue
        resource = entry["resource"]
        kind = resource.get("resourceType")
        where = f"{at}.entry[{i}].resource"
        if not isinstance(kind, str) or not _known_type(kind):
            problems.append(
                (
                    f"{where}.resourceType",
                    FieldProblem(
                        pointer="",
                        code="wrong_type",
                        message=f"is not a FHIR resource type: {str(kind)[:40]!r}",
                        message_zh="不是 FHIR 资源类型",
                    ),
                )
            )
            continue
        if kind not in READ_TYPES:
            entry["resource"] = None
        elif kind == "Bundle":
            _prune(resource, where, problems)


# Resource types of R4 that R4B no longer has: an R4 document may still carry them.
_R4_ONLY: Final = frozenset(
    {
        "EffectEvidenceSynthesis",
        "MedicinalProduct",
        "MedicinalProductAuthorization",
        "MedicinalProductContraindication",
        "MedicinalProductIndication",
        "MedicinalProductIngredient",
        "MedicinalProductInteraction",
        "MedicinalProductManufactured",
        "MedicinalProductPackaged",
        "MedicinalProductPharmaceutical",
        "MedicinalProductUndesirableEffect",
        "ResearchDefinition",
        "ResearchElementDefinition",
        "RiskEvidenceSynthesis",
        "SubstanceNucleicAcid",
        "SubstancePolymer",
        "SubstanceProtein",
        "SubstanceReferenceInformation",
        "SubstanceSourceMaterial",
        "SubstanceSpecification",
    }
)


def _known_type(kind: str) -> bool:
    if kind in _R4_ONLY:
        return True
    try:
        get_fhir_model_class(kind)
    except (KeyError, ValueError, AttributeError, ImportError):
        return False
    return True


def parse_bundle(data: object) -> Bundle:
    """The posted JSON as an R4B Bundle, the entries the mapping does not read dropped.
    Raises :class:`NotFhir`."""

    def refuse(at: str, code: str, en: str, zh: str) -> NotFhir:
        return NotFhir([(at, FieldProblem(pointer="", code=code, message=en, message_zh=zh))])

    if not isinstance(data, dict):
        raise refuse(
            "Bundle",
            "wrong_type",
            "must be a FHIR resource (a JSON object)",
            "必须是 FHIR 资源（JSON 对象）",
        )
    kind = data.get("resourceType")
    if kind != "Bundle":
        raise refuse(
            "Bundle.resourceType",
            "not_allowed",
            f"must be Bundle, not {str(kind)[:40]!r}",
            "必须是 Bundle",
        )
    pruned = copy.deepcopy(data)
    problems: list[tuple[str, FieldProblem]] = []
    _prune(pruned, "Bundle", problems)
    if problems:
        raise NotFhir(problems)
    try:
        return Bundle.model_validate(pruned)
    except ValidationError as exc:
        raise NotFhir(
            [
                (
                    _expression(tuple(err["loc"])),
                    FieldProblem(
                        pointer="",
                        code="invalid_fhir",
                        message=f"is not valid FHIR: {err['msg'][:200]}",
                        message_zh="不符合 FHIR 规范",
                    ),
                )
                for err in exc.errors(include_url=False, include_input=False)[:20]
            ]
        ) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # the library's own checks, some of which assume a string where JSON has a number
        raise refuse(
            "Bundle", "invalid_fhir", f"is not valid FHIR: {type(exc).__name__}", "不符合 FHIR 规范"
        ) from None


# -- reading ----------------------------------------------------------------------------


def _walk(bundle: Bundle, at: str) -> Iterator[Found]:
    for i, entry in enumerate(bundle.entry or []):
        if entry.resource is None:
            continue
        where = f"{at}.entry[{i}].resource"
        yield Found(entry.resource, where, entry.fullUrl)
        if isinstance(entry.resource, Bundle):
            yield from _walk(entry.resource, where)


class _Index:
    """The resources of a Bundle, found by type and by reference."""

    def __init__(self, bundle: Bundle) -> None:
        self.all = list(_walk(bundle, "Bundle"))

    def of(self, kind: type[FHIRAbstractModel]) -> list[Found]:
        return [f for f in self.all if isinstance(f.resource, kind)]

    def resolve(self, ref: Reference | None) -> Found | None:
        if ref is None or not ref.reference:
            return None
        target = ref.reference
        for found in self.all:
            url = found.full_url
            if url and (url == target or url.endswith("/" + target)):
                return found
            rid = getattr(found.resource, "id", None)
            if rid and target == f"{found.resource.get_resource_type()}/{rid}":
                return found
        return None

    def refers_to(self, ref: Reference | None, target: Found) -> bool:
        found = self.resolve(ref)
        return found is not None and found.resource is target.resource


def _codes(concept: CodeableConcept | None) -> set[tuple[str, str]]:
    if concept is None:
        return set()
    return {(c.system or "", c.code or "") for c in concept.coding or []}


def _loinc(concept: CodeableConcept | None) -> set[str]:
    return {code for system, code in _codes(concept) if system == LOINC}


def _name(names: list[HumanName] | None) -> tuple[str, int, str] | None:
    """(the name as written, its index, the element it came from)."""
    if not names:
        return None
    index = next((i for i, n in enumerate(names) if n.use == "official"), 0)
    name = names[index]
    if name.text:
        return name.text, index, "text"
    given = [g for g in name.given or [] if g]
    family = name.family or ""
    if _CJK.search(family + "".join(given)):
        return family + "".join(given), index, "family"
    return " ".join([*given, family]).strip(), index, "family"


def _id_of(identifiers: list[Identifier] | None) -> tuple[str, str, int] | None:
    """(id_type, number, index) of the preferred recognised identifier."""
    found: dict[str, tuple[str, int]] = {}
    for i, ident in enumerate(identifiers or []):
        for key in _codes(ident.type):
            kind = ID_TYPES.get(key)
            if kind and ident.value and kind not in found:
                found[kind] = (ident.value, i)
    for kind in _ID_PREFERENCE:
        if kind in found:
            return kind, found[kind][0], found[kind][1]
    return None


def _phone(resource: Any) -> tuple[str, int] | None:
    phones = [
        (i, t) for i, t in enumerate(resource.telecom or []) if t.system == "phone" and t.value
    ]
    if not phones:
        return None
    i, telecom = next(((i, t) for i, t in phones if t.use == "mobile"), phones[0])
    number = re.sub(r"[\s\-()]", "", telecom.value)
    number = re.sub(r"^(\+86|0086)", "", number)
    return number, i


def _timestamp(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _person(mapped: Mapped, role: str, found: Found) -> None:
    resource = found.resource
    name = _name(resource.name)
    if name is not None:
        text, i, element = name
        mapped.set(f"{role}.name", text, f"{found.at}.name[{i}].{element}")
    ident = _id_of(resource.identifier)
    if ident is not None:
        kind, number, i = ident
        mapped.set(f"{role}.id_type", kind, f"{found.at}.identifier[{i}].type")
        mapped.set(f"{role}.id_number", number, f"{found.at}.identifier[{i}].value")
    else:
        mapped.sources[f"/{role}/id_type"] = f"{found.at}.identifier"
        mapped.sources[f"/{role}/id_number"] = f"{found.at}.identifier"
    phone = _phone(resource)
    if phone is not None:
        mapped.set(f"{role}.phone", phone[0], f"{found.at}.telecom[{phone[1]}].value")
    for i, ext in enumerate(getattr(resource, "extension", None) or []):
        if ext.url != NATIONALITY:
            continue
        for j, sub in enumerate(ext.extension or []):
            if sub.url == "code" and sub.valueCodeableConcept is not None:
                for system, code in sorted(_codes(sub.valueCodeableConcept)):
                    if system == "urn:iso:std:iso:3166" and code:
                        two = len(code) == 2
                        country = pycountry.countries.get(alpha_2=code) if two else None
                        value = country.alpha_3 if country is not None else code
                        at = f"{found.at}.extension[{i}].extension[{j}].valueCodeableConcept"
                        mapped.set(f"{role}.nationality", value, at)
    mapped.sources.setdefault(f"/{role}", found.at)


def _birth_time(mapped: Mapped, child: Found) -> None:
    patient: Patient = child.resource
    on_date = patient.birthDate__ext.extension or [] if patient.birthDate__ext else []
    ext = next(((i, e) for i, e in enumerate(on_date) if e.url == BIRTH_TIME), None)
    if ext is not None:
        i, extension = ext
        mapped.set(
            "child.born_at",
            _timestamp(extension.valueDateTime),
            f"{child.at}._birthDate.extension[{i}].valueDateTime",
        )
        return
    for i, extension in enumerate(patient.extension or []):
        if extension.url == BIRTH_TIME:
            mapped.set(
                "child.born_at",
                _timestamp(extension.valueDateTime),
                f"{child.at}.extension[{i}].valueDateTime",
            )
            return
    if patient.birthDate is not None:  # a date alone: the contract asks for the time
        mapped.set("child.born_at", patient.birthDate.isoformat(), f"{child.at}.birthDate")
    else:
        mapped.sources["/child/born_at"] = f"{child.at}.birthDate"


def _observations(mapped: Mapped, index: _Index, child: Found, mother: Found | None) -> None:
    for found in index.of(Observation):
        obs: Observation = found.resource
        if obs.status in ("entered-in-error", "cancelled"):
            continue
        codes = _loinc(obs.code)
        about_child = obs.subject is None or index.refers_to(obs.subject, child)
        about_mother = mother is not None and index.refers_to(obs.subject, mother)
        measured = next((code for code in codes if code in QUANTITIES), None)
        if measured is not None and about_child and obs.valueQuantity is not None:
            _quantity(mapped, measured, obs.valueQuantity, found.at)
        elif (PLURALITY in codes and about_child and obs.valueInteger is not None) or (
            PLURALITY_OF_MOTHER in codes
            and (about_mother or about_child)
            and obs.valueInteger is not None
            and not mapped.has("child.plurality")
        ):
            mapped.set("child.plurality", obs.valueInteger, f"{found.at}.valueInteger")


def _quantity(mapped: Mapped, loinc: str, quantity: Quantity, at: str) -> None:
    """A measurement in one of the units its field takes, converted (UCUM codes)."""
    path, units = QUANTITIES[loinc]
    unit = quantity.code or quantity.unit or next(iter(units))
    if unit not in units:
        names = ", ".join(units)
        mapped.problem(
            f"{at}.valueQuantity.code",
            "/" + path.replace(".", "/"),
            "not_allowed",
            f"the unit must be one of {names}",
            f"单位必须是以下之一：{names}",
        )
        return
    if quantity.value is None:
        return
    value = quantity.value * units[unit]
    if path == "child.gestational_weeks":
        value = value.to_integral_value(rounding="ROUND_FLOOR")  # completed weeks
    mapped.set(path, _number(value), f"{at}.valueQuantity.value")


def _immunizations(mapped: Mapped, index: _Index, child: Found) -> None:
    doses: list[dict[str, Any]] = []
    for found in index.of(Immunization):
        imm: Immunization = found.resource
        if imm.status != "completed" or not index.refers_to(imm.patient, child):
            continue
        vaccine = next((VACCINES[c] for c in _codes(imm.vaccineCode) if c in VACCINES), None)
        if vaccine is None:
            continue  # another vaccine or medication: not a birth dose of the contract
        n = len(doses)
        dose: dict[str, Any] = {"vaccine": vaccine}
        mapped.sources[f"/vaccinations/{n}"] = found.at
        mapped.sources[f"/vaccinations/{n}/vaccine"] = f"{found.at}.vaccineCode"
        protocol = imm.protocolApplied[0] if imm.protocolApplied else None
        if protocol is not None and protocol.doseNumberPositiveInt is not None:
            dose["dose"] = protocol.doseNumberPositiveInt
            mapped.sources[f"/vaccinations/{n}/dose"] = (
                f"{found.at}.protocolApplied[0].doseNumberPositiveInt"
            )
        elif protocol is not None and protocol.doseNumberString is not None:
            dose["dose"] = protocol.doseNumberString
            mapped.sources[f"/vaccinations/{n}/dose"] = (
                f"{found.at}.protocolApplied[0].doseNumberString"
            )
        if imm.lotNumber is not None:
            dose["lot_number"] = imm.lotNumber
            mapped.sources[f"/vaccinations/{n}/lot_number"] = f"{found.at}.lotNumber"
        if imm.occurrenceDateTime is not None:
            dose["given_at"] = _timestamp(imm.occurrenceDateTime)
            mapped.sources[f"/vaccinations/{n}/given_at"] = f"{found.at}.occurrenceDateTime"
        if imm.site is not None:
            site = imm.site.text or next(
                (c.display for c in imm.site.coding or [] if c.display), None
            )
            if site:
                dose["site"] = site
                mapped.sources[f"/vaccinations/{n}/site"] = f"{found.at}.site"
        doses.append(dose)
    mapped.data["vaccinations"] = doses


# -- the QuestionnaireResponse --------------------------------------------------------


def _answer_value(answer: Any) -> tuple[object, str] | None:
    for name in (
        "valueCoding",
        "valueString",
        "valueBoolean",
        "valueInteger",
        "valueDecimal",
        "valueDateTime",
        "valueDate",
        "valueTime",
        "valueUri",
    ):
        value = getattr(answer, name, None)
        if value is None:
            continue
        if name == "valueCoding":
            return value.code, name
        if name == "valueDecimal":
            return _number(value), name
        return _timestamp(value), name
    return None


def _answers(
    items: list[QuestionnaireResponseItem] | None, at: str
) -> Iterator[tuple[str, list[tuple[object, str]]]]:
    for i, item in enumerate(items or []):
        where = f"{at}.item[{i}]"
        values: list[tuple[object, str]] = []
        for j, answer in enumerate(item.answer or []):
            value = _answer_value(answer)
            if value is not None:
                values.append((value[0], f"{where}.answer[{j}].{value[1]}"))
            yield from _answers(answer.item, f"{where}.answer[{j}]")
        if values and item.linkId:
            yield item.linkId, values
        yield from _answers(item.item, where)


def _questionnaire_response(mapped: Mapped, index: _Index) -> None:
    responses = [
        f
        for f in index.of(QuestionnaireResponse)
        if (f.resource.questionnaire or "").split("|")[0] == QUESTIONNAIRE_URL
        or (f.resource.questionnaire or "").endswith("Questionnaire/birth-application")
    ]
    if not responses:
        return
    found = responses[0]
    mapped.questionnaire_at = found.at
    # A parent's nationality or ethnicity is answered for a parent the Bundle names.
    parents = {p for p in ("mother", "father") if mapped.has(p)}
    from gateway.fhir.questionnaire import application_paths

    paths = application_paths()
    for link_id, values in _answers(found.resource.item, found.at):
        if not any(link_id == p or link_id.startswith(p + ".") for p in paths):
            continue  # not ours, or a field the clinical resources give
        kind = field_type(link_id)
        role = link_id.split(".")[0]
        if role in ("mother", "father") and role not in parents:
            continue
        if kind is None or mapped.has(link_id):
            continue  # the clinical resources said it already
        _, repeats = kind
        if repeats:
            mapped.set(link_id, [v for v, _ in values], values[0][1])
            for k, (_, at) in enumerate(values):
                mapped.sources[f"/{link_id.replace('.', '/')}/{k}"] = at
        else:
            mapped.set(link_id, values[0][0], values[0][1])


# -- the whole Bundle -----------------------------------------------------------------


def _document(bundle: Bundle, index: _Index) -> tuple[Bundle, str]:
    """The document inside: the Bundle itself, a message's focus, or the first
    document Bundle of a collection."""
    if bundle.type == "message":
        header = next(iter(index.of(MessageHeader)), None)
        for ref in (header.resource.focus or []) if header else []:
            focus = index.resolve(ref)
            if focus is not None and isinstance(focus.resource, Bundle):
                return focus.resource, focus.at
    if bundle.type in ("message", "collection"):
        for found in index.of(Bundle):
            if found.resource.type == "document":
                return found.resource, found.at
    return bundle, "Bundle"


def _child(mapped: Mapped, index: _Index, composition: Found | None) -> Found | None:
    if composition is not None:
        child = index.resolve(composition.resource.subject)
        if child is not None and isinstance(child.resource, Patient):
            return child
        mapped.problem(
            f"{composition.at}.subject",
            "/child",
            "missing",
            "the Composition's subject must be the child Patient in the Bundle",
            "Composition 的 subject 必须是 Bundle 中的新生儿 Patient",
        )
        return None
    for found in index.of(Observation):  # no Composition: the birth weight's subject
        if BIRTH_WEIGHT in _loinc(found.resource.code):
            child = index.resolve(found.resource.subject)
            if child is not None and isinstance(child.resource, Patient):
                return child
    mapped.problem(
        "Bundle.entry",
        "/child",
        "missing",
        "no child: a Composition whose subject is the child Patient is required",
        "缺少新生儿：需要以新生儿 Patient 为 subject 的 Composition",
    )
    return None


def _role(index: _Index, child: Found, roles: frozenset[str]) -> list[Found]:
    return [
        f
        for f in index.of(RelatedPerson)
        if index.refers_to(f.resource.patient, child)
        and any(code in roles for rel in f.resource.relationship or [] for _, code in _codes(rel))
    ]


def _has_profile(resource: Any, name: str) -> bool:
    meta = resource.meta
    return meta is not None and any(name in str(p) for p in meta.profile or [])


def _mother(mapped: Mapped, index: _Index, child: Found) -> Found | None:
    patients = [f for f in index.of(Patient) if f.resource is not child.resource]
    profiled = [f for f in patients if _has_profile(f.resource, MOTHER_PROFILE)]
    mothers = profiled or [
        f
        for f in patients
        if f.resource.gender in (None, "female")
        and f.resource.birthDate__ext is None
        and f.resource.multipleBirthInteger is None
    ]
    if not mothers:
        mothers = _role(index, child, MOTHER_ROLES)
    if len(mothers) > 1:
        mapped.problem(
            mothers[1].at,
            "/mother",
            "ambiguous",
            "more than one mother: the Bundle holds one mother Patient",
            "母亲不止一位：Bundle 中只能有一位母亲 Patient",
        )
        return None
    if not mothers:
        mapped.problem(
            "Bundle.entry",
            "/mother",
            "missing",
            "no mother: a Patient (Patient-mother-vr) or a RelatedPerson MTH of the child",
            "缺少母亲：需要母亲 Patient（Patient-mother-vr）或新生儿的 RelatedPerson MTH",
        )
        return None
    return mothers[0]


def _hospital(
    mapped: Mapped, index: _Index, composition: Found | None, encounter: Found | None
) -> None:
    candidates = [
        composition.resource.custodian if composition else None,
        encounter.resource.serviceProvider if encounter else None,
    ]
    resolved = (index.resolve(r) for r in candidates)
    org = next((f for f in resolved if f and isinstance(f.resource, Organization)), None)
    organizations = index.of(Organization)
    if org is None and len(organizations) == 1:
        org = organizations[0]
    if org is None:
        mapped.sources["/hospital"] = composition.at + ".custodian" if composition else "Bundle"
        return
    mapped.sources["/hospital"] = org.at
    idents = [(i, x) for i, x in enumerate(org.resource.identifier or []) if x.value]
    ours = [(i, x) for i, x in idents if x.system == HOSPITAL_CODE_SYSTEM]
    ident = (ours or idents)[0] if idents else None
    if ident is not None:
        mapped.set("hospital.code", ident[1].value, f"{org.at}.identifier[{ident[0]}].value")
    else:
        mapped.sources["/hospital/code"] = f"{org.at}.identifier"
    if org.resource.name:
        mapped.set("hospital.name", org.resource.name, f"{org.at}.name")


def _birth_encounter(index: _Index, child: Found | None, mother: Found | None) -> Found | None:
    encounters = index.of(Encounter)
    for person in (child, mother):
        for found in encounters:
            if person is not None and index.refers_to(found.resource.subject, person):
                return found
    return encounters[0] if encounters else None


def map_bundle(bundle: Bundle) -> Mapped:
    """The birth event read from a parsed Bundle; problems the mapping found itself
    (no child, two mothers) are in ``problems``."""
    index = _Index(bundle)
    mapped = Mapped()
    mapped.data["schema_version"] = "1"
    document, document_at = _document(bundle, index)
    compositions = [
        f
        for f in index.of(Composition)
        if f.at.startswith(document_at)
        and not (
            _loinc(f.resource.type)
            and LIVE_BIRTH_REPORT not in _loinc(f.resource.type)
            and len(index.of(Composition)) > 1
        )
    ]
    composition = compositions[0] if compositions else None
    child = _child(mapped, index, composition)
    mother = _mother(mapped, index, child) if child is not None else None
    encounter = _birth_encounter(index, child, mother)
    _hospital(mapped, index, composition, encounter)
    if document.identifier is not None and document.identifier.value:
        mapped.set(
            "hospital_record_id", document.identifier.value, f"{document_at}.identifier.value"
        )
    elif encounter is not None and encounter.resource.identifier:
        ident = next(((i, x) for i, x in enumerate(encounter.resource.identifier) if x.value), None)
        if ident is not None:
            mapped.set(
                "hospital_record_id", ident[1].value, f"{encounter.at}.identifier[{ident[0]}].value"
            )
    else:
        mapped.sources["/hospital_record_id"] = f"{document_at}.identifier"
    if child is not None:
        patient: Patient = child.resource
        mapped.sources["/child"] = child.at
        name = _name(patient.name)
        if name is not None:
            mapped.set("child.name", name[0], f"{child.at}.name[{name[1]}].{name[2]}")
        if patient.gender is not None:
            mapped.set(
                "child.sex", GENDER.get(patient.gender, patient.gender), f"{child.at}.gender"
            )
        else:
            mapped.sources["/child/sex"] = f"{child.at}.gender"
        _birth_time(mapped, child)
        _observations(mapped, index, child, mother)
        if patient.multipleBirthInteger is not None:
            mapped.set(
                "child.birth_order",
                patient.multipleBirthInteger,
                f"{child.at}.multipleBirthInteger",
            )
        elif patient.multipleBirthBoolean is False or mapped.data["child"].get("plurality") == 1:
            mapped.set("child.birth_order", 1, f"{child.at}.multipleBirthBoolean")
        for fieldname, loinc in (
            ("weight_g", BIRTH_WEIGHT),
            ("gestational_weeks", GESTATIONAL_AGE),
            ("length_cm", BODY_LENGTH),
            ("plurality", PLURALITY),
        ):  # absent: where it is looked for
            mapped.sources.setdefault(
                f"/child/{fieldname}",
                f"Bundle.entry.resource.ofType(Observation).where(code.coding.code='{loinc}')",
            )
        _immunizations(mapped, index, child)
        fathers = _role(index, child, FATHER_ROLES)
        if fathers:
            _person(mapped, "father", fathers[0])
    if mother is not None:
        _person(mapped, "mother", mother)
    _questionnaire_response(mapped, index)
    if mapped.questionnaire_at is None:
        mapped.sources.setdefault("/household", "Bundle.entry")
    return mapped
