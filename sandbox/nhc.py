"""Health commission (nhc): birth medical certificates, JSON with pinyin field names.

``POST /nhc/csyxzm`` issues a certificate number (one letter, nine digits);
``/csyxzm/{zmbh}/zf`` voids it, ``/csyxzm/{zmbh}/bg`` amends it.
"""

import random
import string
from typing import Self

from fastapi import APIRouter, Request
from pydantic import Field, model_validator
from starlette.responses import Response

from sandbox.department import Department, json_answer
from sandbox.fields import (
    CompactMinute,
    Ethnicity,
    IdType,
    Name,
    Nationality,
    RegionCode,
    SexCode,
    Text,
    WireModel,
)
from sandbox.patch import merge_patch

ISSUED, AMENDED, VOIDED = "issued", "amended", "voided"
_FATHER_REQUIRED = ("fqxm", "fqzjlx", "fqsfzh", "fqgj")


class BirthCertificate(WireModel):
    """The body of ``POST /csyxzm`` (``csrq`` is ``yyyyMMddHHmm`` in UTC+08:00)."""

    jgdm: Text
    jgmc: Text
    xsexm: Name
    xb: SexCode
    csrq: CompactMinute
    csdd: RegionCode
    yz: int = Field(ge=20, le=45)
    tz: int = Field(ge=300, le=7000)
    sc: float = Field(ge=20, le=70)
    tc: int = Field(ge=1, le=8)
    cc: int = Field(ge=1, le=8)
    mqxm: Name
    mqzjlx: IdType
    mqsfzh: Text
    mqgj: Nationality
    mqmz: Ethnicity | None = None
    fqxm: Name | None = None
    fqzjlx: IdType | None = None
    fqsfzh: Text | None = None
    fqgj: Nationality | None = None
    fqmz: Ethnicity | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        father = [getattr(self, name) is not None for name in _FATHER_REQUIRED]
        if any(father) and not all(father):
            raise ValueError("fqxm, fqzjlx, fqsfzh and fqgj go together")
        if self.fqmz is not None and not all(father):
            raise ValueError("fqmz without a father")
        if self.cc > self.tc:
            raise ValueError("cc (birth order) exceeds tc (plurality)")
        return self


class Voiding(WireModel):
    """The body of ``POST /csyxzm/{zmbh}/zf``."""

    yy: Text


def render_error(status_code: int, code: str, message: str) -> Response:
    """nhc's error shape: ``{"cwdm": code, "cwxx": reason}``."""
    return json_answer(status_code, {"cwdm": code, "cwxx": message}).to_response()


def _certificate_number(rng: random.Random) -> str:
    return rng.choice(string.ascii_uppercase) + f"{rng.randrange(10**9):09d}"


def create_router(dept: Department) -> APIRouter:
    """The health commission's endpoints, served by ``dept``."""
    router = APIRouter()

    @router.post("/csyxzm", status_code=201)
    async def issue(request: Request) -> Response:
        key, raw = await dept.receive(request, "issue")
        data = dept.parse_json(raw)
        dept.validate(BirthCertificate, data)
        dept.check_rules(key, "issue", data)
        zmbh = dept.new_ref(_certificate_number)
        answer = json_answer(201, {"zmbh": zmbh})
        dept.accept(key, "issue", data, ref=zmbh, state=ISSUED, answer=answer)
        return answer.to_response()

    @router.post("/csyxzm/{zmbh}/zf")
    async def void(zmbh: str, request: Request) -> Response:
        key, raw = await dept.receive(request, "void")
        record = dept.lookup(zmbh)
        body = dept.parse_json(raw)
        dept.validate(Voiding, body)
        record.state = VOIDED
        answer = json_answer(200, {"zmbh": zmbh, "zt": VOIDED})
        return dept.change(record, key, "void", body, answer)

    @router.post("/csyxzm/{zmbh}/bg")
    async def amend(zmbh: str, request: Request) -> Response:
        key, raw = await dept.receive(request, "amend")
        record = dept.lookup(zmbh)
        if record.state == VOIDED:
            raise dept.error(400, "VOIDED", "a voided certificate cannot be amended")
        changes = dept.parse_json(raw)
        merged = merge_patch(record.data, changes)
        dept.validate(BirthCertificate, merged)
        dept.check_change_rules(changes)
        record.data, record.state = merged, AMENDED
        answer = json_answer(200, {"zmbh": zmbh, "zt": AMENDED})
        return dept.change(record, key, "amend", changes, answer)

    return router
