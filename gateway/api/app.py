"""The gateway's HTTP API (FastAPI): births, tracking, callbacks, health."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.api import (
    births,
    callbacks,
    corrections,
    fhir,
    health,
    operators,
    problems,
    tracking,
)
from gateway.api.hostile import RefuseControlCharacters
from gateway.bootstrap import ALL_ROLES, Role, Runtime


def create_app(runtime: Runtime, *, roles: tuple[Role, ...] = ALL_ROLES) -> FastAPI:
    """The API over `runtime`; its lifespan starts and stops the runtime's roles."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(roles)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="birthlink",
        version="1",
        summary="One thing for a birth: one event, five departments.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    problems.install(app)
    app.add_middleware(RefuseControlCharacters)
    tracking.install(app, runtime.settings)  # the wrong-try counter and the page (/track)
    for router in (births.router, fhir.router, tracking.router, callbacks.router, health.router):
        app.include_router(router)
    app.include_router(corrections.router)
    app.include_router(operators.router)
    return app
