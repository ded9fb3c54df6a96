"""FHIR at the HTTP edge (SPEC §12): Bundles posted to `/v1/births` as
`application/fhir+json`, birthlink's Questionnaire, and the content negotiation of
`GET /v1/births/{id}`. The Bundle is mapped to the birth event (gateway.fhir.bundle)
and then takes exactly the JSON path: the contract's validation, the hospital
check, and intake (duplicate rule, idempotency, saga). Every error of that path is
answered as an OperationOutcome; nothing is stored on error."""

import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from contracts.birth import BirthEvent
from contracts.problems import BirthEventInvalid, FieldProblem, parse_birth_event
from gateway.api.deps import read_json
from gateway.api.problems import ProblemError
from gateway.bootstrap import Runtime
from gateway.fhir.bundle import NotFhir, map_bundle, parse_bundle
from gateway.fhir.outcome import FHIR_JSON, issue, outcome, whole_request
from gateway.fhir.questionnaire import QUESTIONNAIRE_PATH, questionnaire
from gateway.security.keys import Principal

router = APIRouter()

# FHIR's own MIME parameter: R4 is 4.0, R4B 4.3 (absent: either).
FHIR_VERSIONS: Final = frozenset({"4.0", "4.0.1", "4.3", "4.3.0"})

Accept = Callable[[Runtime, Principal, BirthEvent, Any], Awaitable[JSONResponse]]


def _media_type(value: str) -> tuple[str, dict[str, str]]:
    kind, *params = value.split(";")
    pairs = (p.split("=", 1) for p in params if "=" in p)
    return kind.strip().lower(), {k.strip().lower(): v.strip().strip('"') for k, v in pairs}


def is_fhir(request: Request) -> bool:
    """Whether the body is declared as FHIR JSON."""
    return _media_type(request.headers.get("content-type", ""))[0] == FHIR_JSON


def wants_fhir(request: Request) -> bool:
    """Whether the client asks for FHIR JSON (`Accept: application/fhir+json`)."""
    accepted = [_media_type(part)[0] for part in request.headers.get("accept", "").split(",")]
    return FHIR_JSON in accepted


def fhir_response(body: dict[str, Any], status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers or None)


def _problem_outcome(exc: ProblemError, where: Callable[[str], str] | None) -> JSONResponse:
    """A ProblemError of the shared path, as an OperationOutcome with the same status."""
    issues = []
    for error in exc.errors or []:
        pointer = str(error.get("pointer", ""))
        problem = FieldProblem(
            pointer=pointer,
            code=str(error.get("code", "invalid")),
            message=str(error.get("message", exc.title)),
            message_zh=str(error.get("message_zh", "取值无效")),
        )
        issues.append(issue(where(pointer) if where else None, problem))
    if not issues:
        code = str(exc.extra.get("code") or ("conflict" if exc.status == 409 else "request"))
        issues.append(whole_request(exc.status, exc.title, exc.detail, code))
        if "birth_id" in exc.extra:  # the birth already there, for its own hospital
            issues[-1]["diagnostics"] += f" (birth_id {exc.extra['birth_id']})"
    headers = dict(exc.headers or {})
    return fhir_response(outcome(issues), exc.status, **headers)


async def post_fhir_birth(
    request: Request, runtime: Runtime, principal: Principal, accept: Accept
) -> Response:
    """A FHIR Bundle posted as a birth: mapped, validated like JSON, accepted."""
    _, params = _media_type(request.headers.get("content-type", ""))
    version = params.get("fhirversion")
    if version is not None and version not in FHIR_VERSIONS:
        return _problem_outcome(
            ProblemError(
                415,
                "Unsupported FHIR version",
                f"Send R4 (fhirVersion=4.0) or R4B (fhirVersion=4.3), not {version[:20]}.",
            ),
            None,
        )
    try:
        data = await read_json(request, runtime.settings.max_body_bytes, (FHIR_JSON,))
        bundle = parse_bundle(data)
    except ProblemError as exc:
        return _problem_outcome(exc, None)
    except NotFhir as exc:
        return fhir_response(outcome([issue(at, p) for at, p in exc.problems]), 400)
    mapped = map_bundle(bundle)
    problems = [issue(at, p) for at, p in mapped.problems]
    try:
        event = parse_birth_event(mapped.data, now=runtime.clock.now())
    except BirthEventInvalid as invalid:
        taken = {p.pointer for _, p in mapped.problems}
        problems += [
            issue(mapped.expression(p.pointer), p)
            for p in invalid.problems
            if not any(p.pointer == t or p.pointer.startswith(t + "/") for t in taken)
        ]
    if problems:
        return fhir_response(outcome(problems), 422)
    try:
        answer = await accept(runtime, principal, event, mapped.data)
    except ProblemError as exc:
        return _problem_outcome(exc, mapped.expression)
    body = json.loads(bytes(answer.body))
    if body.get("notes"):  # what was accepted in another form: where, in the Bundle
        for note in body["notes"]:
            note["expression"] = mapped.expression(note["pointer"])
        answer = JSONResponse(body, status_code=answer.status_code, headers=answer.headers)
    return answer


@router.get(QUESTIONNAIRE_PATH, tags=["fhir"])
async def birth_application_questionnaire() -> Response:
    """birthlink's Questionnaire for the parents' application, generated from the
    birth event contract: each item's linkId is the contract field's dotted path."""
    return fhir_response(questionnaire())
