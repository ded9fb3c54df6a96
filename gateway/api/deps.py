"""FastAPI dependencies: the runtime, the caller, bounded request bodies,
validated path parameters and the per-key limit on intake.

Hostile bodies are refused before they are parsed: a media type other than
JSON (`415`), more than `max_body_bytes` (`413`, read no further), nested deeper
than `max_body_depth` (`400`: deep nesting is what makes parsers recurse) or
holding more than `max_body_items` values (`413`). The scan is a regular
expression over the raw bytes, so a refused body never becomes Python objects.
A number longer than Python converts (`sys.get_int_max_str_digits()`, 4,300
digits) is a `400` too: no field takes one.
"""

import json
import math
import re
import sys
import time
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.problems import ProblemError
from gateway.bootstrap import Runtime
from gateway.security.keys import Principal
from gateway.store.tables import Birth


# The dependencies are `async def` even where they await nothing: FastAPI runs a
# plain `def` dependency in its thread pool, a thread hop on every request.
async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="birthlink"'}
MAX_AUTHORIZATION = 256  # a key is ~70 characters; anything far longer is not one


async def get_principal(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """The hospital or operator behind the bearer key; 401 otherwise."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise ProblemError(
            401, "Missing API key", "Send Authorization: Bearer <key>.", headers=UNAUTHORIZED
        )
    if len(key) > MAX_AUTHORIZATION or not key.isascii():
        raise ProblemError(401, "Invalid API key", headers=UNAUTHORIZED)
    principal = await runtime.principal(key.strip())
    if principal is None:
        raise ProblemError(401, "Invalid API key", headers=UNAUTHORIZED)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]

BIRTH_ID = re.compile(r"^[0-9a-f]{32}$")


async def birth_id_path(
    birth_id: Annotated[str, Path(description="The birth's id (32 hex).")],
) -> str:
    """Birth ids are uuid4 hex; anything else is unknown (`404`, as for a birth
    the caller may not see) and never reaches the store."""
    if not BIRTH_ID.match(birth_id):
        raise ProblemError(404, "No such birth")
    return birth_id


BirthId = Annotated[str, Depends(birth_id_path)]


# Strings first (their brackets and commas do not count), then the structure.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_STRUCTURE = re.compile(rb"[\[\]{},]")


def check_shape(body: bytes, *, max_depth: int, max_items: int) -> None:
    """Refuse a JSON text nested deeper than `max_depth` or with more than
    `max_items` values in its objects and arrays."""
    depth = deepest = 0
    items = 0
    for mark in _STRUCTURE.findall(_STRING.sub(b'""', body)):
        if mark in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            items += 1
        elif mark == b",":
            items += 1
        else:
            depth -= 1
        if deepest > max_depth:
            raise ProblemError(400, "Body nested too deeply", f"At most {max_depth} levels.")
        if items > max_items:
            raise ProblemError(413, "Too many items", f"At most {max_items} values.")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than `limit` bytes before reading them."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProblemError(413, "Body too large", f"At most {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise ProblemError(413, "Body too large", f"At most {limit} bytes.")
    return bytes(body)


JSON_MEDIA_TYPES = ("application/json",)


def require_media_type(request: Request, accepted: tuple[str, ...] = JSON_MEDIA_TYPES) -> None:
    """`415` unless the body is declared as one of `accepted` (parameters such as
    `charset` aside): a form or plain text is not read as JSON by accident."""
    declared = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if declared not in accepted:
        raise ProblemError(
            415,
            "Unsupported media type",
            f"Send the body as {' or '.join(accepted)}.",
            headers={"Accept-Post": ", ".join(accepted)},
        )


class NumberTooLongError(ValueError):
    """A JSON number with more digits than Python converts."""


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > sys.get_int_max_str_digits():
        raise NumberTooLongError(len(text))
    return int(text)


def parse_json(body: bytes, *, max_depth: int, max_items: int) -> Any:
    """A bounded JSON body as Python values; `400` (or `413`) when it is not one."""
    check_shape(body, max_depth=max_depth, max_items=max_items)
    try:
        return json.loads(body, parse_int=_bounded_int)
    except NumberTooLongError:
        raise ProblemError(
            400,
            "Number too long",
            f"A number has more than {sys.get_int_max_str_digits()} digits; no field takes one.",
        ) from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ProblemError(
            400,
            "Malformed JSON",
            f"The body is not JSON: {exc.__class__.__name__}.",
        ) from None


async def read_json(
    request: Request, limit: int, media_types: tuple[str, ...] = JSON_MEDIA_TYPES
) -> Any:
    """The request's JSON body, of a JSON media type, bounded in size, depth and
    number of values."""
    require_media_type(request, media_types)
    body = await read_body(request, limit)
    settings = runtime_of(request).settings
    return parse_json(body, max_depth=settings.max_body_depth, max_items=settings.max_body_items)


async def limit_intake(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> None:
    """At most `intake_rate_limit` posts per hospital key; `429` + `Retry-After` beyond."""
    limiter: IntakeLimiter | None = getattr(request.app.state, "intake_limiter", None)
    if limiter is None:
        settings = runtime.settings
        limiter = IntakeLimiter(settings.intake_rate_limit, settings.rate_limit_storage)
        request.app.state.intake_limiter = limiter
    wait = await limiter.hit(principal.key_prefix or principal.actor)
    if wait is not None:
        raise ProblemError(
            429,
            "Too many requests",
            f"This key may post {runtime.settings.intake_rate_limit}.",
            headers={"Retry-After": str(wait)},
        )


class IntakeLimiter:
    """Posts per hospital key in a moving window (`limits`); counted in this
    process's memory unless `rate_limit_storage` names a shared store (Redis)."""

    def __init__(self, limit: str, storage: str = "async+memory://") -> None:
        self._item = parse(limit)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage))

    async def hit(self, key: str) -> int | None:
        """Count a post; None when allowed, else the seconds to wait."""
        if await self._limiter.hit(self._item, "intake", key):
            return None
        stats = await self._limiter.get_window_stats(self._item, "intake", key)
        return max(1, math.ceil(stats.reset_time - time.time()))


IntakeLimitDep = Annotated[None, Depends(limit_intake)]


async def visible_birth(runtime: Runtime, principal: Principal, birth_id: str) -> Birth:
    """The birth if this caller may see it; 404 otherwise (no hint that it exists)."""
    async with runtime.db.read() as session:
        return await visible_birth_in(session, principal, birth_id)


async def visible_birth_in(session: AsyncSession, principal: Principal, birth_id: str) -> Birth:
    """`visible_birth` in a read that goes on (what it shows then agrees with it)."""
    birth = await session.get(Birth, birth_id)
    if birth is None or (
        principal.role == "hospital" and birth.hospital_code != principal.hospital_code
    ):
        raise ProblemError(404, "No such birth")
    return birth
