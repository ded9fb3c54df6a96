"""Departments as they really behave: down for hours, throttling, failing every
call, answering later. Time is a manual clock shared by the gateway, the sandbox
and the adapters' breakers; the sweeper is driven by hand (`sweep_once`), so
hours pass in milliseconds and every timer fires exactly when it is due."""

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import httpx
import pytest

from birthlink.samples import birth_event
from gateway.clock import ManualClock
from gateway.security.keys import create_key
from tests.support.servers import wait_for
from tests.support.stack import KINDS, Stack, running_stack

pytestmark = pytest.mark.e2e

LADDER = (10, 60, 300, 1800, 7200, 21600)  # the default retry ladder, seconds
# In-call retries wait real time: keep it short, the waits that matter are the saga's.
QUICK = {"retry_max_wait_s": 0.02}
SETTLED = ("retrying", "completed", "failed", "awaiting_department", "rejected")


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def operator_client(stack: Stack, name: str = "alice") -> AsyncIterator[httpx.AsyncClient]:
    async with stack.runtime.db.write() as session:
        key = await create_key(
            session, role="operator", name=name, hospital_code=None, now=stack.runtime.clock.now()
        )
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        yield client


def step_of(birth: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in birth["steps"] if s["step"] == name)


async def step_settled(stack: Stack, birth_id: str, name: str, attempt: int) -> dict[str, Any]:
    """The step once attempt `attempt` has been answered."""

    async def settled() -> dict[str, Any] | None:
        step = step_of(await stack.birth(birth_id), name)
        return step if step["attempt"] >= attempt and step["state"] in SETTLED else None

    return await wait_for(settled, within=30, what=f"{name} attempt {attempt} answered")


async def run_until(
    stack: Stack, clock: ManualClock, birth_id: str, name: str, end: tuple[str, ...]
) -> dict[str, Any]:
    """Move the clock to each retry of the step, sweep, and wait for its answer,
    until the step reaches one of `end`."""
    step = await step_settled(stack, birth_id, name, 1)
    for _ in range(40):
        if step["state"] in end:
            return step
        due = datetime.fromisoformat(step["next_attempt_at"])
        clock.advance(due - clock.now())
        await stack.runtime.sweeper.sweep_once()
        step = await step_settled(stack, birth_id, name, step["attempt"] + 1)
    raise AssertionError(f"{name} never reached {end}: {step}")


async def finish(stack: Stack, clock: ManualClock, birth_id: str) -> dict[str, Any]:
    """Let the other steps' later answers and polls come, a minute at a time."""

    async def settled() -> dict[str, Any] | None:
        birth = await stack.birth(birth_id)
        if birth["status"] != "in_progress":
            return birth
        clock.advance(timedelta(seconds=60))
        await stack.runtime.sweeper.sweep_once()
        return None

    return await wait_for(settled, within=60, interval=0.1, what=f"{birth_id} finished")


async def queued_offsets(stack: Stack, birth_id: str, name: str, start: datetime) -> list[float]:
    history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
    return [
        (datetime.fromisoformat(e["at"]) - start).total_seconds()
        for e in history
        if e["step"] == name and e["to"] == "queued"
    ]


async def metric(stack: Stack, name: str) -> float:
    """One sample of `GET /metrics` (0 when absent)."""
    text = (await stack.anonymous.get("/metrics")).text
    found = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(found[0].split()[-1]) if found else 0.0


async def requests_to(stack: Stack, department: str) -> int:
    response = await stack.sandbox.get(f"/{department}/_sandbox/records")
    return int(response.json()["requests_total"])


async def test_a_department_down_for_ten_hours_is_retried_on_the_ladder_and_completes(
    tmp_path: Path, kind: str
) -> None:
    clock = ManualClock()
    async with running_stack(kind, tmp_path, clock=clock, adapter_overrides=QUICK) as stack:
        start = clock.now()
        retries_before = await metric(stack, 'birthlink_step_retries_total{department="cdc"}')
        await stack.faults("cdc", outage_until=(start + timedelta(hours=10)).isoformat())
        posted = await stack.post(birth_event(random.Random(31)))
        birth_id = posted.json()["birth_id"]
        step = await run_until(stack, clock, birth_id, "vaccination_record", ("completed",))
        # Attempts at 0 s, then each rung of the ladder after the last, until one
        # lands after the ten hours: 0, 10 s, 70 s, … 8.6 h, 14.6 h.
        expected = [0.0, *accumulate(float(s) for s in (*LADDER, LADDER[-1]))]
        assert await queued_offsets(stack, birth_id, "vaccination_record", start) == expected
        assert step["attempt"] == len(expected)
        [record] = await stack.records("cdc")
        assert record["requests"] == 1
        # Three tries in the first attempt, two more open the circuit, then one
        # probe per attempt: the department was not hammered for ten hours.
        assert await requests_to(stack, "cdc") == 3 + 2 + (len(expected) - 2)
        birth = await finish(stack, clock, birth_id)
        assert birth["status"] == "completed"
        retries = await metric(stack, 'birthlink_step_retries_total{department="cdc"}')
        assert retries - retries_before == len(expected) - 1
        # The step took 14.6 h: counted in the one-day bucket, not in the six-hour one.
        day = await metric(
            stack, 'birthlink_step_duration_seconds_bucket{department="cdc",le="86400.0"}'
        )
        six_hours = await metric(
            stack, 'birthlink_step_duration_seconds_bucket{department="cdc",le="21600.0"}'
        )
        assert day - six_hours >= 1


async def test_a_department_down_past_the_deadline_fails_and_an_operator_retry_completes_it(
    tmp_path: Path, kind: str
) -> None:
    clock = ManualClock()
    async with running_stack(kind, tmp_path, clock=clock, adapter_overrides=QUICK) as stack:
        start = clock.now()
        await stack.faults("cdc", outage_until=(start + timedelta(days=5)).isoformat())
        posted = await stack.post(birth_event(random.Random(32)))
        birth_id = posted.json()["birth_id"]
        step = await run_until(stack, clock, birth_id, "vaccination_record", ("failed",))
        assert "retries exhausted" in step["last_error"]
        offsets = await queued_offsets(stack, birth_id, "vaccination_record", start)
        assert offsets[-1] < 72 * 3600 <= offsets[-1] + LADDER[-1]  # the 72 h step deadline
        birth = await finish(stack, clock, birth_id)
        assert birth["status"] == "action_required"
        async with operator_client(stack) as operator:
            listed = await operator.get(
                "/v1/births", params={"step_state": "failed", "department": "cdc"}
            )
            assert [b["birth_id"] for b in listed.json()["births"]] == [birth_id]
            await stack.faults("cdc")  # the department is back
            clock.advance(timedelta(minutes=1))
            retried = await operator.post(f"/v1/births/{birth_id}/steps/vaccination_record/retry")
            assert retried.status_code == 202, retried.text
            step = await step_settled(stack, birth_id, "vaccination_record", step["attempt"] + 1)
            assert step["state"] == "completed"
            assert (await stack.birth(birth_id))["status"] == "completed"
            again = await operator.post(f"/v1/births/{birth_id}/steps/vaccination_record/retry")
            assert again.status_code == 409
        history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
        by_operator = [e for e in history if e["actor"] == "operator:alice"]
        assert [(e["step"], e["from"], e["to"]) for e in by_operator] == [
            ("vaccination_record", "failed", "queued"),
            (None, "action_required", "in_progress"),
        ]


async def test_a_department_answering_429_is_not_called_again_before_retry_after(
    tmp_path: Path, kind: str
) -> None:
    clock = ManualClock()
    async with running_stack(kind, tmp_path, clock=clock, adapter_overrides=QUICK) as stack:
        await stack.faults("nhc", throttle_rate=1.0, retry_after=30)
        first = (await stack.post(birth_event(random.Random(33)))).json()["birth_id"]
        step = await step_settled(stack, first, "birth_certificate", 1)
        assert step["state"] == "retrying"
        assert await requests_to(stack, "nhc") == 1  # no in-call retry: 30 s is too long
        due = datetime.fromisoformat(step["next_attempt_at"])
        assert (due - clock.now()).total_seconds() == 30
        # Another birth in the meantime: its call is held too, the department not called.
        second = (await stack.post(birth_event(random.Random(34)))).json()["birth_id"]
        assert (await step_settled(stack, second, "birth_certificate", 1))["state"] == "retrying"
        clock.advance(timedelta(seconds=29))
        await stack.runtime.sweeper.sweep_once()
        assert step_of(await stack.birth(first), "birth_certificate")["attempt"] == 1
        assert await requests_to(stack, "nhc") == 1
        await stack.faults("nhc")
        clock.advance(timedelta(seconds=1))
        await stack.runtime.sweeper.sweep_once()
        for birth_id in (first, second):
            done = await step_settled(stack, birth_id, "birth_certificate", 2)
            assert done["state"] == "completed"
        assert await requests_to(stack, "nhc") == 3


async def test_a_department_failing_every_call_gets_a_bounded_number_of_calls(
    tmp_path: Path, kind: str
) -> None:
    clock = ManualClock()
    breaker = {**QUICK, "breaker_failures": 3, "breaker_open_s": 30.0, "department_concurrency": 2}
    async with running_stack(kind, tmp_path, clock=clock, adapter_overrides=breaker) as stack:
        await stack.faults("cdc", error_rate=1.0, fail_status=500)
        births = [
            (await stack.post(birth_event(random.Random(40 + i)))).json()["birth_id"]
            for i in range(6)
        ]
        for birth_id in births:
            await step_settled(stack, birth_id, "vaccination_record", 1)
        # Without the breaker: 6 births x 3 tries. With it: the threshold, and
        # what was in flight (the concurrency cap) when the circuit opened.
        opened = await requests_to(stack, "cdc")
        assert opened <= 3 + 2
        periods = 6  # three minutes of 30 s open periods, every due retry dispatched

        async def answered() -> bool:
            states = [step_of(await stack.birth(b), "vaccination_record")["state"] for b in births]
            return all(state in SETTLED for state in states)

        for _ in range(periods):
            clock.advance(timedelta(seconds=30))
            await stack.runtime.sweeper.sweep_once()
            await wait_for(answered, within=30, what="every dispatched attempt answered")
        probes = await requests_to(stack, "cdc") - opened
        assert 1 <= probes <= periods  # probed, at most once per open period
        metrics = (await stack.anonymous.get("/metrics")).text
        assert 'birthlink_department_circuit_state{department="cdc"} 2.0' in metrics


async def test_a_birth_outside_the_jurisdiction_is_offline_where_it_must_go_to_a_counter(
    tmp_path: Path, kind: str
) -> None:
    async with running_stack(kind, tmp_path, jurisdiction="11") as stack:  # Beijing only
        event = birth_event(random.Random(35))
        assert not event["household"]["hukou_region"].startswith("11")
        birth_id = (await stack.post(event)).json()["birth_id"]
        birth = await stack.wait_until_final(birth_id)
        states = {s["step"]: s["state"] for s in birth["steps"]}
        assert states == {
            "birth_certificate": "completed",
            "vaccination_record": "completed",
            "household_registration": "offline",
            "medical_insurance": "offline",
            "social_security_card": "offline",
        }
        assert "counter" in step_of(birth, "household_registration")["last_error"]
        assert await stack.records("mps") == []
        async with operator_client(stack) as operator:
            listed = await operator.get("/v1/births", params={"step_state": "offline"})
        assert [b["birth_id"] for b in listed.json()["births"]] == [birth_id]
