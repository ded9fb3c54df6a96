"""Calling a department over HTTP: the in-call retry policy and status mapping.

A department call is retried within the call only for `TransientError`, a few
times within seconds (`RetryPolicy`). Longer waits belong to the saga's database
timers, not to a sleeping worker: when a department asks (`Retry-After`) for
longer than the policy's cap, the call gives up at once and the reply carries
`retry_after_s`.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base

from adapters._runtime.breaker import CircuitOpenError
from adapters._runtime.errors import DepartmentProtocolError, PermanentError, TransientError

log = structlog.get_logger()

M = TypeVar("M", bound=BaseModel)


class Refusal(NamedTuple):
    """A department's reason for refusing, read from its own error shape."""

    message: str
    code: str | None = None


ReasonOf = Callable[[httpx.Response], Refusal | None]
"""Reads a refusal from an error response; returns None when the body has no
readable reason (it must not raise)."""

Sleep = Callable[[float], Awaitable[None]]


def _transient(state: RetryCallState) -> TransientError | None:
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc if isinstance(exc, TransientError) else None


class _stop_when_asked_to_wait_long(stop_base):  # noqa: N801 (tenacity's naming)
    """Stop at once when the department asks for a longer wait than we hold a worker for."""

    def __init__(self, cap_s: float) -> None:
        self.cap_s = cap_s

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = _transient(retry_state)
        return exc is not None and exc.retry_after_s is not None and exc.retry_after_s > self.cap_s


class RetryPolicy:
    """Retry `TransientError` only: `max_attempts` tries, exponential waits from
    `initial_wait_s` up to `max_wait_s`, or the department's `Retry-After` when it
    is within `max_wait_s` (beyond it: give up at once, the saga waits instead)."""

    def __init__(
        self,
        max_attempts: int = 3,
        *,
        initial_wait_s: float = 0.2,
        max_wait_s: float = 2.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.initial_wait_s = initial_wait_s
        self.max_wait_s = max_wait_s
        self._sleep = sleep

    def wait_s(self, state: RetryCallState) -> float:
        """How long to wait before the next attempt."""
        exc = _transient(state)
        if exc is not None and exc.retry_after_s is not None:
            return min(exc.retry_after_s, self.max_wait_s)
        backoff = self.initial_wait_s * 2 ** (state.attempt_number - 1)
        return float(min(backoff, self.max_wait_s))

    def attempts(self) -> AsyncRetrying:
        """`async for attempt in policy.attempts(): with attempt: ...`; the last
        `TransientError` is re-raised when the attempts are spent."""
        return AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.max_attempts)
            | _stop_when_asked_to_wait_long(self.max_wait_s),
            wait=self.wait_s,
            sleep=self._sleep,
            reraise=True,
            before_sleep=_log_retry,
        )


def _log_retry(state: RetryCallState) -> None:
    exc = _transient(state)
    log.warning(
        "adapter.http.retrying",
        call_attempt=state.attempt_number,
        wait_s=state.upcoming_sleep,
        status=exc.status if exc else None,
        error=exc.reason if exc else None,
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def raise_for_department(resp: httpx.Response, reason_of: ReasonOf) -> None:
    """Map a department's status to our errors: 2xx passes; 408, 429 and 5xx are
    transient; any other 4xx is a refusal with the department's reason; anything
    else (1xx, 3xx) is an answer we do not understand."""
    status = resp.status_code
    if 200 <= status < 300:
        return
    if status in (408, 429) or status >= 500:
        raise TransientError(
            f"department answered HTTP {status}",
            status=status,
            retry_after_s=parse_retry_after(resp.headers.get("Retry-After")),
        )
    if 400 <= status < 500:
        refusal = reason_of(resp)
        if refusal is None:
            raise PermanentError(f"department refused with HTTP {status}", status=status)
        raise PermanentError(refusal.message, status=status, code=refusal.code)
    raise DepartmentProtocolError(f"unexpected HTTP {status}", status=status)


async def send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One HTTP request; network failures, and calls the department's guard
    refused (circuit open, Retry-After not over), become `TransientError`."""
    try:
        return await http.request(method, url, **kwargs)
    except CircuitOpenError as exc:
        raise TransientError(exc.reason, retry_after_s=exc.retry_after_s) from exc
    except httpx.TimeoutException as exc:
        raise TransientError(f"department timed out ({type(exc).__name__})") from exc
    except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
        raise TransientError(f"department unreachable ({type(exc).__name__})") from exc


async def call_department(
    http: httpx.AsyncClient,
    retry: RetryPolicy,
    method: str,
    url: str,
    *,
    reason_of: ReasonOf,
    **kwargs: Any,
) -> httpx.Response:
    """`send` + `raise_for_department` under the retry policy; returns a 2xx response."""
    async for attempt in retry.attempts():
        with attempt:
            resp = await send(http, method, url, **kwargs)
            raise_for_department(resp, reason_of)
            return resp
    raise AssertionError("unreachable: the retry policy re-raises the last error")


class DepartmentClient:
    """What every department client shares: its HTTP client, its retry policy and
    how the department says no (`refusal`). Subclasses name the endpoints."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy, refusal: ReasonOf) -> None:
        self._http, self._retry, self._refusal = http, retry, refusal

    async def call(
        self, method: str, url: str, *, reason_of: ReasonOf | None = None, **kwargs: Any
    ) -> httpx.Response:
        """`call_department` with this department's client, retries and refusal."""
        return await call_department(
            self._http, self._retry, method, url, reason_of=reason_of or self._refusal, **kwargs
        )

    async def post(
        self, url: str, *, key: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """A POST that creates or changes something, under its stable `Idempotency-Key`."""
        return await self.call(
            "POST", url, headers={"Idempotency-Key": key, **(headers or {})}, **kwargs
        )


def unknown_reference_or(refusal: ReasonOf) -> ReasonOf:
    """A status look-up's refusal: `404` means the department knows no such
    reference; anything else is refused as `refusal` says."""

    def reason_of(resp: httpx.Response) -> Refusal | None:
        if resp.status_code == httpx.codes.NOT_FOUND:
            return Refusal("the department knows no such application")
        return refusal(resp)

    return reason_of


def parse_json(resp: httpx.Response, model: type[M]) -> M:
    """The response body as `model`; anything else is a `DepartmentProtocolError`."""
    try:
        return model.model_validate_json(resp.content)
    except ValidationError as exc:
        raise DepartmentProtocolError(
            f"unreadable answer from the department: {exc.error_count()} error(s) "
            f"reading {model.__name__}",
            status=resp.status_code,
        ) from exc


def json_refusal(*, message: str, code: str | None = None) -> ReasonOf:
    """A `ReasonOf` for a JSON error object with the reason under `message`
    (and optionally a code under `code`)."""

    def reason_of(resp: httpx.Response) -> Refusal | None:
        try:
            body = resp.json()
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get(message), str):
            return None
        raw_code = body.get(code) if code else None
        return Refusal(body[message], None if raw_code is None else str(raw_code))

    return reason_of
