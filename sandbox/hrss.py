"""Human resources and social security (hrss): social security cards, made later.

``POST /hrss/sbk/applications`` answers ``202`` pending; after the department's
delay :class:`CardMaking` makes the card (``kh``; ``yjrq`` the mailing date, or
``null`` when the card is collected) and calls back. ``GET …/{sqh}`` polls,
``…/cancel`` cancels, ``…/update`` changes the application.
"""

import base64
import binascii
import random
import string
from collections.abc import Callable
from typing import Literal, Self

import structlog
from fastapi import APIRouter, Request
from pydantic import field_validator, model_validator
from starlette.responses import Response

from sandbox.department import Department, json_answer
from sandbox.faults import CST
from sandbox.fields import (
    CitizenId,
    CompactDate,
    MobilePhone,
    Name,
    RegionCode,
    SexCode,
    Text,
    WireModel,
)
from sandbox.patch import merge_patch
from sandbox.store import JsonObject, Record

log = structlog.get_logger(__name__)

PENDING, MADE, CANCELLED = "pending", "made", "cancelled"
MAIL, COLLECT = "1", "2"


class MailingAddress(WireModel):
    """``yjdz``: where a mailed card goes."""

    qh: RegionCode
    xxdz: Text
    sjr: Name
    lxdh: MobilePhone


class CardApplication(WireModel):
    """The body of ``POST /sbk/applications``."""

    aac002: CitizenId
    aac003: Name
    aac004: SexCode
    aac006: CompactDate
    cbbh: Text | None = None  # absent where the card does not wait for insurance
    lqfs: Literal["1", "2"]
    yjdz: MailingAddress | None = None
    zp: str | None = None

    @field_validator("zp")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except binascii.Error:
                raise ValueError("zp must be base64") from None
        return value

    @model_validator(mode="after")
    def _delivery(self) -> Self:
        if self.lqfs == MAIL and self.yjdz is None:
            raise ValueError("yjdz is required when lqfs is 1 (mail)")
        if self.lqfs == COLLECT and self.yjdz is not None:
            raise ValueError("yjdz must be absent when lqfs is 2 (collect)")
        return self


class Cancellation(WireModel):
    """The body of ``POST …/{sqh}/cancel``."""

    yy: Text


def render_error(status_code: int, code: str, message: str) -> Response:
    """hrss's error shape: ``{"msg": reason}``."""
    return json_answer(status_code, {"msg": message}).to_response()


def status_of(record: Record) -> JsonObject:
    """The polling answer: ``sqh``, ``zt``, and ``kh``, ``yjrq`` once made."""
    status: JsonObject = {"sqh": record.ref, "zt": record.state}
    if record.state == MADE:
        status.update(record.result)
    return status


def _card_number(rng: random.Random) -> str:
    return rng.choice(string.ascii_uppercase) + f"{rng.randrange(10**8):08d}"


class CardMaking:
    """Makes the card of a due application: a card number and, if mailed, the date."""

    def __init__(self, department: Department, rng: random.Random | None = None) -> None:
        self._department = department
        self._rng = rng or random.Random()
        self._issued: set[str] = set()

    @property
    def department(self) -> Department:
        """The human resources and social security department."""
        return self._department

    def complete(self, record: Record) -> JsonObject:
        """Make the card of ``record``; the callback body."""
        dept = self._department
        mailed = record.data.get("lqfs") == MAIL
        yjrq = f"{dept.now().astimezone(CST):%Y-%m-%d}" if mailed else None
        kh = _card_number(self._rng)
        while kh in self._issued:
            kh = _card_number(self._rng)
        self._issued.add(kh)
        record.state, record.result = MADE, {"kh": kh, "yjrq": yjrq}
        log.debug("sandbox.hrss.card_made", sqh=record.ref, mailed=mailed)
        return {"sqh": record.ref, "kh": kh, "yjrq": yjrq}


def _application_number(today: str) -> Callable[[random.Random], str]:
    def make(rng: random.Random) -> str:
        return f"HRSS{today}{rng.randrange(10**8):08d}"

    return make


def create_router(dept: Department) -> APIRouter:
    """The social security card endpoints, served by ``dept``."""
    router = APIRouter()

    @router.post("/sbk/applications", status_code=202)
    async def apply(request: Request) -> Response:
        key, raw = await dept.receive(request, "apply")
        data = dept.parse_json(raw)
        dept.validate(CardApplication, data)
        dept.check_rules(key, "apply", data)
        sqh = dept.new_ref(_application_number(f"{dept.now().astimezone(CST):%Y%m%d}"))
        answer = json_answer(202, {"sqh": sqh, "zt": PENDING})
        record = dept.accept(key, "apply", data, ref=sqh, state=PENDING, answer=answer)
        dept.store.schedule(record, dept.later_due())
        return answer.to_response()

    @router.get("/sbk/applications/{sqh}")
    async def status(sqh: str) -> Response:
        await dept.admit()
        return json_answer(200, status_of(dept.lookup(sqh))).to_response()

    @router.post("/sbk/applications/{sqh}/cancel")
    async def cancel(sqh: str, request: Request) -> Response:
        key, raw = await dept.receive(request, "cancel")
        record = dept.lookup(sqh)
        body = dept.parse_json(raw)
        dept.validate(Cancellation, body)
        record.state = CANCELLED
        dept.store.settle(record)
        answer = json_answer(200, {"sqh": sqh, "zt": CANCELLED})
        return dept.change(record, key, "cancel", body, answer)

    @router.post("/sbk/applications/{sqh}/update")
    async def update(sqh: str, request: Request) -> Response:
        key, raw = await dept.receive(request, "update")
        record = dept.lookup(sqh)
        if record.state == CANCELLED:
            raise dept.error(400, "CANCELLED", "a cancelled application cannot be updated")
        changes = dept.parse_json(raw)
        merged = merge_patch(record.data, changes)
        dept.validate(CardApplication, merged)
        dept.check_change_rules(changes)
        record.data = merged
        answer = json_answer(200, {"sqh": sqh, "zt": record.state})
        return dept.change(record, key, "update", changes, answer)

    return router
