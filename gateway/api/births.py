"""Hospitals post births and read them back; the schema is public."""

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from contracts.birth import BirthEvent
from contracts.problems import (
    BirthEventInvalid,
    birth_event_json_schema,
    normalisation_notes,
    parse_birth_event,
)
from gateway.api.corrections import duplicate_problem
from gateway.api.deps import (
    BirthId,
    IntakeLimitDep,
    PrincipalDep,
    RuntimeDep,
    read_json,
    visible_birth,
    visible_birth_in,
)
from gateway.api.fhir import fhir_response, is_fhir, post_fhir_birth, wants_fhir
from gateway.api.problems import ProblemError, invalid_event
from gateway.bootstrap import Runtime
from gateway.fhir.tasks import task_bundle
from gateway.security.keys import Principal
from gateway.services.intake import accept
from gateway.views import birth_view, history_view, links

router = APIRouter()

BIRTH_EVENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "/v1/schemas/birth-event.json"}},
            "application/fhir+json": {
                "schema": {"type": "object", "description": "A FHIR R4/R4B Bundle (docs/fhir.md)"}
            },
        },
    }
}


# OpenAPI links (what a client, or schemathesis' stateful phase, may do next with
# the answer's birth_id and tracking_code), by the operation ids FastAPI derives.
_BY_ID = {"birth_id": "$response.body#/birth_id"}
BIRTH_LINKS = {
    "GetBirth": {"operationId": "get_birth_v1_births__birth_id__get", "parameters": _BY_ID},
    "GetHistory": {
        "operationId": "get_history_v1_births__birth_id__history_get",
        "parameters": _BY_ID,
    },
    "CorrectBirth": {
        "operationId": "post_correction_v1_births__birth_id__corrections_post",
        "parameters": _BY_ID,
    },
    "CancelBirth": {
        "operationId": "post_cancel_v1_births__birth_id__cancel_post",
        "parameters": _BY_ID,
    },
    "TrackBirth": {
        "operationId": "track_v1_track__tracking_code__get",
        "parameters": {"tracking_code": "$response.body#/tracking_code"},
    },
}


@router.get("/v1/schemas/birth-event.json", tags=["schemas"])
async def birth_event_schema() -> dict[str, Any]:
    """The birth event v1 as JSON Schema."""
    return birth_event_json_schema()


@router.post(
    "/v1/births",
    status_code=202,
    tags=["births"],
    openapi_extra=BIRTH_EVENT_BODY,
    responses={
        202: {"description": "Accepted", "links": BIRTH_LINKS},
        200: {"description": "The same birth, posted again", "links": BIRTH_LINKS},
        400: {
            "description": "A FHIR body that is not a FHIR Bundle (docs/fhir.md)",
            "content": {"application/fhir+json": {"schema": {"type": "object"}}},
        },
        415: {"description": "The body is not sent as application/json or application/fhir+json"},
    },
)
async def post_birth(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, _limit: IntakeLimitDep
) -> Response:
    """Accept one birth event: 202 with a tracking id (and `notes` on what was accepted
    in another form, a name's middle dot), or every wrong field named."""
    if principal.role != "hospital":
        raise ProblemError(403, "Only hospitals post births")
    if is_fhir(request):  # a FHIR Bundle (SPEC §12): mapped, then the same path
        return await post_fhir_birth(request, runtime, principal, accept_event)
    data = await read_json(request, runtime.settings.max_body_bytes)
    try:
        event = parse_birth_event(data, now=runtime.clock.now())
    except BirthEventInvalid as invalid:
        raise invalid_event(invalid, "Invalid birth event") from None
    return await accept_event(runtime, principal, event, data)


async def accept_event(
    runtime: Runtime, principal: Principal, event: BirthEvent, data: Any
) -> JSONResponse:
    """A valid event of this hospital through intake: the answer, or a ProblemError
    (JSON and FHIR posts alike)."""
    if event.hospital.code != principal.hospital_code:
        raise ProblemError(
            403,
            "Wrong hospital",
            "This key is bound to another hospital code.",
            errors=[
                {
                    "pointer": "/hospital/code",
                    "code": "not_your_hospital",
                    "message": "the key does not belong to this hospital",
                    "message_zh": "该密钥不属于此医疗机构",
                }
            ],
        )
    result = await accept(
        runtime.uow,
        event,
        data,
        actor=principal.actor,
    )
    if result.outcome == "duplicate":
        raise duplicate_problem(result)
    if result.outcome == "conflict":
        raise ProblemError(
            409,
            "Another body under the same hospital_record_id",
            "This hospital_record_id was posted before with different content; "
            "send a correction instead.",
            birth_id=result.birth_id,
        )
    body: dict[str, Any] = {
        "birth_id": result.birth_id,
        "tracking_code": result.tracking_code,
        "status": result.status,
        "links": links(result.birth_id),
    }
    # What was accepted in another form than posted (a name's middle dot): said, so
    # that the hospital can see it and update its own records. Only when there is any.
    notes = normalisation_notes(data, event) if isinstance(data, dict) else []
    if notes:
        body["notes"] = [note.model_dump() for note in notes]
    status = 202 if result.outcome == "created" else 200
    return JSONResponse(
        body, status_code=status, headers={"Location": links(result.birth_id)["self"]}
    )


@router.get(
    "/v1/births/{birth_id}",
    tags=["births"],
    responses={
        200: {
            "content": {
                "application/fhir+json": {
                    "schema": {
                        "type": "object",
                        "description": "With Accept: application/fhir+json, a searchset "
                        "Bundle of one Task per step (docs/fhir.md)",
                    }
                }
            }
        }
    },
)
async def get_birth(
    request: Request, birth_id: BirthId, runtime: RuntimeDep, principal: PrincipalDep
) -> Any:
    """The birth: status, each step, versions; with `Accept: application/fhir+json`, a
    searchset Bundle of one FHIR Task per step (docs/fhir.md)."""
    async with runtime.db.read() as session:
        birth = await visible_birth_in(session, principal, birth_id)
        view = await birth_view(session, runtime.registry, birth)
    if wants_fhir(request):
        return fhir_response(task_bundle(view, runtime.registry))
    return view


@router.get("/v1/births/{birth_id}/history", tags=["births"])
async def get_history(
    birth_id: BirthId, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Every transition, oldest first."""
    await visible_birth(runtime, principal, birth_id)
    async with runtime.db.read() as session:
        return {"birth_id": birth_id, "events": await history_view(session, birth_id)}
