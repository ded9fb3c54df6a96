"""mps (household registration): mapping, submit → accepted, polling the review."""

import json
from datetime import UTC, datetime

import httpx
import pytest

from adapters._runtime.errors import DepartmentProtocolError, PermanentError
from adapters._runtime.http import RetryPolicy
from adapters.household_registration.client import HouseholdClient
from adapters.household_registration.handler import HouseholdRegistrationAdapter
from adapters.household_registration.mapping import (
    ApplicationAccepted,
    ApplicationStatus,
    accepted_reply,
    application_request,
    is_citizen_id,
    status_reply,
)
from contracts.commands import PollDepartment, SubmitStep
from tests.unit.adapters import samples
from tests.unit.adapters.conftest import MockDepartment

KEY = "b-1:household_registration"


def test_maps_every_field_of_the_application() -> None:
    assert application_request(samples.household_record()) == {
        "csyxzmbh": "A123456789",
        "xm": samples.CHILD_NAME,
        "xb": "1",
        "csrq": "20261127",
        "csdd": "330106",
        "sbr": {
            "xm": samples.MOTHER_NAME,
            "zjlx": "resident_id",
            "zjhm": samples.MOTHER_ID,
            "gx": "mother",
        },
        "hjdz": {"qh": "330106", "xz": samples.HUKOU_ADDRESS},
        "hh": None,
        "mz": "01",
    }


def test_the_birth_date_is_the_china_date() -> None:
    late = samples.child(born_at=datetime(2026, 11, 26, 16, 0, tzinfo=UTC))
    assert application_request(samples.household_record(child=late))["csrq"] == "20261127"


def test_registering_with_the_father_names_him_as_declarant() -> None:
    record = samples.household_record(
        declarant=samples.father(
            ethnicity=None, nationality="SGP", id_type="passport", id_number="K1234567"
        ),
        relation="father",
        household_number="330106123456",
    )
    body = application_request(record)
    assert body["sbr"] == {
        "xm": samples.FATHER_NAME,
        "zjlx": "passport",
        "zjhm": "K1234567",
        "gx": "father",
    }
    assert body["hh"] == "330106123456"
    assert "mz" not in body


def test_accepted_gives_the_application_number() -> None:
    reply = accepted_reply(ApplicationAccepted(sqbh="MPS1", zt="pending"))
    assert (reply.outcome, reply.reference, reply.output) == (
        "accepted",
        "MPS1",
        {"application_number": "MPS1"},
    )


def test_an_approved_review_completes_with_the_citizen_id() -> None:
    reply = status_reply(ApplicationStatus(sqbh="MPS1", zt="approved", gmsfhm=samples.CHILD_ID))
    assert (reply.outcome, reply.output, reply.reference) == (
        "completed",
        {"citizen_id": samples.CHILD_ID},
        "MPS1",
    )


def test_a_pending_review_is_pending() -> None:
    reply = status_reply(ApplicationStatus(sqbh="MPS1", zt="pending"))
    assert (reply.outcome, reply.reference) == ("pending", "MPS1")


def test_a_rejected_review_is_rejected_with_yy() -> None:
    reply = status_reply(ApplicationStatus(sqbh="MPS1", zt="rejected", yy="户籍地址不详"))
    assert (reply.outcome, reply.reason) == ("rejected", "户籍地址不详")


def test_a_withdrawn_application_is_rejected() -> None:
    reply = status_reply(ApplicationStatus(sqbh="MPS1", zt="withdrawn"))
    assert (reply.outcome, reply.reason) == ("rejected", "application withdrawn")


WRONG_CHECK_DIGIT = samples.CHILD_ID[:-1] + ("0" if samples.CHILD_ID[-1] != "0" else "1")


@pytest.mark.parametrize("gmsfhm", [None, "12345", WRONG_CHECK_DIGIT])
def test_an_approval_without_a_valid_citizen_id_is_a_protocol_error(gmsfhm: str | None) -> None:
    with pytest.raises(DepartmentProtocolError):
        status_reply(ApplicationStatus(sqbh="MPS1", zt="approved", gmsfhm=gmsfhm))


def test_citizen_id_check_accepts_an_x_check_digit() -> None:
    ids = (samples.resident_id(born="20261127", seq=f"{n:03d}") for n in range(1, 200))
    with_x = next(number for number in ids if number.endswith("X"))
    assert is_citizen_id(with_x)
    assert not is_citizen_id(with_x[:-1] + "0")
    assert not is_citizen_id("\uff13" * 17 + "X")  # full-width digits


@pytest.fixture
def client(http: httpx.AsyncClient, retry: RetryPolicy) -> HouseholdClient:
    return HouseholdClient(http, retry)


@pytest.fixture
def adapter(client: HouseholdClient) -> HouseholdRegistrationAdapter:
    return HouseholdRegistrationAdapter(client)


async def test_submit_posts_the_application_and_is_accepted(
    adapter: HouseholdRegistrationAdapter, department: MockDepartment
) -> None:
    department.answer(httpx.Response(202, json={"sqbh": "MPS20261127000001", "zt": "pending"}))
    record = samples.household_record().model_dump(mode="json")
    reply = await adapter.submit(
        SubmitStep(idempotency_key=KEY, record=record), step="household_registration"
    )
    assert (reply.outcome, reply.reference, reply.output) == (
        "accepted",
        "MPS20261127000001",
        {"application_number": "MPS20261127000001"},
    )
    (request,) = department.requests
    assert (request.method, request.url.path) == ("POST", "/dept/hukou/applications")
    assert request.headers["Idempotency-Key"] == KEY
    assert json.loads(request.content)["csyxzmbh"] == "A123456789"


async def test_a_refusal_at_submission_carries_yy(
    client: HouseholdClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(400, json={"yy": "出生医学证明编号无效"}))
    with pytest.raises(PermanentError) as caught:
        await client.apply({}, key=KEY)
    assert caught.value.reason == "出生医学证明编号无效"


async def test_poll_gets_the_status_without_creating_anything(
    adapter: HouseholdRegistrationAdapter, department: MockDepartment
) -> None:
    department.answer(
        httpx.Response(200, json={"sqbh": "MPS/1", "zt": "approved", "gmsfhm": samples.CHILD_ID})
    )
    reply = await adapter.poll(
        PollDepartment(idempotency_key=KEY, reference="MPS/1"), step="household_registration"
    )
    assert reply.output == {"citizen_id": samples.CHILD_ID}
    (request,) = department.requests
    assert request.method == "GET"
    assert request.url.raw_path == b"/dept/hukou/applications/MPS%2F1"


async def test_polling_an_unknown_application_is_a_refusal(
    client: HouseholdClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(404, json={"detail": "Not Found"}))
    with pytest.raises(PermanentError) as caught:
        await client.status("MPS404")
    assert caught.value.reason == "the department knows no such application"


async def test_an_unknown_review_state_is_a_protocol_error(
    client: HouseholdClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(200, json={"sqbh": "MPS1", "zt": "lost"}))
    with pytest.raises(DepartmentProtocolError):
        await client.status("MPS1")
