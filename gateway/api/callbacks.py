"""`POST /v1/callbacks/{department}`: signed answers from departments.

A signed body is still bounded like any other: nested too deeply or with too
many values it is `400`/`413` before it is parsed, like a posted birth. The
signature is checked against secrets held in memory; a good callback is put on
the orchestrator's queue, to be applied with the adapters' replies in batches,
and answered `202` once the bus has it. An unknown reference is `404` and an
answer the saga would refuse `422` at once (the refusal is still recorded).
"""

import hashlib

import structlog
from fastapi import APIRouter, Header, Request, Response

from bus.base import BusError
from bus.topology import RESULTS_EXCHANGE
from gateway.api.deps import RuntimeDep, parse_json
from gateway.api.problems import ProblemError
from gateway.metrics import CALLBACKS
from gateway.security.callbacks import CallbackError, parse_callback, verify_any
from gateway.services.replies import callback_envelope, check_callback

router = APIRouter()
log = structlog.get_logger()


@router.post("/v1/callbacks/{department}", status_code=202, tags=["callbacks"])
async def department_callback(
    department: str,
    request: Request,
    runtime: RuntimeDep,
    x_birthlink_signature: str | None = Header(default=None),
) -> Response:
    """A department finished a request it accepted earlier."""
    if department not in runtime.registry.departments:
        raise ProblemError(404, "No such department")
    body = await request.body()
    if len(body) > runtime.settings.max_body_bytes:
        raise ProblemError(413, "Body too large")
    assert runtime.callback_secrets is not None
    secrets = await runtime.callback_secrets.valid(
        department, runtime.settings.department_secret(department), now=runtime.clock.now()
    )
    ok = verify_any(
        x_birthlink_signature,
        body,
        secrets,
        now=int(runtime.clock.now().timestamp()),
        tolerance_s=runtime.settings.callback_tolerance_s,
    )
    if not ok:
        log.warning("callback.refused", department=department)
        CALLBACKS.labels(department, "bad_signature").inc()
        raise ProblemError(401, "Bad or stale signature")
    try:
        data = parse_json(
            body,
            max_depth=runtime.settings.max_body_depth,
            max_items=runtime.settings.max_body_items,
        )
    except ProblemError:  # too deep, too many values, not JSON: signed or not, refused
        CALLBACKS.labels(department, "malformed").inc()
        raise
    try:
        callback = parse_callback(runtime.callback_readers, department, data)
    except (ValueError, CallbackError) as exc:
        CALLBACKS.labels(department, "malformed").inc()
        raise ProblemError(400, "Malformed callback", str(exc)) from None
    checked = await check_callback(runtime.uow, department, callback)
    if checked is None:
        # Not known (yet): a callback can overtake the adapter's reply that
        # carries the reference. 404 asks the department to try again later;
        # polling completes the step if it gives up (docs: issue 3 decision).
        CALLBACKS.labels(department, "unknown_reference").inc()
        raise ProblemError(404, "Unknown reference")
    envelope = callback_envelope(department, checked, callback, hashlib.sha256(body).hexdigest())
    try:
        await runtime.transport.publish(
            envelope, exchange=RESULTS_EXCHANGE, routing_key=f"{department}.callback"
        )
    except BusError:
        log.warning("callback.not_queued", department=department, birth_id=checked.birth_id)
        raise ProblemError(503, "Try again later") from None
    if checked.refused:
        # Checked like any input: the step keeps waiting, operators see why.
        CALLBACKS.labels(department, "refused_output").inc()
        log.warning("callback.output_refused", department=department, birth_id=checked.birth_id)
        raise ProblemError(422, "Answer refused", checked.refused)
    CALLBACKS.labels(department, "accepted").inc()
    log.debug("callback.accepted", department=department, birth_id=checked.birth_id)
    return Response(status_code=202)
