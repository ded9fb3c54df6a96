"""County health commission (wjw): the childcare subsidy (育儿补贴).

``POST /wjw/subsidy/grants`` grants the programmes asked for, each with its
monthly amount (the deployment's profile sets it) and months, paid to the
child's social security card; it answers at once with a ``grant_no``, each
programme's months and total, and who it is paid to.
``…/{grant_no}/stop`` stops the entitlement (the birth was reported in error);
``…/{grant_no}/update`` changes it.
"""

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import Field, StringConstraints
from starlette.responses import Response

from sandbox.department import Department, json_answer
from sandbox.fields import CitizenId, IsoDate, Name, RegionCode, Text, WireModel
from sandbox.patch import merge_patch
from sandbox.store import JsonObject

GRANTED, UPDATED, STOPPED = "granted", "updated", "stopped"
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


class ProgrammeAsked(WireModel):
    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,30}$")]
    monthly_amount_fen: int = Field(gt=0, le=10_000_000)
    first_month: Month
    last_month: Month


class Grant(WireModel):
    """The body of ``POST /subsidy/grants``."""

    citizen_id: CitizenId
    card: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    name: Name
    birth_date: IsoDate
    hukou_region: RegionCode
    family_child_number: int | None = Field(default=None, ge=1, le=10)
    guardian_name: Name
    programmes: list[ProgrammeAsked] = Field(min_length=1, max_length=10)


class Stop(WireModel):
    reason: Text


def render_error(status_code: int, code: str, message: str) -> Response:
    """wjw's error shape: ``{"code": …, "msg": …}``."""
    return json_answer(status_code, {"code": code, "msg": message}).to_response()


def _months(first: str, last: str) -> int:
    (fy, fm), (ly, lm) = (map(int, first.split("-")), map(int, last.split("-")))
    return (ly * 12 + lm) - (fy * 12 + fm) + 1


def granted(grant: Grant) -> JsonObject:
    """What the commission grants: each programme's months and total."""
    return {
        "programmes": [
            {
                "code": p.code,
                "monthly_amount_fen": p.monthly_amount_fen,
                "first_month": p.first_month,
                "last_month": p.last_month,
                "months": _months(p.first_month, p.last_month),
                "total_fen": p.monthly_amount_fen * _months(p.first_month, p.last_month),
            }
            for p in grant.programmes
        ],
        "paid_to": f"social security card {grant.card}",
    }


def create_router(dept: Department) -> APIRouter:
    """The county health commission's endpoints, served by ``dept``."""
    router = APIRouter()

    @router.post("/subsidy/grants")
    async def grant(request: Request) -> Response:
        key, raw = await dept.receive(request, "grant")
        data = dept.parse_json(raw)
        asked = dept.validate(Grant, data)
        dept.check_rules(key, "grant", data)
        grant_no = dept.new_ref(lambda rng: f"YE{asked.hukou_region}{rng.randrange(10**8):08d}")
        answer = json_answer(200, {"grant_no": grant_no, "status": GRANTED, **granted(asked)})
        dept.accept(key, "grant", data, ref=grant_no, state=GRANTED, answer=answer)
        return answer.to_response()

    @router.post("/subsidy/grants/{grant_no}/stop")
    async def stop(grant_no: str, request: Request) -> Response:
        key, raw = await dept.receive(request, "stop")
        record = dept.lookup(grant_no)
        body = dept.parse_json(raw)
        dept.validate(Stop, body)
        record.state = STOPPED
        answer = json_answer(200, {"grant_no": grant_no, "status": STOPPED})
        return dept.change(record, key, "stop", body, answer)

    @router.post("/subsidy/grants/{grant_no}/update")
    async def update(grant_no: str, request: Request) -> Response:
        key, raw = await dept.receive(request, "update")
        record = dept.lookup(grant_no)
        if record.state == STOPPED:
            raise dept.error(400, "STOPPED", "a stopped grant cannot be updated")
        changes = dept.parse_json(raw)
        merged = merge_patch(record.data, changes)
        asked = dept.validate(Grant, merged)
        dept.check_change_rules(changes)
        record.data, record.state = merged, UPDATED
        answer = json_answer(200, {"grant_no": grant_no, "status": UPDATED, **granted(asked)})
        return dept.change(record, key, "update", changes, answer)

    return router
