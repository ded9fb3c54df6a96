"""Forged, stale and replayed callbacks change nothing; a valid one completes the
step once. Department callback secrets rotate with a grace period."""

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from birthlink.samples import birth_event, resident_id
from contracts.registry import CST
from gateway.security.callbacks import SecretCache, list_secrets, revoke_secret, rotate_secret
from tests.security.signing import signed
from tests.support.gateway import running_gateway
from tests.support.servers import wait_for
from tests.support.stack import Stack

MPS_SECRET = "dev-mps-secret"  # the development default both sides read


def household(birth: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in birth["steps"] if s["step"] == "household_registration")


def household_in(
    stack: Stack, birth_id: str, state: str
) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    async def there() -> dict[str, Any] | None:
        birth = await stack.birth(birth_id)
        return birth if household(birth)["state"] == state else None

    return there


async def test_forged_stale_and_replayed_callbacks_change_nothing(stack: Stack) -> None:
    await stack.faults("mps", later_delay_s=3600)  # the department's own answer never comes
    event = birth_event(random.Random(62))
    posted = await stack.post(event)
    birth_id = posted.json()["birth_id"]

    async def awaiting() -> dict[str, Any] | None:
        # And nothing else moving: the vaccination record (in parallel) done too.
        birth = await stack.birth(birth_id)
        states = {s["step"]: s["state"] for s in birth["steps"]}
        waiting = states["household_registration"] == "awaiting_department"
        return birth if waiting and states["vaccination_record"] == "completed" else None

    before = await wait_for(awaiting, what="household registration awaiting the department")
    reference = household(before)["department_ref"]
    history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
    citizen_id = citizen_id_for(event)
    answer = {"sqbh": reference, "zt": "approved", "gmsfhm": citizen_id}

    async def send(body: bytes, headers: dict[str, str]) -> int:
        response = await stack.anonymous.post("/v1/callbacks/mps", content=body, headers=headers)
        return response.status_code

    forged = signed(answer, "not-the-secret")
    stale = signed(answer, MPS_SECRET, at=time.time() - 600)  # the window is 300 s
    early = signed(answer, MPS_SECRET, at=time.time() + 600)
    other_department = signed(answer, "dev-hrss-secret")
    unsigned = (forged[0], {"Content-Type": "application/json"})
    tampered = (
        forged[0].replace(citizen_id.encode(), b"110105201611010179"),
        signed(answer, MPS_SECRET)[1],
    )
    for body, headers in (forged, stale, early, other_department, unsigned, tampered):
        assert await send(body, headers) == 401
    unchanged = await stack.birth(birth_id)
    assert household(unchanged)["state"] == "awaiting_department"
    assert (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"] == history

    valid = signed(answer, MPS_SECRET)
    assert await send(*valid) == 202  # at once; the saga takes it in through the orchestrator
    done = await wait_for(household_in(stack, birth_id, "completed"), what="registration done")
    assert household(done)["output"]["citizen_id"] == citizen_id
    after = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]

    # The same delivery again (a department retrying): accepted, nothing new.
    assert await send(*valid) == 202
    # The same body replayed later under an old timestamp: stale.
    assert await send(valid[0], signed(answer, MPS_SECRET, at=time.time() - 3600)[1]) == 401
    # Another answer for a finished step, properly signed: the step stays as it
    # is, and the contradiction is recorded for operators, never silently dropped.
    rejected = signed({"sqbh": reference, "zt": "rejected", "yy": "late"}, MPS_SECRET)
    await send(*rejected)

    async def contradicted() -> dict[str, Any] | None:
        birth = await stack.birth(birth_id)
        return birth if household(birth)["last_error"] else None

    final = await wait_for(contradicted, what="the contradiction recorded")
    assert household(final)["state"] == "completed"
    assert household(final)["output"]["citizen_id"] == citizen_id
    assert "contradicting" in household(final)["last_error"]
    history_now = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
    [*kept, contradiction] = [e for e in history_now if e["step"] == "household_registration"]
    assert kept == [e for e in after if e["step"] == "household_registration"]
    assert (contradiction["from"], contradiction["to"]) == ("completed", "completed")
    assert "rejected: late" in contradiction["detail"]


async def test_callbacks_arriving_together_each_reach_their_own_step(stack: Stack) -> None:
    """Callbacks sent at the same moment are looked up together: each is still
    answered for its own reference, and each birth gets its own citizen ID."""
    await stack.faults("mps", later_delay_s=3600)  # only the callbacks below answer
    events = [birth_event(random.Random(90 + i)) for i in range(4)]
    ids = [(await stack.post(event)).json()["birth_id"] for event in events]
    waiting = [
        await wait_for(household_in(stack, birth_id, "awaiting_department"), what="mps pending")
        for birth_id in ids
    ]
    answers = [
        {"sqbh": household(b)["department_ref"], "zt": "approved", "gmsfhm": citizen_id_for(e)}
        for b, e in zip(waiting, events, strict=True)
    ]
    answers[3]["gmsfhm"] = citizen_id_for(events[2])  # another child's: refused
    answers.append({"sqbh": "MPS-NO-SUCH", "zt": "approved", "gmsfhm": citizen_id_for(events[0])})
    sent = await asyncio.gather(
        *(
            stack.anonymous.post("/v1/callbacks/mps", content=body, headers=headers)
            for body, headers in (signed(answer, MPS_SECRET) for answer in answers)
        )
    )
    assert [r.status_code for r in sent] == [202, 202, 202, 422, 404]
    for birth_id, event in zip(ids[:3], events, strict=False):
        done = await wait_for(household_in(stack, birth_id, "completed"), what="registered")
        assert household(done)["output"]["citizen_id"] == citizen_id_for(event)
    assert household(await stack.birth(ids[3]))["state"] == "awaiting_department"


def citizen_id_for(event: dict[str, Any], seq: int = 17) -> str:
    """The citizen ID public security would give this child: the hukou's region,
    the birth date in China, an odd sequence for a boy and an even one for a girl."""
    born = datetime.fromisoformat(event["child"]["born_at"]).astimezone(CST).date()
    seq += (seq % 2) != (1 if event["child"]["sex"] == "1" else 0)
    return resident_id(event["household"]["hukou_region"], born, seq)


async def test_a_signed_answer_with_an_id_that_cannot_be_the_childs_is_refused(
    stack: Stack,
) -> None:
    """A signed callback is still checked like any input: a 1949 Beijing ID, a
    girl's ID for a boy, or no ID at all leaves the step waiting; the real answer
    later completes it."""
    await stack.faults("mps", later_delay_s=3600)
    event = birth_event(random.Random(64))
    birth_id = (await stack.post(event)).json()["birth_id"]

    async def awaiting() -> dict[str, Any] | None:
        birth = await stack.birth(birth_id)
        return birth if household(birth)["state"] == "awaiting_department" else None

    reference = household(await wait_for(awaiting, what="awaiting public security"))[
        "department_ref"
    ]
    right = citizen_id_for(event)
    born = datetime.strptime(right[6:14], "%Y%m%d").date()
    other_sex = resident_id(right[:6], born, int(right[14:17]) + 1)
    for wrong in ("11010519491231002X", "HACKED", other_sex):
        body, headers = signed({"sqbh": reference, "zt": "approved", "gmsfhm": wrong}, MPS_SECRET)
        answer = await stack.anonymous.post("/v1/callbacks/mps", content=body, headers=headers)
        assert answer.status_code == 422, (wrong, answer.text)
        assert "citizen_id" in answer.json()["detail"]

    async def refused() -> dict[str, Any] | None:  # recorded through the orchestrator
        birth = await stack.birth(birth_id)
        return birth if household(birth)["last_error"] else None

    waiting = await wait_for(refused, what="the refusal recorded")
    assert household(waiting)["state"] == "awaiting_department"
    assert "refused the department's answer" in household(waiting)["last_error"]
    assert {s["step"]: s["state"] for s in waiting["steps"]}["medical_insurance"] == "waiting"

    body, headers = signed({"sqbh": reference, "zt": "approved", "gmsfhm": right}, MPS_SECRET)
    answer = await stack.anonymous.post("/v1/callbacks/mps", content=body, headers=headers)
    assert answer.status_code == 202
    done = await wait_for(household_in(stack, birth_id, "completed"), what="registration done")
    assert household(done)["output"]["citizen_id"] == right


async def test_a_rotated_callback_secret_and_its_predecessor_both_verify_until_the_grace_ends(
    tmp_path: Path,
) -> None:
    body = {"sqbh": "MPS-UNKNOWN", "zt": "approved", "gmsfhm": "330106202611010171"}

    async with running_gateway(tmp_path, ()) as gw:

        async def status(secret: str) -> int:
            raw, headers = signed(body, secret)
            return (
                await gw.client.post("/v1/callbacks/mps", content=raw, headers=headers)
            ).status_code

        # A good signature reaches the reference check (404: unknown); a bad one is 401.
        assert await status(MPS_SECRET) == 404
        now = gw.runtime.clock.now()
        async with gw.runtime.db.write() as session:
            new = await rotate_secret(session, "mps", now=now, grace=timedelta(hours=1))
        assert await status(new) == 404
        assert await status(MPS_SECRET) == 404  # still inside the grace period
        assert await status("dev-nhc-secret") == 401
        async with gw.runtime.db.write() as session:
            newer = await rotate_secret(session, "mps", now=now, grace=timedelta(0))
        assert await status(newer) == 404
        assert await status(new) == 401  # grace 0: the previous ones end now
        assert await status(MPS_SECRET) == 401
        async with gw.runtime.db.read() as session:
            [active] = [s for s in await list_secrets(session) if s.expires_at is None]
        async with gw.runtime.db.write() as session:
            await revoke_secret(session, active.id, now=gw.runtime.clock.now())
        assert await status(newer) == 401
        assert await status(MPS_SECRET) == 401  # revoking the last one does not revive settings


async def test_callbacks_arriving_together_wait_for_one_load_of_the_secrets(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path, ()) as gw:
        loads = 0

        @asynccontextmanager
        async def counted() -> AsyncIterator[AsyncSession]:
            nonlocal loads
            loads += 1
            async with gw.runtime.db.read() as session:
                yield session

        cache = SecretCache(counted, ttl_s=60)
        now = gw.runtime.clock.now()
        valid = await asyncio.gather(*(cache.valid("mps", MPS_SECRET, now=now) for _ in range(10)))
        assert valid == [[MPS_SECRET]] * 10
        assert loads == 1
