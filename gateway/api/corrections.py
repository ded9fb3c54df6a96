"""Corrections and cancellation of a birth, and the duplicate answer of intake.

`POST /v1/births/{id}/corrections` takes a JSON merge patch (RFC 7396) on the
event, validated like a new event: `202` with the new version, `422` naming
every wrong field, `415` for a body that is neither `application/json` nor
`application/merge-patch+json`, `409` when the saga cannot apply it (a
cancelled birth, who the child is registered with after the household
registration was sent).
`POST /v1/births/{id}/cancel` takes `{"reason"}`: `202`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from contracts.problems import BirthEventInvalid
from gateway.api.deps import JSON_MEDIA_TYPES, PrincipalDep, RuntimeDep, read_json, visible_birth
from gateway.api.problems import ProblemError, invalid_event
from gateway.saga.machine import CorrectionRefusedError
from gateway.services import corrections
from gateway.services.intake import Intake
from gateway.views import links

router = APIRouter(tags=["births"])

MERGE_PATCH = "application/merge-patch+json"
MERGE_PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            MERGE_PATCH: {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def duplicate_problem(result: Intake) -> ProblemError:
    """The `409` of a likely duplicate; the existing birth is named to its own hospital."""
    detail = (
        "A birth of the same mother, birth time and birth order was reported under "
        "another hospital_record_id. If this is a different birth, post it again with "
        '"duplicate_of_checked": true.'
    )
    extra: dict[str, Any] = {"code": "likely_duplicate"}
    if result.same_hospital:
        extra["birth_id"] = result.birth_id
        extra["existing"] = links(result.birth_id)["self"]
    else:
        detail += " It was reported by another hospital."
    return ProblemError(409, "Likely duplicate birth", detail, **extra)


@router.post("/v1/births/{birth_id}/corrections", status_code=202, openapi_extra=MERGE_PATCH_BODY)
async def post_correction(
    birth_id: str, request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> JSONResponse:
    """Correct the birth event with a JSON merge patch; every version is kept."""
    await visible_birth(runtime, principal, birth_id)
    patch = await read_json(
        request, runtime.settings.max_body_bytes, (*JSON_MEDIA_TYPES, MERGE_PATCH)
    )
    if not isinstance(patch, dict):
        raise ProblemError(
            422,
            "Invalid correction",
            "A correction is a JSON merge patch: an object.",
            errors=[
                {
                    "pointer": "",
                    "code": "wrong_type",
                    "message": "must be a JSON object",
                    "message_zh": "必须是 JSON 对象",
                }
            ],
        )
    try:
        result = await corrections.correct(
            runtime.uow,
            birth_id,
            patch,
            actor=principal.actor,
        )
    except BirthEventInvalid as invalid:
        fields = "field(s) of the corrected event"
        raise invalid_event(invalid, "Invalid correction", fields) from None
    except CorrectionRefusedError as refused:
        raise ProblemError(409, "Correction refused", refused.reason) from None
    if result is None:
        raise ProblemError(404, "No such birth")
    body = {
        "birth_id": birth_id,
        "event_version": result.event_version,
        "status": result.status,
        "links": links(birth_id),
    }
    if result.notes:  # accepted in another form than sent (a name's middle dot): said
        body["notes"] = [note.model_dump() for note in result.notes]
    if not result.changed:  # the patch changes nothing: no new version
        return JSONResponse(body, status_code=200)
    return JSONResponse(body, status_code=202, headers={"Location": links(birth_id)["self"]})


@router.post("/v1/births/{birth_id}/cancel", status_code=202)
async def post_cancel(
    birth_id: str,
    cancellation: Annotated[corrections.Cancellation, Body()],
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Cancel a birth reported in error: what was done is revoked, in reverse order."""
    await visible_birth(runtime, principal, birth_id)
    status = await corrections.cancel(
        runtime.uow, birth_id, cancellation.reason, actor=principal.actor
    )
    if status is None:
        raise ProblemError(404, "No such birth")
    # `cancelling` until the departments have revoked what they hold.
    return {"birth_id": birth_id, "status": status, "links": links(birth_id)}
