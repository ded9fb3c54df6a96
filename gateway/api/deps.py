"""FastAPI dependencies: the runtime, the caller, bounded request bodies."""

import json
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from gateway.api.problems import ProblemError
from gateway.bootstrap import Runtime
from gateway.keys import Principal, authenticate


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="birthlink"'}


async def get_principal(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """The hospital or operator behind the bearer key; 401 otherwise."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise ProblemError(
            401, "Missing API key", "Send Authorization: Bearer <key>.", headers=UNAUTHORIZED
        )
    async with runtime.db.read() as session:
        principal = await authenticate(session, key.strip())
    if principal is None:
        raise ProblemError(401, "Invalid API key", headers=UNAUTHORIZED)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body, refusing more than `limit` bytes before reading them."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProblemError(413, "Body too large", f"At most {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise ProblemError(413, "Body too large", f"At most {limit} bytes.")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProblemError(
            400,
            "Malformed JSON",
            f"The body is not JSON: {exc.__class__.__name__}.",
        ) from None
