"""Amendments and revocations at the five departments: the endpoint, the key, only
the changed fields, and what the worker replies (over `httpx.MockTransport`)."""

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from defusedxml.ElementTree import fromstring
from pydantic import BaseModel

from adapters._runtime.http import RetryPolicy
from adapters._runtime.patch import merge_diff
from adapters._runtime.settings import AdapterSettings
from adapters._runtime.worker import AdapterWorker, DepartmentAdapter
from adapters.registry import build_adapter
from contracts.commands import AMEND_TYPE, REVOKE_TYPE, AmendStep, RevokeStep
from contracts.envelope import Envelope
from contracts.replies import StepReply
from contracts.steps import Step
from tests.unit.adapters import samples
from tests.unit.adapters.conftest import MockDepartment
from tests.unit.adapters.test_worker import FakeTransport

NEW_NAME = "李更正"
RECORDS: dict[Step, Callable[..., BaseModel]] = {
    Step.BIRTH_CERTIFICATE: samples.certificate_record,
    Step.VACCINATION_RECORD: samples.vaccination_record,
    Step.HOUSEHOLD_REGISTRATION: samples.household_record,
    Step.MEDICAL_INSURANCE: samples.insurance_record,
    Step.SOCIAL_SECURITY_CARD: samples.card_record,
}
DEPARTMENT = {
    Step.BIRTH_CERTIFICATE: "nhc",
    Step.VACCINATION_RECORD: "cdc",
    Step.HOUSEHOLD_REGISTRATION: "mps",
    Step.MEDICAL_INSURANCE: "nhsa",
    Step.SOCIAL_SECURITY_CARD: "hrss",
}
AMEND_PATH = {
    Step.BIRTH_CERTIFICATE: "/dept/csyxzm/REF-1/bg",
    Step.VACCINATION_RECORD: "/dept/ImmunizationService/update",
    Step.HOUSEHOLD_REGISTRATION: "/dept/hukou/applications/REF-1/bg",
    Step.MEDICAL_INSURANCE: "/dept/insurance/enrol/REF-1/update",
    Step.SOCIAL_SECURITY_CARD: "/dept/sbk/applications/REF-1/update",
}
REVOKE_PATH = {
    Step.BIRTH_CERTIFICATE: "/dept/csyxzm/REF-1/zf",
    Step.VACCINATION_RECORD: "/dept/ImmunizationService/cancel",
    Step.HOUSEHOLD_REGISTRATION: "/dept/hukou/applications/REF-1/withdraw",
    Step.MEDICAL_INSURANCE: "/dept/insurance/enrol/REF-1/stop",
    Step.SOCIAL_SECURITY_CARD: "/dept/sbk/applications/REF-1/cancel",
}
NAME_FIELD = {
    Step.BIRTH_CERTIFICATE: "xsexm",
    Step.HOUSEHOLD_REGISTRATION: "xm",
    Step.MEDICAL_INSURANCE: "psn_name",
    Step.SOCIAL_SECURITY_CARD: "aac003",
}


def records(step: Step) -> tuple[dict[str, Any], dict[str, Any]]:
    held = RECORDS[step]()
    if step in (Step.MEDICAL_INSURANCE, Step.SOCIAL_SECURITY_CARD):
        wanted = RECORDS[step](name=NEW_NAME)
    else:
        wanted = RECORDS[step](child=samples.child(name=NEW_NAME))
    return held.model_dump(mode="json"), wanted.model_dump(mode="json")


def adapter(step: Step, http: httpx.AsyncClient, retry: RetryPolicy) -> DepartmentAdapter:
    del retry
    return build_adapter(DEPARTMENT[step], http, AdapterSettings(retry_attempts=1))


def ok(step: Step) -> httpx.Response:
    if step == Step.VACCINATION_RECORD:
        return httpx.Response(200, content=b"<Result><RecordNo>REF-1</RecordNo></Result>")
    if step == Step.HOUSEHOLD_REGISTRATION:
        return httpx.Response(200, json={"sqbh": "REF-1", "zt": "approved"})
    return httpx.Response(200, json={"zt": "done"})


@pytest.mark.parametrize("step", list(Step))
async def test_an_amendment_sends_only_the_changed_fields_under_its_own_key(
    step: Step, http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    previous, record = records(step)
    department.answer(ok(step))
    cmd = AmendStep(
        idempotency_key=f"b-1:{step.value}:amend:2",
        reference="REF-1",
        previous=previous,
        record=record,
    )
    reply = await adapter(step, http, retry).amend(cmd, step=step)
    assert reply.outcome == "completed"
    [request] = department.requests
    assert request.url.path == AMEND_PATH[step]
    assert request.headers["Idempotency-Key"] == f"b-1:{step.value}:amend:2"
    if step == Step.VACCINATION_RECORD:  # the registry takes the whole registration
        root = fromstring(request.content)
        assert root.findtext("RecordNo") == "REF-1"
        assert root.findtext("Child/Name") == NEW_NAME
    else:
        assert json.loads(request.content) == {NAME_FIELD[step]: NEW_NAME}


@pytest.mark.parametrize("step", list(Step))
async def test_an_amendment_without_department_changes_calls_nobody(
    step: Step, http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    previous, _ = records(step)
    cmd = AmendStep(idempotency_key="k", reference="REF-1", previous=previous, record=previous)
    reply = await adapter(step, http, retry).amend(cmd, step=step)
    assert reply.outcome == "completed"
    assert department.requests == []


@pytest.mark.parametrize("step", list(Step))
async def test_a_revocation_calls_the_departments_undo_with_the_reason(
    step: Step, http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    department.answer(ok(step))
    cmd = RevokeStep(idempotency_key=f"b-1:{step.value}:revoke", reference="REF-1", reason="错报")
    reply = await adapter(step, http, retry).revoke(cmd, step=step)
    assert reply.outcome == "completed"
    [request] = department.requests
    assert request.url.path == REVOKE_PATH[step]
    assert request.headers["Idempotency-Key"] == f"b-1:{step.value}:revoke"
    if step == Step.VACCINATION_RECORD:
        root = fromstring(request.content)
        assert (root.findtext("RecordNo"), root.findtext("Reason")) == ("REF-1", "错报")
    else:
        assert "错报" in json.loads(request.content).values()


async def test_an_amended_household_application_back_under_review_is_accepted(
    http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    previous, record = records(Step.HOUSEHOLD_REGISTRATION)
    department.answer(httpx.Response(200, json={"sqbh": "REF-1", "zt": "pending"}))
    cmd = AmendStep(idempotency_key="k", reference="REF-1", previous=previous, record=record)
    reply = await adapter(Step.HOUSEHOLD_REGISTRATION, http, retry).amend(
        cmd, step=Step.HOUSEHOLD_REGISTRATION
    )
    assert (reply.outcome, reply.reference) == ("accepted", "REF-1")


async def test_the_worker_stamps_the_operation_and_turns_a_refusal_into_rejected(
    http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    transport = FakeTransport()
    worker = AdapterWorker("nhc", adapter(Step.BIRTH_CERTIFICATE, http, retry), transport)
    department.answer(
        httpx.Response(200, json={"zmbh": "A123456789", "zt": "voided"}),
        httpx.Response(400, json={"cwdm": "VOIDED", "cwxx": "已作废"}),
    )
    revoke = RevokeStep(
        idempotency_key="b-1:birth_certificate:revoke", reference="A123456789", reason="错报"
    )
    previous, record = records(Step.BIRTH_CERTIFICATE)
    amend = AmendStep(
        idempotency_key="b-1:birth_certificate:amend:2",
        reference="A123456789",
        previous=previous,
        record=record,
    )
    for kind, data in ((REVOKE_TYPE, revoke.model_dump()), (AMEND_TYPE, amend.model_dump())):
        await worker.handle(
            Envelope(type=kind, birth_id="b-1", step=Step.BIRTH_CERTIFICATE, data=data)
        )
    answers = [StepReply.model_validate(e.data) for _, _, e in transport.published]
    assert [(a.operation, a.outcome) for a in answers] == [
        ("revoke", "completed"),
        ("amend", "rejected"),
    ]
    assert answers[1].reason == "已作废"
    assert [key for _, key, _ in transport.published] == ["nhc.completed", "nhc.rejected"]


def test_a_merge_diff_names_changed_members_and_removes_absent_ones() -> None:
    held = {"a": 1, "b": {"x": 1, "y": 2}, "c": "gone", "d": [1, 2]}
    wanted = {"a": 1, "b": {"x": 1, "y": 3}, "d": [1], "e": None}
    assert merge_diff(held, wanted) == {"b": {"y": 3}, "c": None, "d": [1], "e": None}
    assert merge_diff(held, held) == {}
