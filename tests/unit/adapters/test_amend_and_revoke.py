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
from contracts.catalogue import builtin_registry
from contracts.commands import AMEND_TYPE, REVOKE_TYPE, AmendStep, RevokeStep
from contracts.envelope import Envelope
from contracts.replies import StepReply
from tests.unit.adapters import samples
from tests.unit.adapters.conftest import MockDepartment
from tests.unit.adapters.test_worker import FakeTransport

NEW_NAME = "李更正"
RECORDS: dict[str, Callable[..., BaseModel]] = {
    "birth_certificate": samples.certificate_record,
    "vaccination_record": samples.vaccination_record,
    "household_registration": samples.household_record,
    "medical_insurance": samples.insurance_record,
    "social_security_card": samples.card_record,
}
DEPARTMENT = {
    "birth_certificate": "nhc",
    "vaccination_record": "cdc",
    "household_registration": "mps",
    "medical_insurance": "nhsa",
    "social_security_card": "hrss",
}
AMEND_PATH = {
    "birth_certificate": "/dept/csyxzm/REF-1/bg",
    "vaccination_record": "/dept/ImmunizationService/update",
    "household_registration": "/dept/hukou/applications/REF-1/bg",
    "medical_insurance": "/dept/insurance/enrol/REF-1/update",
    "social_security_card": "/dept/sbk/applications/REF-1/update",
}
REVOKE_PATH = {
    "birth_certificate": "/dept/csyxzm/REF-1/zf",
    "vaccination_record": "/dept/ImmunizationService/cancel",
    "household_registration": "/dept/hukou/applications/REF-1/withdraw",
    "medical_insurance": "/dept/insurance/enrol/REF-1/stop",
    "social_security_card": "/dept/sbk/applications/REF-1/cancel",
}
NAME_FIELD = {
    "birth_certificate": "xsexm",
    "household_registration": "xm",
    "medical_insurance": "psn_name",
    "social_security_card": "aac003",
}


def records(step: str) -> tuple[dict[str, Any], dict[str, Any]]:
    held = RECORDS[step]()
    if step in ("medical_insurance", "social_security_card"):
        wanted = RECORDS[step](name=NEW_NAME)
    else:
        wanted = RECORDS[step](child=samples.child(name=NEW_NAME))
    return held.model_dump(mode="json"), wanted.model_dump(mode="json")


def adapter(step: str, http: httpx.AsyncClient, retry: RetryPolicy) -> DepartmentAdapter:
    del retry
    return build_adapter(DEPARTMENT[step], http, AdapterSettings(retry_attempts=1))


def ok(step: str) -> httpx.Response:
    if step == "vaccination_record":
        return httpx.Response(200, content=b"<Result><RecordNo>REF-1</RecordNo></Result>")
    if step == "household_registration":
        return httpx.Response(200, json={"sqbh": "REF-1", "zt": "approved"})
    return httpx.Response(200, json={"zt": "done"})


@pytest.mark.parametrize("step", list(builtin_registry().names))
async def test_an_amendment_sends_only_the_changed_fields_under_its_own_key(
    step: str, http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    previous, record = records(step)
    department.answer(ok(step))
    cmd = AmendStep(
        idempotency_key=f"b-1:{step}:amend:2",
        reference="REF-1",
        previous=previous,
        record=record,
    )
    reply = await adapter(step, http, retry).amend(cmd, step=step)
    assert reply.outcome == "completed"
    [request] = department.requests
    assert request.url.path == AMEND_PATH[step]
    assert request.headers["Idempotency-Key"] == f"b-1:{step}:amend:2"
    if step == "vaccination_record":  # the registry takes the whole registration
        root = fromstring(request.content)
        assert root.findtext("RecordNo") == "REF-1"
        assert root.findtext("Child/Name") == NEW_NAME
    else:
        assert json.loads(request.content) == {NAME_FIELD[step]: NEW_NAME}


@pytest.mark.parametrize("step", list(builtin_registry().names))
async def test_an_amendment_without_department_changes_calls_nobody(
    step: str, http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    previous, _ = records(step)
    cmd = AmendStep(idempotency_key="k", reference="REF-1", previous=previous, record=previous)
    reply = await adapter(step, http, retry).amend(cmd, step=step)
    assert reply.outcome == "completed"
    assert department.requests == []


@pytest.mark.parametrize("step", list(builtin_registry().names))
async def test_a_revocation_calls_the_departments_undo_with_the_reason(
    step: str, http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    department.answer(ok(step))
    cmd = RevokeStep(idempotency_key=f"b-1:{step}:revoke", reference="REF-1", reason="错报")
    reply = await adapter(step, http, retry).revoke(cmd, step=step)
    assert reply.outcome == "completed"
    [request] = department.requests
    assert request.url.path == REVOKE_PATH[step]
    assert request.headers["Idempotency-Key"] == f"b-1:{step}:revoke"
    if step == "vaccination_record":
        root = fromstring(request.content)
        assert (root.findtext("RecordNo"), root.findtext("Reason")) == ("REF-1", "错报")
    else:
        assert "错报" in json.loads(request.content).values()


async def test_an_amended_household_application_back_under_review_is_accepted(
    http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    previous, record = records("household_registration")
    department.answer(httpx.Response(200, json={"sqbh": "REF-1", "zt": "pending"}))
    cmd = AmendStep(idempotency_key="k", reference="REF-1", previous=previous, record=record)
    reply = await adapter("household_registration", http, retry).amend(
        cmd, step="household_registration"
    )
    assert (reply.outcome, reply.reference) == ("accepted", "REF-1")


async def test_the_worker_stamps_the_operation_and_turns_a_refusal_into_rejected(
    http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    transport = FakeTransport()
    worker = AdapterWorker("nhc", adapter("birth_certificate", http, retry), transport)
    department.answer(
        httpx.Response(200, json={"zmbh": "A123456789", "zt": "voided"}),
        httpx.Response(400, json={"cwdm": "VOIDED", "cwxx": "已作废"}),
    )
    revoke = RevokeStep(
        idempotency_key="b-1:birth_certificate:revoke", reference="A123456789", reason="错报"
    )
    previous, record = records("birth_certificate")
    amend = AmendStep(
        idempotency_key="b-1:birth_certificate:amend:2",
        reference="A123456789",
        previous=previous,
        record=record,
    )
    for kind, data in ((REVOKE_TYPE, revoke.model_dump()), (AMEND_TYPE, amend.model_dump())):
        await worker.handle(
            Envelope(type=kind, birth_id="b-1", step="birth_certificate", data=data)
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
