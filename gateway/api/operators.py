"""The operators' API: find births (stuck, failed, near a legal deadline), retry
a step, list and re-drive dead letters; and `GET /metrics`.

Every action is written to the birth's history with the operator's identity
(`operator:<name>`). Hospitals may list births too, but only their own (asking
for another hospital's is `403`); retrying steps and dead letters are for
operators only.
"""

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import ColumnElement, and_, exists, or_, select

from contracts.steps import BirthStatus, Department, Step, StepState
from gateway import deadlines, metrics
from gateway.api.deps import PrincipalDep, RuntimeDep
from gateway.api.problems import ProblemError
from gateway.api.views import STEP_ORDER, links
from gateway.deadletters import list_dead_letters, redrive
from gateway.keys import Principal
from gateway.saga.machine import Saga
from gateway.store.tables import Birth, DeadLetterRow, StepRow

router = APIRouter()

Urgency = Literal["near", "past"]


def _operator(principal: Principal) -> None:
    if principal.role != "operator":
        raise ProblemError(403, "Operators only", "This needs an operator's key.")


def _bad_query(name: str, message: str, message_zh: str) -> ProblemError:
    return ProblemError(
        422,
        "Invalid request",
        errors=[
            {
                "pointer": f"/{name}",
                "in": "query",
                "code": "invalid",
                "message": message,
                "message_zh": message_zh,
            }
        ],
    )


def _in_utc_range(moment: datetime) -> bool:
    """Whether the time exists in UTC, as the store compares it: 0001-01-01T00:00+14:00
    and 9999-12-31T23:59-14:00 are valid ISO 8601 but fall outside `datetime`'s years."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


def _encode_cursor(birth: Birth) -> str:
    raw = json.dumps([birth.created_at.isoformat(), birth.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, birth_id = json.loads(raw)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None or not _in_utc_range(when) or not isinstance(birth_id, str):
            raise ValueError(cursor)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise _bad_query(
            "cursor", "not a cursor this API gave out", "不是本接口给出的分页游标"
        ) from None
    return when, birth_id


def _deadline_filter(urgency: Urgency, now: datetime, near: timedelta) -> ColumnElement[bool]:
    """Births with an open step whose legal deadline is past (or near)."""
    clauses = []
    for step, deadline in deadlines.LEGAL_DEADLINES.items():
        past_before = deadline.born_before(now)
        if urgency == "past":
            born = Birth.born_at < past_before
        else:
            born = and_(
                Birth.born_at >= past_before, Birth.born_at < deadline.born_before(now + near)
            )
        open_step = exists().where(
            StepRow.birth_id == Birth.id,
            StepRow.step == step.value,
            StepRow.state.not_in([s.value for s in deadlines.SETTLED]),
        )
        clauses.append(and_(born, open_step))
    return or_(*clauses)


@router.get("/v1/births", tags=["operators"])
async def list_births(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    status: Annotated[BirthStatus | None, Query(description="The birth's status.")] = None,
    step_state: Annotated[
        StepState | None, Query(description="Births with a step in this state.")
    ] = None,
    department: Annotated[
        Department | None,
        Query(
            description="With `step_state`: that department's step is in it; alone: "
            "births whose step at this department is not settled yet."
        ),
    ] = None,
    hospital: Annotated[str | None, Query(max_length=32, description="Hospital code.")] = None,
    created_from: Annotated[
        datetime | None, Query(description="Accepted at or after (ISO 8601 with offset).")
    ] = None,
    created_to: Annotated[datetime | None, Query(description="Accepted before.")] = None,
    deadline: Annotated[
        Urgency | None, Query(description="A legal deadline of an open step is near or past.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Births, newest first, filtered; `next_cursor` fetches the next page."""
    if principal.role == "hospital":
        if hospital not in (None, principal.hospital_code):
            raise ProblemError(403, "Wrong hospital", "A hospital key lists its own births only.")
        hospital = principal.hospital_code
    for name, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None and value.tzinfo is None:
            raise _bad_query(name, "give the time with its offset", "时间需带时区偏移")
        if value is not None and not _in_utc_range(value):
            raise _bad_query(
                name,
                "the time falls outside the years 1 to 9999 in UTC",
                "时间换算为 UTC 后超出 1 至 9999 年",
            )
    now = runtime.clock.now()
    query = select(Birth)
    if status:
        query = query.where(Birth.status == status.value)
    if hospital:
        query = query.where(Birth.hospital_code == hospital)
    if created_from:
        query = query.where(Birth.created_at >= created_from)
    if created_to:
        query = query.where(Birth.created_at < created_to)
    if step_state or department:
        conditions = [StepRow.birth_id == Birth.id]
        if step_state:
            conditions.append(StepRow.state == step_state.value)
        if department:
            conditions.append(StepRow.department == department.value)
            if not step_state:
                conditions.append(StepRow.state.not_in([s.value for s in deadlines.SETTLED]))
        query = query.where(exists().where(*conditions))
    if deadline:
        query = query.where(_deadline_filter(deadline, now, runtime.settings.deadline_near))
    if cursor:
        at, birth_id = _decode_cursor(cursor)
        query = query.where(
            or_(Birth.created_at < at, and_(Birth.created_at == at, Birth.id < birth_id))
        )
    query = query.order_by(Birth.created_at.desc(), Birth.id.desc()).limit(limit + 1)
    async with runtime.db.read() as session:
        births = list((await session.scalars(query)).all())
        page, more = births[:limit], len(births) > limit
        rows = (
            await session.scalars(select(StepRow).where(StepRow.birth_id.in_([b.id for b in page])))
        ).all()
    steps: dict[str, list[StepRow]] = {}
    for row in rows:
        steps.setdefault(row.birth_id, []).append(row)
    near = runtime.settings.deadline_near
    return {
        "births": [_summary(b, steps.get(b.id, []), now, near) for b in page],
        "next_cursor": _encode_cursor(page[-1]) if more else None,
    }


def _summary(birth: Birth, steps: list[StepRow], now: datetime, near: timedelta) -> dict[str, Any]:
    steps = sorted(steps, key=lambda r: STEP_ORDER[r.step])
    states = {Step(s.step): StepState(s.state) for s in steps}
    return {
        "birth_id": birth.id,
        "hospital_code": birth.hospital_code,
        "hospital_record_id": birth.hospital_record_id,
        "status": birth.status,
        "born_at": birth.born_at.isoformat(),
        "created_at": birth.created_at.isoformat(),
        "updated_at": birth.updated_at.isoformat(),
        "steps": [
            {
                "step": s.step,
                "department": s.department,
                "state": s.state,
                "attempt": s.attempt,
                "last_error": s.last_error,
                "next_attempt_at": s.next_attempt_at.isoformat() if s.next_attempt_at else None,
            }
            for s in steps
        ],
        "deadlines": deadlines.flags(birth.born_at, states, now, near),
        "links": links(birth.id),
    }


@router.post("/v1/births/{birth_id}/steps/{step}/retry", status_code=202, tags=["operators"])
async def retry_step(
    birth_id: str, step: Step, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Queue a `failed` or `rejected` step again (same idempotency key, fresh deadline)."""
    _operator(principal)
    outcome: dict[str, Any] = {}

    def retry(saga: Saga, now: datetime) -> None:
        view = saga.steps[step]
        outcome["was"] = view.state.value
        outcome["retried"] = saga.retry(step, now)
        outcome["state"], outcome["attempt"] = saga.steps[step].state.value, view.attempt

    found = await runtime.orchestrator.update(birth_id, retry, actor=principal.actor)
    if not found:
        raise ProblemError(404, "No such birth")
    if not outcome["retried"]:
        raise ProblemError(
            409,
            "Step not retryable",
            f"Only a failed or rejected step is retried; {step.value} is {outcome['was']}.",
            state=outcome["was"],
        )
    return {
        "birth_id": birth_id,
        "step": step.value,
        "state": outcome["state"],
        "attempt": outcome["attempt"],
        "actor": principal.actor,
        "links": links(birth_id),
    }


def _dead_letter_view(row: DeadLetterRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "queue": row.queue,
        "message_id": row.message_id,
        "type": row.type,
        "birth_id": row.birth_id,
        "step": row.step,
        "deaths": row.deaths,
        "dead_at": row.dead_at.isoformat(),
        "redriven_at": row.redriven_at.isoformat() if row.redriven_at else None,
        "redriven_by": row.redriven_by,
    }


@router.get("/v1/dead-letters", tags=["operators"])
async def dead_letters(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    include_redriven: Annotated[
        bool, Query(alias="all", description="Also those already re-driven.")
    ] = False,
) -> dict[str, Any]:
    """Messages their consumer kept failing on (the envelope is not shown: it can
    hold personal data)."""
    _operator(principal)
    rows = await list_dead_letters(runtime.db, waiting_only=not include_redriven)
    return {"dead_letters": [_dead_letter_view(r) for r in rows]}


@router.post("/v1/dead-letters/{dead_letter_id}/redrive", status_code=202, tags=["operators"])
async def redrive_one(
    dead_letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)],  # a BIGINT, or 422
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Publish a dead letter again through the outbox."""
    _operator(principal)
    done = await redrive(
        runtime.db, [dead_letter_id], actor=principal.actor, now=runtime.clock.now()
    )
    if not done:
        waiting = await list_dead_letters(runtime.db, waiting_only=False)
        if any(r.id == dead_letter_id for r in waiting):
            raise ProblemError(409, "Already re-driven")
        raise ProblemError(404, "No such dead letter")
    runtime.relay.wake()
    return _dead_letter_view(done[0])


@router.get("/metrics", tags=["operations"], response_class=Response)
async def prometheus_metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics (text format)."""
    body = await metrics.exposition(runtime.db, runtime.clock.now())
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
