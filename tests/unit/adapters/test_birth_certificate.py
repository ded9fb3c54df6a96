"""nhc (birth certificate): mapping field by field, the client, the handler."""

import json
from datetime import UTC, datetime

import httpx
import pytest

from adapters._runtime.errors import (
    DepartmentProtocolError,
    PermanentError,
    TransientError,
    UnsupportedCommandError,
)
from adapters._runtime.http import RetryPolicy
from adapters.birth_certificate.client import BirthCertificateClient
from adapters.birth_certificate.handler import BirthCertificateAdapter
from adapters.birth_certificate.mapping import (
    CertificateIssued,
    certificate_output,
    certificate_request,
)
from contracts.commands import PollDepartment, SubmitStep
from tests.unit.adapters import samples
from tests.unit.adapters.conftest import MockDepartment, Sleeps

KEY = "b-1:birth_certificate"


def test_maps_every_field_of_the_certificate_request() -> None:
    body = certificate_request(samples.certificate_record())
    assert body == {
        "jgdm": "H3301060001",
        "jgmc": "杭州市妇产科医院",
        "xsexm": samples.CHILD_NAME,
        "xb": "1",
        "csrq": "202611270830",
        "csdd": "330106",
        "yz": 39,
        "tz": 3250,
        "sc": 50.0,
        "tc": 1,
        "cc": 1,
        "mqxm": samples.MOTHER_NAME,
        "mqzjlx": "resident_id",
        "mqsfzh": samples.MOTHER_ID,
        "mqgj": "CHN",
        "mqmz": "01",
        "fqxm": samples.FATHER_NAME,
        "fqzjlx": "resident_id",
        "fqsfzh": samples.FATHER_ID,
        "fqgj": "CHN",
        "fqmz": "01",
    }


def test_birth_time_is_written_on_the_china_clock_across_midnight() -> None:
    late = samples.child(born_at=datetime(2026, 11, 26, 17, 45, tzinfo=UTC))
    body = certificate_request(samples.certificate_record(child=late))
    assert body["csrq"] == "202611270145"


def test_father_fields_are_absent_without_a_father() -> None:
    body = certificate_request(samples.certificate_record(with_father=False))
    assert not [name for name in body if name.startswith("fq")]


def test_ethnicity_is_absent_for_a_foreign_parent() -> None:
    foreign = samples.mother(
        id_type="passport", id_number="E12345678", nationality="USA", ethnicity=None
    )
    body = certificate_request(samples.certificate_record(mother=foreign, with_father=False))
    assert "mqmz" not in body
    assert (body["mqzjlx"], body["mqsfzh"], body["mqgj"]) == ("passport", "E12345678", "USA")


def test_the_request_is_json_serialisable_as_is() -> None:
    json.dumps(certificate_request(samples.certificate_record()))


def test_the_certificate_number_becomes_the_steps_output() -> None:
    assert certificate_output(CertificateIssued(zmbh="A123456789")) == {
        "certificate_number": "A123456789"
    }


@pytest.fixture
def client(http: httpx.AsyncClient, retry: RetryPolicy) -> BirthCertificateClient:
    return BirthCertificateClient(http, retry)


async def test_issue_posts_the_body_with_the_idempotency_key(
    client: BirthCertificateClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(201, json={"zmbh": "B000000001"}))
    issued = await client.issue({"xb": "1"}, key=KEY)
    assert issued.zmbh == "B000000001"
    (request,) = department.requests
    assert request.method == "POST"
    assert request.url.path == "/dept/csyxzm"
    assert request.headers["Idempotency-Key"] == KEY
    assert json.loads(request.content) == {"xb": "1"}


async def test_issue_retries_a_503_with_the_same_key(
    client: BirthCertificateClient, department: MockDepartment, sleeps: Sleeps
) -> None:
    department.answer(httpx.Response(503), httpx.Response(201, json={"zmbh": "B000000001"}))
    await client.issue({}, key=KEY)
    assert [r.headers["Idempotency-Key"] for r in department.requests] == [KEY, KEY]
    assert sleeps == [0.2]


async def test_a_refusal_carries_cwxx_and_cwdm(
    client: BirthCertificateClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(400, json={"cwdm": "E101", "cwxx": "出生地代码不存在"}))
    with pytest.raises(PermanentError) as caught:
        await client.issue({}, key=KEY)
    assert (caught.value.reason, caught.value.code) == ("出生地代码不存在", "E101")


async def test_a_certificate_number_of_the_wrong_shape_is_a_protocol_error(
    client: BirthCertificateClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(201, json={"zmbh": "12345"}))
    with pytest.raises(DepartmentProtocolError):
        await client.issue({}, key=KEY)


async def test_a_malformed_json_answer_is_a_protocol_error(
    client: BirthCertificateClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(201, content=b'{"zmbh": '))
    with pytest.raises(DepartmentProtocolError):
        await client.issue({}, key=KEY)


async def test_a_connect_error_is_transient(
    client: BirthCertificateClient, department: MockDepartment
) -> None:
    department.answer(*(httpx.ConnectError("refused") for _ in range(3)))
    with pytest.raises(TransientError):
        await client.issue({}, key=KEY)


async def test_the_handler_completes_with_the_certificate_number(
    client: BirthCertificateClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(201, json={"zmbh": "C123456780"}))
    record = samples.certificate_record().model_dump(mode="json")
    reply = await BirthCertificateAdapter(client).submit(
        SubmitStep(idempotency_key=KEY, record=record), step="birth_certificate"
    )
    assert reply.outcome == "completed"
    assert reply.output == {"certificate_number": "C123456780"}
    assert json.loads(department.requests[0].content)["csrq"] == "202611270830"


async def test_the_handler_has_nothing_to_poll(client: BirthCertificateClient) -> None:
    with pytest.raises(UnsupportedCommandError):
        await BirthCertificateAdapter(client).poll(
            PollDepartment(idempotency_key=KEY, reference="A123456789"),
            step="birth_certificate",
        )
