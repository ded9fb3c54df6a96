"""hrss (social security card): mapping, submit → accepted, polling until the card is made."""

import json

import httpx
import pytest

from adapters._runtime.errors import DepartmentProtocolError, PermanentError
from adapters._runtime.http import RetryPolicy
from adapters.social_security_card.client import CardClient
from adapters.social_security_card.handler import SocialSecurityCardAdapter
from adapters.social_security_card.mapping import (
    CardApplicationAccepted,
    CardStatus,
    accepted_reply,
    application_request,
    status_reply,
)
from contracts.commands import PollDepartment, SubmitStep
from tests.unit.adapters import samples
from tests.unit.adapters.conftest import MockDepartment

KEY = "b-1:social_security_card"
PHOTO = "/9j/4AAQSkZJRg=="


def test_maps_every_field_of_a_mailed_card_application() -> None:
    assert application_request(samples.card_record()) == {
        "aac002": samples.CHILD_ID,
        "aac003": samples.CHILD_NAME,
        "aac004": "1",
        "aac006": "20261127",
        "cbbh": "33010600000012345",
        "lqfs": "1",
        "yjdz": {
            "qh": "330106",
            "xxdz": samples.MAIL_DETAIL,
            "sjr": samples.MOTHER_NAME,
            "lxdh": samples.MOTHER_PHONE,
        },
    }


def test_a_collected_card_has_no_mailing_address() -> None:
    body = application_request(
        samples.card_record(delivery="collect", mailing_address=None, photo=PHOTO)
    )
    assert body["lqfs"] == "2"
    assert "yjdz" not in body
    assert body["zp"] == PHOTO


def test_the_insurance_number_is_absent_when_not_known() -> None:
    assert "cbbh" not in application_request(samples.card_record(insurance_number=None))


def test_a_mailed_card_without_an_address_is_a_bug_not_a_request() -> None:
    with pytest.raises(ValueError, match="mailing address"):
        application_request(samples.card_record(mailing_address=None))


def test_accepted_gives_the_application_number() -> None:
    reply = accepted_reply(CardApplicationAccepted(sqh="HRSS1", zt="pending"))
    assert (reply.outcome, reply.reference, reply.output) == (
        "accepted",
        "HRSS1",
        {"application_number": "HRSS1"},
    )


def test_a_made_card_completes_with_number_mailing_date_and_application() -> None:
    status = CardStatus.model_validate(
        {"sqh": "HRSS1", "zt": "made", "kh": "K330106001", "yjrq": "2026-11-28"}
    )
    reply = status_reply(status)
    assert (reply.outcome, reply.output) == (
        "completed",
        {"card_number": "K330106001", "mailed_at": "2026-11-28", "application_number": "HRSS1"},
    )


def test_a_collected_card_has_no_mailing_date() -> None:
    reply = status_reply(CardStatus(sqh="HRSS1", zt="made", kh="K1", yjrq=None))
    assert reply.output["mailed_at"] is None


def test_a_card_not_yet_made_is_pending() -> None:
    reply = status_reply(CardStatus(sqh="HRSS1", zt="pending"))
    assert (reply.outcome, reply.reference) == ("pending", "HRSS1")


def test_a_cancelled_application_is_rejected() -> None:
    assert status_reply(CardStatus(sqh="HRSS1", zt="cancelled")).outcome == "rejected"


def test_a_made_card_without_a_number_is_a_protocol_error() -> None:
    with pytest.raises(DepartmentProtocolError):
        status_reply(CardStatus(sqh="HRSS1", zt="made"))


@pytest.fixture
def client(http: httpx.AsyncClient, retry: RetryPolicy) -> CardClient:
    return CardClient(http, retry)


@pytest.fixture
def adapter(client: CardClient) -> SocialSecurityCardAdapter:
    return SocialSecurityCardAdapter(client)


async def test_submit_applies_with_the_key_and_is_accepted(
    adapter: SocialSecurityCardAdapter, department: MockDepartment
) -> None:
    department.answer(httpx.Response(202, json={"sqh": "HRSS20261127000001", "zt": "pending"}))
    record = samples.card_record().model_dump(mode="json")
    reply = await adapter.submit(
        SubmitStep(idempotency_key=KEY, record=record), step="social_security_card"
    )
    assert (reply.outcome, reply.reference, reply.output) == (
        "accepted",
        "HRSS20261127000001",
        {"application_number": "HRSS20261127000001"},
    )
    (request,) = department.requests
    assert (request.method, request.url.path) == ("POST", "/dept/sbk/applications")
    assert request.headers["Idempotency-Key"] == KEY
    assert json.loads(request.content)["aac002"] == samples.CHILD_ID


async def test_poll_reads_the_card_status(
    adapter: SocialSecurityCardAdapter, department: MockDepartment
) -> None:
    department.answer(
        httpx.Response(200, json={"sqh": "HRSS1", "zt": "made", "kh": "K1", "yjrq": None})
    )
    reply = await adapter.poll(
        PollDepartment(idempotency_key=KEY, reference="HRSS1"), step="social_security_card"
    )
    assert reply.output == {"card_number": "K1", "mailed_at": None, "application_number": "HRSS1"}
    (request,) = department.requests
    assert (request.method, request.url.path) == ("GET", "/dept/sbk/applications/HRSS1")


async def test_a_refusal_carries_msg(client: CardClient, department: MockDepartment) -> None:
    department.answer(httpx.Response(400, json={"msg": "照片格式不正确"}))
    with pytest.raises(PermanentError) as caught:
        await client.apply({}, key=KEY)
    assert caught.value.reason == "照片格式不正确"
