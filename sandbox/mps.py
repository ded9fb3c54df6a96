"""Public security (mps): household registration, reviewed later, with a citizen ID.

``POST /mps/hukou/applications`` answers ``202`` pending; after the department's
delay :class:`HukouReview` approves it with a new citizen ID (or rejects it by a
``reject_at_review`` rule) and calls back. ``GET …/{sqbh}`` polls,
``…/withdraw`` withdraws, ``…/bg`` amends (and sends a rejected application
back to review).
"""

import random
from collections.abc import Callable
from datetime import datetime
from typing import Literal

import structlog
from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.citizen_id import CitizenIdRegistry
from sandbox.department import Department, json_answer
from sandbox.errors import CitizenIdsExhaustedError
from sandbox.faults import CST, first_match
from sandbox.fields import (
    CertificateNumber,
    CompactDate,
    Ethnicity,
    IdType,
    Name,
    RegionCode,
    SexCode,
    Text,
    WireModel,
)
from sandbox.patch import merge_patch
from sandbox.store import JsonObject, Record

log = structlog.get_logger(__name__)

PENDING, APPROVED, REJECTED, WITHDRAWN = "pending", "approved", "rejected", "withdrawn"
NO_SEQUENCE_LEFT = "no citizen ID sequence number left for this region and birth date"


class Applicant(WireModel):
    """``sbr``: the parent the child is registered with."""

    xm: Name
    zjlx: IdType
    zjhm: Text
    gx: Literal["mother", "father"]


class HukouAddress(WireModel):
    """``hjdz``: the hukou region and address."""

    qh: RegionCode
    xz: Text


class HukouApplication(WireModel):
    """The body of ``POST /hukou/applications``."""

    csyxzmbh: CertificateNumber
    xm: Name
    xb: SexCode
    csrq: CompactDate
    csdd: RegionCode
    sbr: Applicant
    hjdz: HukouAddress
    hh: Text | None = None
    mz: Ethnicity | None = None


class Withdrawal(WireModel):
    """The body of ``POST …/{sqbh}/withdraw``."""

    yy: Text


def render_error(status_code: int, code: str, message: str) -> Response:
    """mps's error shape: ``{"yy": reason}``."""
    return json_answer(status_code, {"yy": message}).to_response()


def status_of(record: Record) -> JsonObject:
    """The polling answer: ``sqbh``, ``zt``, and ``gmsfhm`` or ``yy`` when decided."""
    status: JsonObject = {"sqbh": record.ref, "zt": record.state}
    if record.state == APPROVED:
        status["gmsfhm"] = record.result["gmsfhm"]
    elif record.state == REJECTED:
        status["yy"] = record.result["yy"]
    return status


class HukouReview:
    """Ends a due review: approved with a new citizen ID, or rejected by a rule."""

    def __init__(self, department: Department, ids: CitizenIdRegistry) -> None:
        self._department = department
        self._ids = ids

    @property
    def department(self) -> Department:
        """The public security department."""
        return self._department

    def complete(self, record: Record) -> JsonObject:
        """Approve or reject ``record``; the callback body."""
        application = HukouApplication.model_validate(record.data)
        rule = first_match(self._department.faults.reject_at_review, record.data)
        if rule is not None:
            record.state, record.result = REJECTED, {"yy": rule.reason}
        else:
            born = datetime.strptime(application.csrq, "%Y%m%d").date()
            try:
                gmsfhm = self._ids.issue(application.hjdz.qh, born, application.xb)
            except CitizenIdsExhaustedError:
                record.state, record.result = REJECTED, {"yy": NO_SEQUENCE_LEFT}
            else:
                record.state, record.result = APPROVED, {"gmsfhm": gmsfhm}
        log.debug("sandbox.mps.reviewed", sqbh=record.ref, zt=record.state)
        return status_of(record)


def _application_number(today: str) -> Callable[[random.Random], str]:
    def make(rng: random.Random) -> str:
        return f"MPS{today}{rng.randrange(10**8):08d}"

    return make


def create_router(dept: Department) -> APIRouter:
    """Public security's endpoints, served by ``dept``."""
    router = APIRouter()

    @router.post("/hukou/applications", status_code=202)
    async def apply(request: Request) -> Response:
        key, raw = await dept.receive(request, "apply")
        data = dept.parse_json(raw)
        dept.validate(HukouApplication, data)
        dept.check_rules(key, "apply", data)
        sqbh = dept.new_ref(_application_number(f"{dept.now().astimezone(CST):%Y%m%d}"))
        answer = json_answer(202, {"sqbh": sqbh, "zt": PENDING})
        record = dept.accept(key, "apply", data, ref=sqbh, state=PENDING, answer=answer)
        dept.store.schedule(record, dept.later_due())
        return answer.to_response()

    @router.get("/hukou/applications/{sqbh}")
    async def status(sqbh: str) -> Response:
        await dept.admit()
        return json_answer(200, status_of(dept.lookup(sqbh))).to_response()

    @router.post("/hukou/applications/{sqbh}/withdraw")
    async def withdraw(sqbh: str, request: Request) -> Response:
        key, raw = await dept.receive(request, "withdraw")
        record = dept.lookup(sqbh)
        body = dept.parse_json(raw)
        dept.validate(Withdrawal, body)
        record.state = WITHDRAWN
        dept.store.settle(record)
        answer = json_answer(200, {"sqbh": sqbh, "zt": WITHDRAWN})
        return dept.change(record, key, "withdraw", body, answer)

    @router.post("/hukou/applications/{sqbh}/bg")
    async def amend(sqbh: str, request: Request) -> Response:
        key, raw = await dept.receive(request, "amend")
        record = dept.lookup(sqbh)
        if record.state == WITHDRAWN:
            raise dept.error(400, "WITHDRAWN", "a withdrawn application cannot be amended")
        changes = dept.parse_json(raw)
        merged = merge_patch(record.data, changes)
        dept.validate(HukouApplication, merged)
        dept.check_change_rules(changes)
        record.data = merged
        if record.state == REJECTED:
            # A corrected application goes back to review and is answered later.
            record.state, record.result = PENDING, {}
            dept.store.schedule(record, dept.later_due())
        answer = json_answer(200, {"sqbh": sqbh, "zt": record.state})
        return dept.change(record, key, "amend", changes, answer)

    return router
