"""The sandbox app: the five departments under one ASGI app, and their background loop.

Routes: ``/nhc``, ``/cdc``, ``/mps``, ``/nhsa``, ``/hrss`` (each with its
``/_sandbox`` controls) and ``GET /healthz``.

Who starts the background loop (later answers and their callbacks):

- served on its own (``uvicorn sandbox.app:app_factory --factory``,
  ``birthlink sandbox``), the app's lifespan calls :meth:`Sandbox.start` and
  :meth:`Sandbox.stop`;
- mounted in another app (``birthlink up`` mounts it at ``/sandbox``),
  Starlette does not run the mounted app's lifespan, so the host calls
  ``await sandbox.start()`` and ``await sandbox.stop()`` in its own lifespan
  (or uses ``async with sandbox:``).

The lifespan does nothing when the sandbox is already started, and then leaves
stopping to whoever started it, so both at once are harmless.
"""

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

import structlog
from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response

from sandbox import cdc, controls, hrss, mps, nhc, nhsa, sms, wjw
from sandbox.callbacks import CallbackSender
from sandbox.citizen_id import CitizenIdRegistry
from sandbox.department import Clock, Department, ErrorRenderer, utc_now
from sandbox.errors import EarlyAnswerError
from sandbox.later import LaterAnswer, Sweeper
from sandbox.settings import DepartmentName, SandboxSettings

log = structlog.get_logger(__name__)

_ERROR_SHAPES: dict[DepartmentName, ErrorRenderer] = {
    "nhc": nhc.render_error,
    "cdc": cdc.render_error,
    "mps": mps.render_error,
    "nhsa": nhsa.render_error,
    "hrss": hrss.render_error,
    "wjw": wjw.render_error,
}


async def _answer(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, EarlyAnswerError):
        raise exc
    return exc.response


class Sandbox:
    """The simulated departments: :attr:`app` serves them, :meth:`start` runs
    the background loop that gives their later answers."""

    def __init__(self, settings: SandboxSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        rng = random.Random()
        self.departments: dict[DepartmentName, Department] = {
            name: Department(name, render, clock=clock, default_delay_s=settings.later_delay_s,
                             rng=rng)
            for name, render in _ERROR_SHAPES.items()
        }
        self.callbacks = CallbackSender(settings, clock)
        later: list[LaterAnswer] = [
            mps.HukouReview(self.departments["mps"], CitizenIdRegistry()),
            hrss.CardMaking(self.departments["hrss"], rng),
        ]
        self._sweeper = Sweeper(later, self.callbacks, settings.sweep_interval_s)
        self.sms = sms.SmsGateway(clock)
        self.app = self._build_app()

    @property
    def running(self) -> bool:
        """Whether the background loop runs."""
        return self._sweeper.running

    async def start(self) -> None:
        """Start the background loop (no-op when it runs already)."""
        if self.running:
            return
        await self._sweeper.start()
        log.info("sandbox.started", gateway_url=self.settings.gateway_url)

    async def stop(self) -> None:
        """Stop the background loop; callbacks still under way are abandoned."""
        was_running = self.running
        await self._sweeper.stop()
        await self.callbacks.close()
        if was_running:
            log.info("sandbox.stopped")

    def sweep(self) -> int:
        """Give every later answer that is due now, without waiting for the loop.

        Call it from a running event loop (the callbacks go out as tasks);
        returns how many answers were given.
        """
        return self._sweeper.sweep()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _build_app(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            started_here = not self.running
            if started_here:
                await self.start()
            try:
                yield
            finally:
                if started_here:
                    await self.stop()

        app = FastAPI(title="birthlink sandbox departments", lifespan=lifespan)
        app.add_exception_handler(EarlyAnswerError, _answer)
        routers: dict[DepartmentName, Callable[[Department], APIRouter]] = {
            "nhc": nhc.create_router, "cdc": cdc.create_router, "mps": mps.create_router,
            "nhsa": nhsa.create_router, "hrss": hrss.create_router, "wjw": wjw.create_router,
        }
        for name, create_router in routers.items():
            dept = self.departments[name]
            app.include_router(create_router(dept), prefix=f"/{name}", tags=[name])
            app.include_router(controls.create_router(dept), prefix=f"/{name}")
        app.include_router(sms.create_router(self.sms), prefix="/sms", tags=["sms"])

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        return app


def create_sandbox(settings: SandboxSettings | None = None, *, clock: Clock | None = None
                   ) -> Sandbox:
    """A sandbox with ``settings`` (default: from the environment) and ``clock``
    (default: UTC now). Start it (or serve its app standalone) for later answers."""
    return Sandbox(settings or SandboxSettings(), clock or utc_now)


def app_factory() -> FastAPI:
    """The app of a sandbox configured from the environment (``uvicorn --factory``)."""
    return create_sandbox().app
