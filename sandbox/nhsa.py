"""Healthcare security (nhsa): medical insurance enrolment, the national platform's names.

``POST /nhsa/insurance/enrol`` answers a ``psn_no``; the same ``certno``
enrolled under another idempotency key is a ``409``. ``…/{psn_no}/stop`` ends
the enrolment (freeing the ``certno``), ``…/{psn_no}/update`` changes it.
"""

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Self

from fastapi import APIRouter, Request
from pydantic import Field, StringConstraints, model_validator
from starlette.responses import Response
from stdnum.cn import ric

from sandbox.department import Department, json_answer
from sandbox.fields import CitizenId, IsoDate, Name, RegionCode, SexCode, Text, WireModel
from sandbox.patch import merge_patch
from sandbox.store import JsonObject

ENROLLED, UPDATED, STOPPED = "enrolled", "updated", "stopped"
RESIDENT_ID = "01"
"""``psn_cert_type`` of the resident identity card."""


class Enrolment(WireModel):
    """The body of ``POST /insurance/enrol``."""

    psn_cert_type: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
    certno: CitizenId
    psn_name: Name
    gend: SexCode
    brdy: IsoDate
    insutype: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
    insu_admdvs: RegionCode

    @model_validator(mode="after")
    def _check_digit(self) -> Self:
        if self.psn_cert_type == RESIDENT_ID and ric.calc_check_digit(self.certno) != \
                self.certno[-1]:
            raise ValueError("certno: wrong check digit")
        return self


class Stop(WireModel):
    """The body of ``POST …/{psn_no}/stop``."""

    reason: Text


def render_error(status_code: int, code: str, message: str) -> Response:
    """nhsa's error shape: ``{"infcode": -1, "err_msg": …}``; a 409 carries ``err_msg`` only."""
    body: JsonObject = {"err_msg": message} if status_code == 409 else {
        "infcode": -1, "err_msg": message}
    return json_answer(status_code, body).to_response()


def _insurance_number(region: str) -> Callable[[random.Random], str]:
    def make(rng: random.Random) -> str:
        return f"{region}{rng.randrange(10**14):014d}"

    return make


def create_router(dept: Department) -> APIRouter:
    """Healthcare security's endpoints, served by ``dept``."""
    router = APIRouter()
    enrolled: dict[str, str] = {}
    """certno → psn_no of the enrolments not stopped."""

    def conflict(certno: str, psn_no: str | None) -> bool:
        return enrolled.get(certno, psn_no) != psn_no

    @router.post("/insurance/enrol")
    async def enrol(request: Request) -> Response:
        key, raw = await dept.receive(request, "enrol")
        data = dept.parse_json(raw)
        enrolment = dept.validate(Enrolment, data)
        dept.check_rules(key, "enrol", data)
        if conflict(enrolment.certno, None):
            raise dept.refuse(key, "enrol", data, 409, "ALREADY_ENROLLED",
                              "this person is already enrolled")
        psn_no = dept.new_ref(_insurance_number(enrolment.insu_admdvs))
        answer = json_answer(200, {"psn_no": psn_no})
        dept.accept(key, "enrol", data, ref=psn_no, state=ENROLLED, answer=answer)
        enrolled[enrolment.certno] = psn_no
        return answer.to_response()

    @router.post("/insurance/enrol/{psn_no}/stop")
    async def stop(psn_no: str, request: Request) -> Response:
        key, raw = await dept.receive(request, "stop")
        record = dept.lookup(psn_no)
        body = dept.parse_json(raw)
        dept.validate(Stop, body)
        if record.state != STOPPED:
            enrolled.pop(str(record.data["certno"]), None)
        record.state = STOPPED
        answer = json_answer(200, {"psn_no": psn_no, "status": STOPPED})
        return dept.change(record, key, "stop", body, answer)

    @router.post("/insurance/enrol/{psn_no}/update")
    async def update(psn_no: str, request: Request) -> Response:
        key, raw = await dept.receive(request, "update")
        record = dept.lookup(psn_no)
        if record.state == STOPPED:
            raise dept.error(400, "STOPPED", "a stopped enrolment cannot be updated")
        changes = dept.parse_json(raw)
        merged = merge_patch(record.data, changes)
        enrolment = dept.validate(Enrolment, merged)
        dept.check_change_rules(changes)
        if conflict(enrolment.certno, psn_no):
            raise dept.error(409, "ALREADY_ENROLLED", "this person is already enrolled")
        enrolled.pop(str(record.data["certno"]), None)
        enrolled[enrolment.certno] = psn_no
        record.data, record.state = merged, UPDATED
        answer = json_answer(200, {"psn_no": psn_no, "status": UPDATED})
        return dept.change(record, key, "update", changes, answer)

    router.include_router(create_maternity_router(dept))
    return router


# -- the employee maternity scheme (生育津贴) --------------------------------------------

CLAIMED, CLAIM_STOPPED = "claimed", "stopped"
BASE_DAYS, DAYS_PER_MORE_BABY = 98, 15
"""The statutory maternity leave, and the days added for each further baby."""


class MaternityClaim(WireModel):
    """The body of ``POST /maternity/claims``."""

    psn_name: Name
    psn_cert_type: Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,30}$")]
    certno: Annotated[str, StringConstraints(min_length=5, max_length=30)]
    emp_no: Annotated[str, StringConstraints(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")]
    brdy: IsoDate
    plurality: int = Field(ge=1, le=8)


def maternity_answer(claim: MaternityClaim) -> JsonObject:
    """The allowance: the days of leave at an example daily wage of the employer
    (a figure of the sandbox, not a real wage), paid to the mother, one month on."""
    days = BASE_DAYS + DAYS_PER_MORE_BABY * (claim.plurality - 1)
    daily_fen = 20000 + sum(map(ord, claim.emp_no)) % 100 * 100
    payment = date.fromisoformat(claim.brdy) + timedelta(days=30)
    return {
        "amount_fen": days * daily_fen,
        "days": days,
        "paid_to": "mother",
        "payment_date": payment.isoformat(),
    }


def create_maternity_router(dept: Department) -> APIRouter:
    """The employee maternity scheme's endpoints (beside enrolment, same department)."""
    router = APIRouter()

    @router.post("/maternity/claims")
    async def claim(request: Request) -> Response:
        key, raw = await dept.receive(request, "maternity_claim")
        data = dept.parse_json(raw)
        asked = dept.validate(MaternityClaim, data)
        dept.check_rules(key, "maternity_claim", data)
        claim_no = dept.new_ref(lambda rng: f"SY{rng.randrange(10**12):012d}")
        answer = json_answer(200, {"claim_no": claim_no, **maternity_answer(asked)})
        dept.accept(key, "maternity_claim", data, ref=claim_no, state=CLAIMED, answer=answer)
        return answer.to_response()

    @router.post("/maternity/claims/{claim_no}/stop")
    async def stop(claim_no: str, request: Request) -> Response:
        key, raw = await dept.receive(request, "maternity_stop")
        record = dept.lookup(claim_no)
        body = dept.parse_json(raw)
        dept.validate(Stop, body)
        record.state = CLAIM_STOPPED
        answer = json_answer(200, {"claim_no": claim_no, "status": CLAIM_STOPPED})
        return dept.change(record, key, "maternity_stop", body, answer)

    return router
