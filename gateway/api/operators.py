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
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from contracts.steps import BirthStatus, StepState
from gateway import metrics
from gateway.api.deps import PrincipalDep, RuntimeDep
from gateway.api.problems import ProblemError
from gateway.security.keys import Principal
from gateway.services import operators
from gateway.store.tables import DeadLetterRow
from gateway.views import BirthFilter, Urgency, links
from gateway.workers.deadletters import list_dead_letters, redrive

router = APIRouter()


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


def _encode_cursor(birth: dict[str, Any]) -> str:
    raw = json.dumps([birth["created_at"], birth["birth_id"]]).encode()
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


@router.get("/v1/births", tags=["operators"])
async def list_births(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    status: Annotated[BirthStatus | None, Query(description="The birth's status.")] = None,
    step_state: Annotated[
        StepState | None, Query(description="Births with a step in this state.")
    ] = None,
    department: Annotated[
        str | None,
        Query(
            description="With `step_state`: that department's step is in it; alone: "
            "births whose step at this department is not settled yet.",
            max_length=32,
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
    if department is not None and department not in runtime.registry.departments:
        raise _bad_query("department", "no step is done by this department", "没有该部门办理的事项")
    query = BirthFilter(
        status=status,
        step_state=step_state,
        department=department,
        hospital=hospital,
        created_from=created_from,
        created_to=created_to,
        deadline=deadline,
        after=_decode_cursor(cursor) if cursor else None,
    )
    births, more = await runtime.find_births(query, limit=limit)
    return {"births": births, "next_cursor": _encode_cursor(births[-1]) if more else None}


@router.post("/v1/births/{birth_id}/steps/{step}/retry", status_code=202, tags=["operators"])
async def retry_step(
    birth_id: str, step: str, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Queue a `failed` or `rejected` step again (same idempotency key, fresh deadline)."""
    _operator(principal)
    if step not in runtime.registry:
        raise ProblemError(
            422,
            "Invalid request",
            errors=[
                {
                    "pointer": "/step",
                    "in": "path",
                    "code": "unknown_step",
                    "message": f"no step is called {step!r} here",
                    "message_zh": "没有这个办理事项",
                }
            ],
        )
    outcome = await operators.retry_step(runtime.uow, birth_id, step, actor=principal.actor)
    if outcome is None:
        raise ProblemError(404, "No such birth")
    if not outcome.retried:
        raise ProblemError(
            409,
            "Step not retryable",
            f"Only a failed or rejected step is retried; {step} is {outcome.was}.",
            state=outcome.was,
        )
    return {
        "birth_id": birth_id,
        "step": step,
        "state": outcome.state,
        "attempt": outcome.attempt,
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
