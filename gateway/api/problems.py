"""Errors as `application/problem+json` (RFC 9457), never a stack trace."""

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.problems import BirthEventInvalid
from gateway.store.db import store_unavailable

log = structlog.get_logger()

PROBLEM_JSON = "application/problem+json"
# When to try again while the saga store is down (a restart takes seconds).
STORE_RETRY_AFTER_S = 5


class ProblemError(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail
        self.errors, self.headers, self.extra = errors, headers, extra


def invalid_event(invalid: BirthEventInvalid, title: str, fields: str = "field(s)") -> ProblemError:
    """`422` naming every wrong field of a birth event, posted or corrected."""
    return ProblemError(
        422,
        title,
        f"{len(invalid.problems)} {fields} are wrong.",
        errors=[p.model_dump() for p in invalid.problems],
    )


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _pointer(loc: tuple[Any, ...]) -> str:
    # FastAPI's loc starts with where the value came from: body, path, query, header.
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in loc[1:])


class StoreUnavailable:
    """Pure ASGI middleware: a request that failed because the saga store cannot
    be reached is a `503` with `Retry-After`, not an internal error (answered
    here, inside Starlette's error middleware, which would re-raise to the
    server and have it drop the connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if scope["type"] != "http" or started or not store_unavailable(exc):
                raise
            log.warning("api.store_unavailable", path=scope["path"], error=type(exc).__name__)
            response = problem_response(
                503,
                "Service unavailable",
                "The saga store cannot be reached for now. Try again; "
                "a repeated post never creates a second birth.",
                instance=scope["path"],
                headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
            )
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Route every error through problem+json."""
    app.add_middleware(StoreUnavailable)

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            instance=request.url.path,
            errors=exc.errors,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return problem_response(
            exc.status_code,
            str(exc.detail),
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "pointer": _pointer(tuple(err["loc"])),
                "in": str(err["loc"][0]) if err["loc"] else "request",
                "code": err["type"],
                "message": err["msg"],
                "message_zh": "请求参数无效",
            }
            for err in exc.errors()
        ]
        return problem_response(422, "Invalid request", instance=request.url.path, errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("api.unexpected_error", path=request.url.path, error=type(exc).__name__)
        return problem_response(500, "Internal error", instance=request.url.path)
