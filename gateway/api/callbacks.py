"""`POST /v1/callbacks/{department}`: signed answers from departments.

A signed body is still bounded like any other: nested too deeply or with too
many values it is `400`/`413` before it is parsed, like a posted birth.
"""

import hashlib
from datetime import datetime

import structlog
from fastapi import APIRouter, Header, Request, Response
from sqlalchemy import select

from contracts.steps import Department, Step
from gateway.api.deps import RuntimeDep, parse_json
from gateway.api.problems import ProblemError
from gateway.callbacks import CallbackError, parse_callback, valid_secrets, verify_any
from gateway.metrics import CALLBACKS
from gateway.saga.machine import Saga
from gateway.store.tables import StepRow

router = APIRouter()
log = structlog.get_logger()


@router.post("/v1/callbacks/{department}", status_code=204, tags=["callbacks"])
async def department_callback(
    department: Department,
    request: Request,
    runtime: RuntimeDep,
    x_birthlink_signature: str | None = Header(default=None),
) -> Response:
    """A department finished a request it accepted earlier."""
    body = await request.body()
    if len(body) > runtime.settings.max_body_bytes:
        raise ProblemError(413, "Body too large")
    async with runtime.db.read() as session:
        secrets = await valid_secrets(
            session,
            department.value,
            runtime.settings.department_secret(department.value),
            now=runtime.clock.now(),
        )
    ok = verify_any(
        x_birthlink_signature,
        body,
        secrets,
        now=int(runtime.clock.now().timestamp()),
        tolerance_s=runtime.settings.callback_tolerance_s,
    )
    if not ok:
        log.warning("callback.refused", department=department.value)
        CALLBACKS.labels(department.value, "bad_signature").inc()
        raise ProblemError(401, "Bad or stale signature")
    try:
        data = parse_json(
            body,
            max_depth=runtime.settings.max_body_depth,
            max_items=runtime.settings.max_body_items,
        )
    except ProblemError:  # too deep, too many values, not JSON: signed or not, refused
        CALLBACKS.labels(department.value, "malformed").inc()
        raise
    try:
        callback = parse_callback(department.value, data)
    except (ValueError, CallbackError) as exc:
        CALLBACKS.labels(department.value, "malformed").inc()
        raise ProblemError(400, "Malformed callback", str(exc)) from None
    async with runtime.db.read() as session:
        row = await session.scalar(
            select(StepRow).where(
                StepRow.department == department.value,
                StepRow.department_ref == callback.reference,
            )
        )
    if row is None:
        # Not known (yet): a callback can overtake the adapter's reply that
        # carries the reference. 404 asks the department to try again later;
        # polling completes the step if it gives up (docs: issue 3 decision).
        CALLBACKS.labels(department.value, "unknown_reference").inc()
        raise ProblemError(404, "Unknown reference")
    step = Step(row.step)

    def apply(saga: Saga, now: datetime) -> None:
        saga.on_reply(step, callback.reply, saga.steps[step].attempt, now)

    await runtime.orchestrator.update(
        row.birth_id,
        apply,
        actor=f"department:{department.value}",
        inbox=(f"callback:{department.value}", hashlib.sha256(body).hexdigest()),
    )
    CALLBACKS.labels(department.value, "accepted").inc()
    log.info("callback.accepted", department=department.value, birth_id=row.birth_id)
    return Response(status_code=204)
