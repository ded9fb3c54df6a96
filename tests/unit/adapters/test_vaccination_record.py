"""cdc (vaccination record, XML): building the registration, reading answers safely,
the client and the handler."""

from xml.etree import ElementTree

import defusedxml
import httpx
import pytest

from adapters._runtime.errors import DepartmentProtocolError, PermanentError
from adapters._runtime.http import Refusal, RetryPolicy
from adapters.vaccination_record.client import VaccinationClient
from adapters.vaccination_record.handler import VaccinationAdapter
from adapters.vaccination_record.mapping import (
    error_reason,
    record_number,
    registration_xml,
    vaccination_output,
)
from contracts.commands import SubmitStep
from tests.cases.hostile_xml import BILLION_LAUGHS, EXTERNAL_ENTITY
from tests.unit.adapters import samples
from tests.unit.adapters.conftest import MockDepartment

KEY = "b-1:vaccination_record"


def parsed(record_xml: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(record_xml)


def test_builds_the_child_registration_element_by_element() -> None:
    root = parsed(registration_xml(samples.vaccination_record()))
    assert root.tag == "ChildRegistration"
    assert [child.tag for child in root] == ["Hospital", "Child", "Guardian", "Dose", "Dose"]
    hospital = root.find("Hospital")
    assert hospital is not None
    assert hospital.attrib == {"code": "H3301060001"}
    assert [(e.tag, e.text) for e in root.iterfind("Child/*")] == [
        ("Name", samples.CHILD_NAME),
        ("Sex", "1"),
        ("BirthTime", "2026-11-27T08:30:00+08:00"),
        ("BirthWeight", "3250"),
    ]
    guardian = root.find("Guardian")
    assert guardian is not None
    assert guardian.attrib == {"relation": "mother"}
    assert [(e.tag, e.text) for e in guardian] == [
        ("Name", samples.MOTHER_NAME),
        ("IdType", "resident_id"),
        ("IdNumber", samples.MOTHER_ID),
        ("Phone", samples.MOTHER_PHONE),
    ]


def test_writes_one_dose_element_per_birth_dose_with_china_times() -> None:
    doses = [d.attrib for d in parsed(registration_xml(samples.vaccination_record())).iter("Dose")]
    assert doses == [
        {
            "vaccine": "HepB",
            "seq": "1",
            "lot": "HB2026110",
            "date": "2026-11-27T09:00:00+08:00",
            "site": "right deltoid",
        },
        {"vaccine": "BCG", "seq": "1", "lot": "BCG2026031", "date": "2026-11-27T09:05:00+08:00"},
    ]


def test_a_guardian_without_a_phone_has_no_phone_element() -> None:
    record = samples.vaccination_record(guardian=samples.father())
    guardian = parsed(registration_xml(record)).find("Guardian")
    assert guardian is not None
    assert guardian.find("Phone") is None


def test_the_guardians_relation_can_be_father() -> None:
    record = samples.vaccination_record(guardian=samples.father())
    guardian = parsed(registration_xml(record, relation="father")).find("Guardian")
    assert guardian is not None
    assert guardian.get("relation") == "father"


def test_markup_in_the_data_is_escaped_not_interpreted() -> None:
    record = samples.vaccination_record(doses=[samples.dose(lot_number='A<&>"B')])
    (dose,) = parsed(registration_xml(record)).iter("Dose")
    assert dose.get("lot") == 'A<&>"B'


def test_the_document_is_utf8_with_a_declaration() -> None:
    document = registration_xml(samples.vaccination_record())
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert samples.CHILD_NAME.encode() in document


def test_reads_the_record_number_from_the_result() -> None:
    assert record_number(b"<Result><RecordNo> CDC3301060000000042 </RecordNo></Result>") == (
        "CDC3301060000000042"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"<Result/>",
        b"<Result><RecordNo></RecordNo></Result>",
        b"<Other><RecordNo>X</RecordNo></Other>",
        b"<Result><RecordNo>X</RecordNo>",
        b"not xml at all",
    ],
)
def test_an_answer_without_a_record_number_is_a_protocol_error(body: bytes) -> None:
    with pytest.raises(DepartmentProtocolError):
        record_number(body)


def test_an_entity_bomb_is_refused_not_expanded() -> None:
    with pytest.raises(DepartmentProtocolError) as caught:
        record_number(BILLION_LAUGHS)
    assert isinstance(caught.value.__cause__, defusedxml.DTDForbidden)
    assert "lol" not in caught.value.reason


def test_an_external_entity_is_refused_not_fetched() -> None:
    with pytest.raises(DepartmentProtocolError) as caught:
        record_number(EXTERNAL_ENTITY)
    assert isinstance(caught.value.__cause__, defusedxml.DefusedXmlException)


def test_reads_the_refusal_from_the_error_shape() -> None:
    body = "<Error><Code>E07</Code><Message>疫苗批号无效</Message></Error>".encode()
    assert error_reason(body) == Refusal("疫苗批号无效", "E07")


@pytest.mark.parametrize("body", [b"<Error><Code>E07</Code></Error>", b"oops", BILLION_LAUGHS])
def test_an_unreadable_refusal_has_no_reason(body: bytes) -> None:
    assert error_reason(body) is None


def test_the_record_number_becomes_the_steps_output() -> None:
    assert vaccination_output("CDC1") == {"record_number": "CDC1"}


@pytest.fixture
def client(http: httpx.AsyncClient, retry: RetryPolicy) -> VaccinationClient:
    return VaccinationClient(http, retry)


async def test_register_posts_xml_with_the_idempotency_key(
    client: VaccinationClient, department: MockDepartment
) -> None:
    department.answer(
        httpx.Response(
            200,
            content=b"<Result><RecordNo>CDC3301060000000001</RecordNo></Result>",
            headers={"Content-Type": "application/xml"},
        )
    )
    document = registration_xml(samples.vaccination_record())
    assert await client.register(document, key=KEY) == "CDC3301060000000001"
    (request,) = department.requests
    assert request.url.path == "/dept/ImmunizationService/register"
    assert request.headers["Idempotency-Key"] == KEY
    assert request.headers["Content-Type"] == "application/xml"
    assert request.content == document


async def test_a_refusal_carries_the_error_message(
    client: VaccinationClient, department: MockDepartment
) -> None:
    department.answer(
        httpx.Response(400, content=b"<Error><Code>E1</Code><Message>bad lot</Message></Error>")
    )
    with pytest.raises(PermanentError) as caught:
        await client.register(b"<ChildRegistration/>", key=KEY)
    assert (caught.value.reason, caught.value.code) == ("bad lot", "E1")


async def test_an_entity_bomb_in_the_answer_is_a_protocol_error(
    client: VaccinationClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(200, content=BILLION_LAUGHS))
    with pytest.raises(DepartmentProtocolError):
        await client.register(b"<ChildRegistration/>", key=KEY)
    assert len(department.requests) == 1


async def test_the_handler_completes_with_the_record_number(
    client: VaccinationClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(200, content=b"<Result><RecordNo>CDC9</RecordNo></Result>"))
    record = samples.vaccination_record().model_dump(mode="json")
    reply = await VaccinationAdapter(client).submit(
        SubmitStep(idempotency_key=KEY, record=record), step="vaccination_record"
    )
    assert (reply.outcome, reply.output, reply.reference) == (
        "completed",
        {"record_number": "CDC9"},
        "CDC9",
    )
    assert parsed(department.requests[0].content).tag == "ChildRegistration"
