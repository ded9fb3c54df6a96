"""A deployment's own steps, declared entirely in this file: a sixth and a
seventh step (the child health record, a library card on the social security
card), their adapters, and their departments as real HTTP servers on loopback.
Nothing in the product names them; they run end to end on both transports, and
a birth accepted before they existed still completes or cancels."""

# Chinese text uses full-width punctuation on purpose.

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

from adapters._runtime.errors import UnsupportedCommandError
from adapters._runtime.http import RetryPolicy
from adapters._runtime.replies import completed
from adapters._runtime.worker import DepartmentAdapter
from birthlink.samples import birth_event
from contracts.birth import BirthEvent
from contracts.catalogue import builtin_registry, local_birth_date, taken
from contracts.commands import AmendStep, PollDepartment, RevokeStep, SubmitStep
from contracts.registry import StepSpec, StepTexts, Taken, text
from contracts.replies import StepReply
from tests.support.servers import bound_socket, serve, wait_for
from tests.support.stack import KINDS, Stack, Steps, running_stack, world_for

pytestmark = pytest.mark.e2e

FIVE = builtin_registry().names
OWN = ("child_health_record", "library_card")
OLD_ADDRESS = "文三路无此号"


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- the declarations -------------------------------------------------------------


class ChildRecord(BaseModel):
    """What both new departments are sent (department-neutral, like contracts.records)."""

    citizen_id: str
    name: str
    sex: str
    birth_date: date
    card_number: str | None = None


def child_record(event: BirthEvent, values: Taken) -> ChildRecord:
    return ChildRecord(
        citizen_id=taken(values, "citizen_id"),
        name=event.child.name,
        sex=event.child.sex,
        birth_date=local_birth_date(event),
        card_number=values.get("card_number"),
    )


CHILD_HEALTH_RECORD = StepSpec(
    name="child_health_record",
    department="mch",
    command="OpenChildHealthRecord",
    record=child_record,
    needs=("household_registration",),
    takes=("household_registration.citizen_id",),
    gives={"health_record_number": text("儿童健康档案号", "Child health record number")},
    texts=StepTexts(
        title=text("儿童健康档案", "Child health record"),
        office=text("辖区妇幼保健院", "your local maternal and child health centre"),
    ),
)
# Declared before the step it follows: the registry orders by `needs`.
LIBRARY_CARD = StepSpec(
    name="library_card",
    department="library",
    command="OpenLibraryAccount",
    record=child_record,
    needs=("social_security_card", "child_health_record"),
    takes=("household_registration.citizen_id", "social_security_card.card_number"),
    gives={"reader_number": text("读者证号", "Reader number")},
    compensation="none",  # the card account closes with the social security card
    texts=StepTexts(
        title=text("少儿借阅证", "Children's library card"),
        office=text("市少年儿童图书馆", "the city children's library"),
    ),
)


# -- their departments: HTTP servers of their own ---------------------------------


def department_app(prefix: str) -> FastAPI:
    """A department that opens a numbered record per idempotency key and can close it."""
    app = FastAPI()
    records: dict[str, dict[str, Any]] = {}
    numbers = count(1)

    @app.post("/records")
    async def open_record(body: dict[str, Any], idempotency_key: str = Header()) -> dict[str, Any]:
        record = records.setdefault(
            idempotency_key,
            {"key": idempotency_key, "number": f"{prefix}{next(numbers):06d}", "data": body},
        )
        record["requests"] = record.get("requests", 0) + 1
        return {"number": record["number"]}

    @app.post("/records/{number}/close")
    async def close_record(number: str) -> dict[str, str]:
        for record in records.values():
            if record["number"] == number:
                record["closed"] = True
                return {"number": number}
        raise HTTPException(404)

    @app.get("/records")
    async def all_records() -> list[dict[str, Any]]:
        return list(records.values())

    return app


class RecordAdapter:
    """The adapter of such a department: submit opens, revoke closes."""

    def __init__(self, http: httpx.AsyncClient, output: str) -> None:
        self._http, self._output = http, output

    async def submit(self, cmd: SubmitStep, *, step: str) -> StepReply:
        answer = await self._http.post(
            "/records", json=cmd.record, headers={"Idempotency-Key": cmd.idempotency_key}
        )
        answer.raise_for_status()
        number = str(answer.json()["number"])
        return completed({self._output: number}, reference=number)

    async def poll(self, cmd: PollDepartment, *, step: str) -> StepReply:
        raise UnsupportedCommandError("answers at once")

    async def amend(self, cmd: AmendStep, *, step: str) -> StepReply:
        return completed({}, reference=cmd.reference)

    async def revoke(self, cmd: RevokeStep, *, step: str) -> StepReply:
        answer = await self._http.post(f"/records/{cmd.reference}/close")
        answer.raise_for_status()
        return completed({}, reference=cmd.reference)


def adapter_for(output: str) -> Any:
    def build(http: httpx.AsyncClient, _retry: RetryPolicy) -> DepartmentAdapter:
        return RecordAdapter(http, output)

    return build


@asynccontextmanager
async def own_steps() -> AsyncIterator[Steps]:
    """The registry with both steps, and their departments serving on loopback."""
    async with AsyncExitStack() as stack:
        urls = {
            "mch": await stack.enter_async_context(serve(department_app("MCH"), bound_socket())),
            "library": await stack.enter_async_context(
                serve(department_app("LIB"), bound_socket())
            ),
        }
        yield Steps(
            registry=builtin_registry().with_steps(LIBRARY_CARD, CHILD_HEALTH_RECORD),
            adapters={
                "mch": adapter_for("health_record_number"),
                "library": adapter_for("reader_number"),
            },
            urls=urls,
        )


async def records_at(steps: Steps, department: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=steps.urls[department]) as http:
        answer = await http.get("/records")
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found


def step_of(birth: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in birth["steps"] if s["step"] == name)


# -- the tests --------------------------------------------------------------------


def test_the_registry_runs_each_step_after_what_it_needs() -> None:
    registry = builtin_registry().with_steps(LIBRARY_CARD, CHILD_HEALTH_RECORD)
    assert registry.names == (*FIVE, *OWN)
    assert registry.departments[-2:] == ("mch", "library")


async def test_a_seventh_step_declared_in_a_test_runs_end_to_end(kind: str, tmp_path: Path) -> None:
    async with own_steps() as steps, running_stack(kind, tmp_path, steps=steps) as stack:
        event = birth_event(random.Random(707))
        posted = (await stack.post(event)).json()
        birth = await stack.wait_until_final(posted["birth_id"])

        assert birth["status"] == "completed", birth
        assert [s["step"] for s in birth["steps"]] == [*FIVE, *OWN]
        assert all(s["state"] == "completed" for s in birth["steps"])
        citizen_id = step_of(birth, "household_registration")["output"]["citizen_id"]
        card = step_of(birth, "social_security_card")["output"]["card_number"]
        [health] = await records_at(steps, "mch")
        [library] = await records_at(steps, "library")
        assert health["key"] == f"{birth['birth_id']}:child_health_record"
        assert (health["data"]["citizen_id"], health["requests"]) == (citizen_id, 1)
        assert (library["data"]["card_number"], library["data"]["citizen_id"]) == (
            card,
            citizen_id,
        )
        assert step_of(birth, "library_card")["output"] == {"reader_number": library["number"]}

        history = (await stack.hospital.get(f"/v1/births/{birth['birth_id']}/history")).json()
        done = [e["step"] for e in history["events"] if e["to"] == "completed" and e["step"]]
        assert done.index("library_card") > done.index("social_security_card")

        page = await parents_view(stack, posted["tracking_code"], event)
        titles = {s["step"]: s["title"]["zh"] for s in page["steps"]}
        assert titles["library_card"] == "少儿借阅证"
        [reader] = step_of(page, "library_card")["documents"]
        assert reader["label"]["en"] == "Reader number"


async def test_cancelling_undoes_the_new_steps_as_they_declare(kind: str, tmp_path: Path) -> None:
    async with own_steps() as steps, running_stack(kind, tmp_path, steps=steps) as stack:
        birth_id = (await stack.post(birth_event(random.Random(708)))).json()["birth_id"]
        await stack.wait_until_final(birth_id)
        answer = await stack.hospital.post(
            f"/v1/births/{birth_id}/cancel", json={"reason": "报错了 / reported in error"}
        )
        assert answer.status_code == 202, answer.text

        async def cancelled() -> dict[str, Any] | None:
            birth = await stack.birth(birth_id)
            return birth if birth["status"] == "cancelled" else None

        birth = await wait_for(cancelled, within=60, what="the birth cancelled")
        assert {s["state"] for s in birth["steps"]} == {"compensated"}
        [health] = await records_at(steps, "mch")
        assert health.get("closed") is True  # revoked at the department
        [library] = await records_at(steps, "library")
        assert "closed" not in library  # declared with nothing to undo
        history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()
        [undone] = [
            e for e in history["events"] if e["step"] == "library_card" and e["to"] == "compensated"
        ]
        assert undone["detail"] == "nothing to undo"


async def test_a_birth_accepted_before_the_new_steps_existed_completes_or_cancels(
    kind: str, tmp_path: Path
) -> None:
    async with world_for(kind, tmp_path) as world:
        # Accepted on the five steps; public security refuses the hukou address
        # (which only it is sent, so the correction amends nothing elsewhere).
        async with running_stack(kind, tmp_path, world=world) as before:
            await before.faults(
                "mps", reject=[{"field": "hjdz.xz", "equals": OLD_ADDRESS, "reason": "地址有误"}]
            )
            births = {}
            for seed in (709, 710):
                event = birth_event(random.Random(seed))
                event["household"]["hukou_address"] = OLD_ADDRESS
                births[seed] = (await before.post(event)).json()["birth_id"]
            for birth_id in births.values():
                await wait_for(household_rejected(before, birth_id), what="household rejected")
        # The deployment adds two steps; the old births go on under it.
        async with (
            own_steps() as steps,
            running_stack(kind, tmp_path, steps=steps, world=world) as after,
        ):
            completing, cancelling = births[709], births[710]
            assert (
                await correct(after, completing, {"household": {"hukou_address": "文三路1号"}})
            ).is_success
            answer = await after.hospital.post(
                f"/v1/births/{cancelling}/cancel", json={"reason": "报错了 / reported in error"}
            )
            assert answer.status_code == 202, answer.text

            done = await wait_for(status_is(after, completing, "completed"), within=90)
            assert [s["step"] for s in done["steps"]] == [*FIVE, *OWN]
            for name in OWN:
                new = step_of(done, name)
                assert new["state"] == "not_applicable"
                assert new["last_error"] == "declared after this birth was accepted"
            assert await records_at(steps, "mch") == []

            gone = await wait_for(status_is(after, cancelling, "cancelled"), within=60)
            states = {s["step"]: s["state"] for s in gone["steps"]}
            assert {states[name] for name in OWN} == {"not_applicable"}
            assert states["birth_certificate"] == "compensated"


async def correct(stack: Stack, birth_id: str, patch: dict[str, Any]) -> httpx.Response:
    return await stack.hospital.post(
        f"/v1/births/{birth_id}/corrections",
        json=patch,
        headers={"Content-Type": "application/merge-patch+json"},
    )


def status_is(
    stack: Stack, birth_id: str, status: str
) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    async def reached() -> dict[str, Any] | None:
        birth = await stack.birth(birth_id)
        return birth if birth["status"] == status else None

    return reached


def household_rejected(stack: Stack, birth_id: str) -> Callable[[], Awaitable[bool]]:
    async def rejected() -> bool:
        birth = await stack.birth(birth_id)
        return bool(step_of(birth, "household_registration")["state"] == "rejected")

    return rejected


async def parents_view(stack: Stack, code: str, event: dict[str, Any]) -> dict[str, Any]:
    answer = await stack.anonymous.get(
        f"/v1/track/{code}", headers={"X-Verification": event["mother"]["id_number"][-6:]}
    )
    answer.raise_for_status()
    view: dict[str, Any] = answer.json()
    return view
