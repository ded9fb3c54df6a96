"""Cancellation end to end: revocations in reverse dependency order, withdrawal
of what awaits a department, and a revocation that fails until repaired."""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from birthlink.samples import birth_event
from contracts.catalogue import builtin_registry
from gateway.security.keys import create_key
from tests.support.cli import run_birthlink, store_env
from tests.support.servers import wait_for
from tests.support.stack import KINDS, Stack, running_stack

pytestmark = pytest.mark.e2e

REASON = "报错了母亲 / reported for the wrong mother"


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def step_of(birth: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in birth["steps"] if s["step"] == name)


async def cancel(stack: Stack, birth_id: str) -> Any:
    return await stack.hospital.post(f"/v1/births/{birth_id}/cancel", json={"reason": REASON})


async def wait_states(stack: Stack, birth_id: str, wanted: dict[str, str]) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        birth = await stack.birth(birth_id)
        states = {s["step"]: s["state"] for s in birth["steps"]}
        return birth if all(states[k] == v for k, v in wanted.items()) else None

    return await wait_for(reached, within=60, what=f"{birth_id} {wanted}")


async def birthlink_cli(stack: Stack, *args: str) -> tuple[int, str]:
    """Run the CLI against the stack's store, as an operator would."""
    ran = await run_birthlink(store_env(stack.runtime.db), *args)
    return ran.code, ran.out + ran.err


async def change_at(stack: Stack, department: str, key: str) -> tuple[str, datetime]:
    [record] = await stack.records(department)
    [change] = [c for c in record["changes"] if c["key"] == key]
    return record["state"], datetime.fromisoformat(change["created_at"])


async def test_a_completed_birth_is_revoked_in_reverse_dependency_order(stack: Stack) -> None:
    birth_id = (await stack.post(birth_event(random.Random(51)))).json()["birth_id"]
    await stack.wait_until_final(birth_id)
    answer = await cancel(stack, birth_id)
    assert answer.status_code == 202
    assert answer.json()["status"] == "cancelling"  # the departments still hold records
    birth = await wait_states(
        stack, birth_id, dict.fromkeys(builtin_registry().names, "compensated")
    )
    assert birth["status"] == "cancelled"
    assert birth["cancel_reason"] == REASON

    revoked = {
        step: await change_at(stack, department, f"{birth_id}:{step}:revoke")
        for step, department in (
            ("social_security_card", "hrss"),
            ("medical_insurance", "nhsa"),
            ("household_registration", "mps"),
            ("birth_certificate", "nhc"),
            ("vaccination_record", "cdc"),
        )
    }
    assert [state for state, _ in revoked.values()] == [
        "cancelled",
        "stopped",
        "withdrawn",
        "voided",
        "cancelled",
    ]
    card, insurance, household, certificate = (
        revoked[s][1]
        for s in (
            "social_security_card",
            "medical_insurance",
            "household_registration",
            "birth_certificate",
        )
    )
    assert card < insurance < household < certificate

    history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
    asked = next(e for e in history if e["step"] is None and e["to"] == "cancelling")
    assert asked["actor"] == "hospital:demo"
    assert asked["detail"] == REASON
    # A cancelled birth accepts no correction; cancelling again sends nothing new.
    refused = await stack.hospital.post(
        f"/v1/births/{birth_id}/corrections", json={"child": {"name": "李更正"}}
    )
    assert refused.status_code == 409
    assert "cancelled" in refused.json()["detail"]
    assert (await cancel(stack, birth_id)).status_code == 202
    for department in ("nhc", "cdc", "mps", "nhsa", "hrss"):
        [record] = await stack.records(department)
        assert [c["requests"] for c in record["changes"]] == [1], department


async def test_a_cancelled_birth_is_cancelling_until_its_last_revoke_reached_the_department(
    stack: Stack,
) -> None:
    birth_id = (await stack.post(birth_event(random.Random(54)))).json()["birth_id"]
    await stack.wait_until_final(birth_id)
    # The health commission's void, the last revocation (it issued the first
    # record), takes its time.
    await stack.faults("nhc", latency_ms=1500)
    answer = await cancel(stack, birth_id)
    assert answer.status_code == 202
    assert answer.json()["status"] == "cancelling"

    seen: set[str] = set()

    async def cancelled() -> dict[str, Any] | None:
        [certificate] = await stack.records("nhc")
        birth = await stack.birth(birth_id)
        seen.add(birth["status"])
        if certificate["state"] != "voided":
            assert birth["status"] == "cancelling", certificate
        return birth if birth["status"] == "cancelled" else None

    birth = await wait_for(cancelled, within=60, interval=0.1, what="cancelled")
    assert "cancelling" in seen
    assert {s["state"] for s in birth["steps"]} == {"compensated"}
    state, voided_at = await change_at(stack, "nhc", f"{birth_id}:birth_certificate:revoke")
    assert state == "voided"
    history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
    [done] = [e for e in history if e["step"] is None and e["to"] == "cancelled"]
    assert done["from"] == "cancelling"
    assert datetime.fromisoformat(done["at"]) >= voided_at


async def test_cancelling_during_review_withdraws_it_and_cancels_what_has_not_started(
    tmp_path: Path, kind: str
) -> None:
    async with running_stack(kind, tmp_path, later_delay_s=600) as stack:
        birth_id = (await stack.post(birth_event(random.Random(52)))).json()["birth_id"]
        await wait_states(stack, birth_id, {"household_registration": "awaiting_department"})
        # An operator cancels from the command line, on the same store.
        code, out = await birthlink_cli(
            stack, "births", "cancel", birth_id, "--reason", REASON, "--operator", "alice"
        )
        assert code == 0, out
        birth = await wait_states(
            stack,
            birth_id,
            {
                "household_registration": "cancelled",
                "birth_certificate": "compensated",
                "vaccination_record": "compensated",
                "medical_insurance": "cancelled",
                "social_security_card": "cancelled",
            },
        )
        assert birth["status"] == "cancelled"
        [application] = await stack.records("mps")
        assert application["state"] == "withdrawn"
        withdrawn, voided = (
            await change_at(stack, "mps", f"{birth_id}:household_registration:revoke"),
            await change_at(stack, "nhc", f"{birth_id}:birth_certificate:revoke"),
        )
        assert withdrawn[1] < voided[1]
        assert await stack.records("nhsa") == []
        assert await stack.records("hrss") == []
        history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
        [asked] = [e for e in history if e["step"] is None and e["to"] == "cancelling"]
        assert asked["actor"] == "operator:alice"


async def test_a_revoke_failing_until_repaired_ends_failed_then_completes_after_a_retry(
    tmp_path: Path, kind: str
) -> None:
    async with running_stack(
        kind,
        tmp_path,
        retry_ladder_s=(0.3,),
        step_deadline=timedelta(seconds=3),
        adapter_overrides={"breaker_open_s": 0.5},
    ) as stack:
        birth_id = (await stack.post(birth_event(random.Random(53)))).json()["birth_id"]
        await stack.wait_until_final(birth_id)
        await stack.faults("nhc", error_rate=1.0, fail_status=503)
        assert (await cancel(stack, birth_id)).status_code == 202
        birth = await wait_states(stack, birth_id, {"birth_certificate": "failed"})
        certificate = step_of(birth, "birth_certificate")
        # Real time: the last answer leaves no room for a retry, or (on a busy
        # machine) the timer finds the retry due only past the deadline.
        assert certificate["last_error"].startswith(("retries exhausted", "deadline passed"))
        assert certificate["operation"] == "revoke"
        assert step_of(birth, "household_registration")["state"] == "compensated"
        [record] = await stack.records("nhc")
        assert record["state"] == "issued"
        assert record["changes"] == []

        await stack.faults("nhc")  # the department is repaired
        async with stack.runtime.db.write() as session:
            key = await create_key(
                session, role="operator", name="ops", hospital_code=None, now=datetime.now(UTC)
            )
        retried = await stack.anonymous.post(
            f"/v1/births/{birth_id}/steps/birth_certificate/retry",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert retried.status_code == 202, retried.text
        birth = await wait_states(stack, birth_id, {"birth_certificate": "compensated"})
        assert birth["status"] == "cancelled"
        [record] = await stack.records("nhc")
        assert record["state"] == "voided"
        assert [c["key"] for c in record["changes"]] == [f"{birth_id}:birth_certificate:revoke"]
        history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
        assert any(
            e["actor"] == "operator:ops" and "retry asked by an operator" in (e["detail"] or "")
            for e in history
        )
