"""Signed callbacks from the departments to ``{gateway}/v1/callbacks/{department}``.

A callback that fails (connection error, timeout, non-2xx) is tried again a few
times with a doubling pause, then given up: the gateway polls the status
endpoint when no callback arrives.
"""

import asyncio
import functools
import json
import ssl

import httpx
import structlog

from sandbox.department import Clock
from sandbox.settings import DepartmentName, SandboxSettings
from sandbox.signing import SIGNATURE_HEADER, sign
from sandbox.store import JsonObject

log = structlog.get_logger(__name__)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle is the slow part of making a client: do it once.
    return httpx.create_ssl_context()


class CallbackSender:
    """Delivers callbacks in background tasks, each with its own retries.

    The HTTP client is made at the first callback and closed by :meth:`close`.
    """

    def __init__(self, settings: SandboxSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._base = settings.gateway_url.rstrip("/")
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[bool]] = set()

    async def close(self) -> None:
        """Abandon the deliveries still under way and close the HTTP client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def send(self, department: DepartmentName, payload: JsonObject) -> None:
        """Deliver ``payload`` in the background (the caller does not wait)."""
        task = asyncio.get_running_loop().create_task(self.deliver(department, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until every delivery under way has succeeded or given up."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def deliver(self, department: DepartmentName, payload: JsonObject) -> bool:
        """POST one callback until the gateway takes it; ``False`` when given up."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(5.0), verify=_tls_context())
        url = f"{self._base}/v1/callbacks/{department}"
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        secret = self._settings.secret_for(department)
        attempts = self._settings.callback_attempts
        pause = self._settings.callback_backoff_s
        for attempt in range(1, attempts + 1):
            # Signed afresh on every attempt: the gateway refuses stale timestamps.
            signature = sign(secret, body, int(self._clock().timestamp()))
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
            try:
                response = await self._client.post(url, content=body, headers=headers)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                log.warning("sandbox.callback.failed", department=department, attempt=attempt,
                            error=type(exc).__name__)
            else:
                if response.is_success:
                    log.debug("sandbox.callback.delivered", department=department,
                             attempt=attempt, status=response.status_code)
                    return True
                log.warning("sandbox.callback.failed", department=department, attempt=attempt,
                            status=response.status_code)
            if attempt < attempts:
                await asyncio.sleep(pause)
                pause *= 2
        log.warning("sandbox.callback.abandoned", department=department, attempts=attempts)
        return False
