"""Sparing a department that is down or busy: a concurrency cap and a circuit breaker.

One `DepartmentGuard` per department and adapter process wraps the HTTP
transport of that department's client (`GuardedTransport`):

- at most `max_concurrent` requests are in flight at once; the others queue;
- closed → `failure_threshold` failures in a row (a connect error, a timeout,
  408, 5xx) → **open** for `open_s`: calls fail at once with `CircuitOpenError`
  and never reach the department → **half-open**: one probe at a time; its
  success closes the circuit, its failure opens it again;
- a `429` with `Retry-After` holds every call to the department until then
  (the department said how long to leave it alone; that holds for every birth,
  not only the one that was throttled).

A call refused here carries `retry_after_s`: the worker's `transient` reply
then makes the saga's database timer wait at least that long, so the birth's
step waits and the department is probed, not hammered.

Written here rather than taken from a library: the breakers on PyPI either tie
async use to Tornado (pybreaker), are unmaintained (aiobreaker), or keep their
own wall clock (purgatory); this one needs an injectable clock (tests move a
manual one over hours) and to see HTTP statuses, not only exceptions.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import IntEnum

import httpx
import structlog
from prometheus_client import Counter, Gauge

log = structlog.get_logger()

Now = Callable[[], float]
"""Seconds on some monotonic scale (`time.monotonic`, or a test's clock)."""


class CircuitState(IntEnum):
    """The breaker's state; the value is what the metric shows."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


CIRCUIT_STATE = Gauge(
    "birthlink_department_circuit_state",
    "Circuit breaker per department: 0 closed, 1 half-open, 2 open.",
    ["department"],
)
CALLS_REFUSED = Counter(
    "birthlink_department_calls_refused_total",
    "Calls not sent because the circuit was open or the department asked to wait.",
    ["department"],
)


def seconds_of(clock: Callable[[], datetime]) -> Now:
    """Adapt a datetime clock (`ManualClock().now`) to the guard's seconds."""
    return lambda: clock().timestamp()


class CircuitOpenError(Exception):
    """The call was not made: the department is left alone for `retry_after_s`."""

    def __init__(self, reason: str, retry_after_s: float) -> None:
        super().__init__(reason)
        self.reason, self.retry_after_s = reason, retry_after_s


class DepartmentGuard:
    """The concurrency cap and circuit breaker of one department."""

    def __init__(
        self,
        department: str,
        *,
        failure_threshold: int = 5,
        open_s: float = 30.0,
        max_concurrent: int = 16,
        now: Now | None = None,
    ) -> None:
        if failure_threshold < 1 or max_concurrent < 1 or open_s <= 0:
            raise ValueError("failure_threshold, max_concurrent and open_s must be positive")
        self.department = department
        self.failure_threshold, self.open_s = failure_threshold, open_s
        self._now = now or time.monotonic
        self._slots = asyncio.Semaphore(max_concurrent)
        self._failures = 0
        self._state = CircuitState.CLOSED
        self._opened_at = 0.0
        self._hold_until = 0.0
        self._probing = False
        CIRCUIT_STATE.labels(department).set(CircuitState.CLOSED)

    @property
    def state(self) -> CircuitState:
        """The state now (an open circuit whose time is up reads half-open)."""
        if self._state == CircuitState.OPEN and self._now() >= self._opened_at + self.open_s:
            return CircuitState.HALF_OPEN
        return self._state

    async def send(
        self, request: httpx.Request, call: Callable[[httpx.Request], Awaitable[httpx.Response]]
    ) -> httpx.Response:
        """Make the call if the department may be called now; record how it went."""
        async with self._slots:
            # Admitted once a slot is free: calls queued behind the cap see a
            # circuit that opened while they waited.
            probe = self._admit()
            try:
                response = await call(request)
                await response.aread()  # the slot is held until the answer is in
            except httpx.TransportError:
                self._failed()
                raise
            finally:
                if probe:
                    self._probing = False
        if response.status_code == 429:
            self._hold(response.headers.get("Retry-After"))
        elif response.status_code == 408 or response.status_code >= 500:
            self._failed()
        else:
            self._succeeded()
        return response

    def _admit(self) -> bool:
        """Raise when the call must not be made; True when it is the half-open probe."""
        now = self._now()
        if now < self._hold_until:
            self._refuse("department asked to wait (429 Retry-After)", self._hold_until - now)
        state = self.state
        if state == CircuitState.OPEN:
            self._refuse("circuit open: department failing", self._opened_at + self.open_s - now)
        if state == CircuitState.HALF_OPEN:
            if self._probing:
                self._refuse("circuit half-open: a probe is under way", self.open_s)
            self._set(CircuitState.HALF_OPEN)
            self._probing = True
            return True
        return False

    def _refuse(self, reason: str, retry_after_s: float) -> None:
        CALLS_REFUSED.labels(self.department).inc()
        raise CircuitOpenError(f"{reason} ({self.department})", max(retry_after_s, 0.0))

    def _failed(self) -> None:
        self._failures += 1
        if self._state == CircuitState.HALF_OPEN or self._failures >= self.failure_threshold:
            self._opened_at = self._now()
            if self._state != CircuitState.OPEN:
                log.warning(
                    "adapter.circuit.opened", department=self.department, failures=self._failures
                )
            self._set(CircuitState.OPEN)

    def _succeeded(self) -> None:
        self._failures = 0
        if self._state != CircuitState.CLOSED:
            log.info("adapter.circuit.closed", department=self.department)
            self._set(CircuitState.CLOSED)

    def _hold(self, retry_after: str | None) -> None:
        self._hold_until = max(self._hold_until, self._now() + _seconds(retry_after))

    def _set(self, state: CircuitState) -> None:
        self._state = state
        CIRCUIT_STATE.labels(self.department).set(state)


def _seconds(retry_after: str | None) -> float:
    """`Retry-After` as seconds (delta-seconds or an HTTP date); 0 when absent or unreadable."""
    if retry_after is None:
        return 0.0
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return 0.0
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends through a `DepartmentGuard`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, guard: DepartmentGuard) -> None:
        self.inner, self.guard = inner, guard

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.guard.send(request, self.inner.handle_async_request)

    async def aclose(self) -> None:
        await self.inner.aclose()
