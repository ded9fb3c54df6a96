"""nhsa (medical insurance): mapping to the national platform's names, the 409, the handler."""

import json
from datetime import date

import httpx
import pytest

from adapters._runtime.errors import PermanentError
from adapters._runtime.http import RetryPolicy
from adapters.medical_insurance.client import InsuranceClient
from adapters.medical_insurance.handler import MedicalInsuranceAdapter
from adapters.medical_insurance.mapping import Enrolled, enrolment_output, enrolment_request
from contracts.commands import SubmitStep
from tests.unit.adapters import samples
from tests.unit.adapters.conftest import MockDepartment

KEY = "b-1:medical_insurance"


def test_maps_every_field_of_the_enrolment() -> None:
    assert enrolment_request(samples.insurance_record()) == {
        "psn_cert_type": "01",
        "certno": samples.CHILD_ID,
        "psn_name": samples.CHILD_NAME,
        "gend": "1",
        "brdy": "2026-11-27",
        "insutype": "390",
        "insu_admdvs": "330106",
    }


def test_sex_and_birth_date_pass_through() -> None:
    body = enrolment_request(samples.insurance_record(sex="2", birth_date=date(2026, 1, 5)))
    assert (body["gend"], body["brdy"]) == ("2", "2026-01-05")


def test_the_insurance_number_becomes_the_steps_output() -> None:
    assert enrolment_output(Enrolled(psn_no="33000000001")) == {"insurance_number": "33000000001"}


@pytest.fixture
def client(http: httpx.AsyncClient, retry: RetryPolicy) -> InsuranceClient:
    return InsuranceClient(http, retry)


async def test_the_handler_enrols_with_the_key_and_completes(
    client: InsuranceClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(200, json={"psn_no": "33010600000099"}))
    record = samples.insurance_record().model_dump(mode="json")
    reply = await MedicalInsuranceAdapter(client).submit(
        SubmitStep(idempotency_key=KEY, record=record), step="medical_insurance"
    )
    assert (reply.outcome, reply.output) == ("completed", {"insurance_number": "33010600000099"})
    (request,) = department.requests
    assert request.url.path == "/dept/insurance/enrol"
    assert request.headers["Idempotency-Key"] == KEY
    assert json.loads(request.content)["certno"] == samples.CHILD_ID


async def test_already_enrolled_under_another_key_is_a_refusal(
    client: InsuranceClient, department: MockDepartment, sleeps: list[float]
) -> None:
    department.answer(httpx.Response(409, json={"err_msg": "该人员已参保"}))
    with pytest.raises(PermanentError) as caught:
        await client.enrol({}, key=KEY)
    assert (caught.value.status, caught.value.reason) == (409, "该人员已参保")
    assert sleeps == []


async def test_a_refusal_carries_err_msg_and_infcode(
    client: InsuranceClient, department: MockDepartment
) -> None:
    department.answer(httpx.Response(400, json={"infcode": -1, "err_msg": "参保地无效"}))
    with pytest.raises(PermanentError) as caught:
        await client.enrol({}, key=KEY)
    assert (caught.value.reason, caught.value.code) == ("参保地无效", "-1")
