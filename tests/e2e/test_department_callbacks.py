"""Later answers: signed callbacks, refused when forged, stale or unknown, applied
once when delivered twice; polling completes a step whose callback never comes."""

import json
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from birthlink.samples import birth_event
from gateway.clock import ManualClock
from sandbox.signing import SIGNATURE_HEADER, sign
from tests.e2e.test_departments_behaviour import step_of
from tests.support.servers import wait_for
from tests.support.stack import KINDS, Stack, running_stack

pytestmark = pytest.mark.e2e

HRSS_SECRET = "dev-hrss-secret"


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def advance_until(
    stack: Stack, clock: ManualClock, birth_id: str, step: str, state: str
) -> dict[str, Any]:
    """Move the clock a minute at a time (later answers, polls) until the step is in `state`."""

    async def there() -> dict[str, Any] | None:
        found = step_of(await stack.birth(birth_id), step)
        if found["state"] == state:
            return found
        clock.advance(timedelta(seconds=60))
        await stack.runtime.sweeper.sweep_once()
        return None

    return await wait_for(there, within=60, interval=0.1, what=f"{step} {state}")


async def callback(
    stack: Stack, body: dict[str, Any], *, secret: str = HRSS_SECRET, at: int | None = None
) -> int:
    raw = json.dumps(body).encode()
    stamp = int(stack.runtime.clock.now().timestamp()) if at is None else at
    response = await stack.anonymous.post(
        "/v1/callbacks/hrss",
        content=raw,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, raw, stamp)},
    )
    return response.status_code


async def snapshot(stack: Stack, birth_id: str) -> tuple[Any, ...]:
    birth = await stack.birth(birth_id)
    history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
    return birth["status"], birth["steps"], len(history)


def completed(stack: Stack, birth_id: str) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    async def done() -> dict[str, Any] | None:
        birth = await stack.birth(birth_id)
        return birth if birth["status"] == "completed" else None

    return done


async def counted(stack: Stack, department: str, outcome: str) -> float:
    text = (await stack.anonymous.get("/metrics")).text
    line = f'birthlink_callbacks_total{{department="{department}",outcome="{outcome}"}}'
    found = [row for row in text.splitlines() if row.startswith(line)]
    return float(found[0].split()[-1]) if found else 0.0


async def test_forged_stale_unknown_and_repeated_callbacks_change_nothing(
    tmp_path: Path, kind: str
) -> None:
    clock = ManualClock()
    # No poll of the card comes due while the callbacks are checked (the timers
    # run on the same clock): only the callbacks may change anything here.
    async with running_stack(kind, tmp_path, clock=clock, poll_after=timedelta(hours=1)) as stack:
        await stack.faults("hrss", later_delay_s=14 * 86400)  # the card takes two weeks
        birth_id = (await stack.post(birth_event(random.Random(51)))).json()["birth_id"]
        card = await advance_until(
            stack, clock, birth_id, "social_security_card", "awaiting_department"
        )
        reference = card["department_ref"]
        made = {"sqh": reference, "kh": "C33010699", "yjrq": "2026-12-20"}
        before = await snapshot(stack, birth_id)
        refused = await counted(stack, "hrss", "bad_signature")
        now = int(clock.now().timestamp())

        assert await callback(stack, made, secret="not-the-secret") == 401
        assert await callback(stack, made, at=now - 301) == 401  # older than five minutes
        assert await callback(stack, made, at=now + 301) == 401  # from the future
        unknown = {**made, "sqh": "HRSS-NO-SUCH-APPLICATION"}
        assert await callback(stack, unknown) == 404
        assert await callback(stack, {"kh": "C1"}) == 400
        assert await snapshot(stack, birth_id) == before
        assert await counted(stack, "hrss", "bad_signature") == refused + 3

        # Accepted at once (202); the saga takes it in through the orchestrator.
        assert await callback(stack, made) == 202
        birth = await wait_for(completed(stack, birth_id), what="the birth completed")
        output = step_of(birth, "social_security_card")["output"]
        assert output["card_number"] == "C33010699"
        assert output["mailed_at"] == "2026-12-20"
        after = await snapshot(stack, birth_id)
        assert await callback(stack, made) == 202  # the same callback again
        # A late other answer is taken in, never dropped in silence: the card
        # keeps the first number, and operators read the contradiction.
        assert await callback(stack, {**made, "kh": "C00000000"}) == 202

        async def contradicted() -> bool:
            birth = await stack.birth(birth_id)
            return bool(step_of(birth, "social_security_card")["last_error"])

        # Queued behind the repeat: once it is in, the repeat added nothing.
        await wait_for(contradicted, what="the contradiction")
        status, steps, history = await snapshot(stack, birth_id)
        card = next(s for s in steps if s["step"] == "social_security_card")
        assert (status, card["output"]["card_number"]) == ("completed", "C33010699")
        assert card["last_error"] == (
            "the department answered again, contradicting it (completed: card_number)"
        )
        assert history == after[2] + 1


async def test_polling_completes_a_step_whose_callback_never_comes(
    tmp_path: Path, kind: str
) -> None:
    """The gateway and public security disagree on the secret: every review
    callback is refused, and the poll of the status endpoint completes the step."""
    clock = ManualClock()
    async with running_stack(
        kind,
        tmp_path,
        clock=clock,
        department_secrets={"mps": "a-secret-the-department-does-not-have"},
    ) as stack:
        refused = await counted(stack, "mps", "bad_signature")
        birth_id = (await stack.post(birth_event(random.Random(52)))).json()["birth_id"]

        async def awaiting() -> bool:
            # No clock movement yet: a minute's step would let the poll finish the
            # step before this ever sees it waiting.
            step = step_of(await stack.birth(birth_id), "household_registration")
            return bool(step["state"] == "awaiting_department")

        await wait_for(awaiting, within=60, what="household registration sent")

        async def callback_refused() -> bool:
            clock.advance(timedelta(seconds=1))  # the review ends; its callback is sent
            return await counted(stack, "mps", "bad_signature") > refused

        await wait_for(callback_refused, within=30, interval=0.1, what="the review's callback")
        household = await advance_until(
            stack, clock, birth_id, "household_registration", "completed"
        )
        assert len(household["output"]["citizen_id"]) == 18
        history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
        [done] = [
            e for e in history if e["step"] == "household_registration" and e["to"] == "completed"
        ]
        assert done["actor"] != "department:mps"  # not by callback: by the poll's reply
        [record] = await stack.records("mps")
        assert record["state"] == "approved"
