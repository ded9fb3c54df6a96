"""The department guard: circuit breaker, Retry-After hold, concurrency cap."""

import asyncio

import httpx
import pytest

from adapters._runtime.breaker import (
    CIRCUIT_STATE,
    CircuitOpenError,
    CircuitState,
    DepartmentGuard,
    GuardedTransport,
)
from adapters._runtime.errors import PermanentError, TransientError
from adapters._runtime.http import RetryPolicy, call_department


async def send(http: httpx.AsyncClient, method: str, url: str) -> httpx.Response:
    """The adapters' way of calling a department, one try (2xx back, else raised)."""
    return await call_department(http, RetryPolicy(1), method, url, reason_of=lambda _: None)


class Department:
    """A department behind httpx.MockTransport that answers `status`, counting calls."""

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.status, self.headers, self.calls = status, headers or {}, 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return httpx.Response(self.status, headers=self.headers, json={})


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def client(dept: Department, guard: DepartmentGuard) -> httpx.AsyncClient:
    transport = GuardedTransport(httpx.MockTransport(dept), guard)
    return httpx.AsyncClient(transport=transport, base_url="http://dept")


async def test_a_department_failing_every_call_is_probed_not_hammered() -> None:
    clock, dept = Clock(), Department(503)
    guard = DepartmentGuard("cdc", failure_threshold=3, open_s=30, now=clock)
    async with client(dept, guard) as http:
        for _ in range(50):  # fifty calls in the first 30 seconds
            with pytest.raises(TransientError):
                await send(http, "POST", "/x")
        assert dept.calls == 3  # the threshold; then nothing while open
        assert guard.state == CircuitState.OPEN
        assert CIRCUIT_STATE.labels("cdc")._value.get() == CircuitState.OPEN
        for _ in range(10):  # ten open periods of 30 s, many calls in each
            clock.t += 30
            for _ in range(20):
                with pytest.raises(TransientError):
                    await send(http, "POST", "/x")
        assert dept.calls == 3 + 10  # one probe per open period


async def test_a_refused_call_says_how_long_to_wait() -> None:
    clock, dept = Clock(), Department(500)
    guard = DepartmentGuard("nhc", failure_threshold=1, open_s=30, now=clock)
    async with client(dept, guard) as http:
        with pytest.raises(TransientError):
            await send(http, "POST", "/x")
        clock.t += 12
        with pytest.raises(TransientError) as refused:
            await send(http, "POST", "/x")
    assert refused.value.retry_after_s == pytest.approx(18)
    assert "circuit open" in refused.value.reason


async def test_a_successful_probe_closes_the_circuit() -> None:
    clock, dept = Clock(), Department(503)
    guard = DepartmentGuard("mps", failure_threshold=2, open_s=10, now=clock)
    async with client(dept, guard) as http:
        for _ in range(2):
            with pytest.raises(TransientError):
                await send(http, "GET", "/x")
        dept.status = 200
        clock.t += 10
        assert (await send(http, "GET", "/x")).status_code == 200
        assert guard.state == CircuitState.CLOSED
        for _ in range(5):
            await send(http, "GET", "/x")
    assert dept.calls == 2 + 1 + 5


async def test_refusals_of_the_data_do_not_open_the_circuit() -> None:
    dept = Department(400)
    guard = DepartmentGuard("nhsa", failure_threshold=2, open_s=10, now=Clock())
    async with client(dept, guard) as http:
        for _ in range(5):
            with pytest.raises(PermanentError):
                await send(http, "POST", "/x")
    assert guard.state == CircuitState.CLOSED
    assert dept.calls == 5


async def test_retry_after_on_429_holds_every_call_until_then() -> None:
    clock, dept = Clock(), Department(429, {"Retry-After": "30"})
    guard = DepartmentGuard("hrss", now=clock)
    async with client(dept, guard) as http:
        with pytest.raises(TransientError):
            await send(http, "POST", "/x")
        dept.status = 200
        clock.t += 29
        with pytest.raises(TransientError) as held:
            await send(http, "POST", "/y")  # another birth's call: held all the same
        assert held.value.retry_after_s == pytest.approx(1)
        assert dept.calls == 1
        clock.t += 1
        assert (await send(http, "POST", "/y")).status_code == 200
    assert dept.calls == 2


async def test_no_more_than_the_cap_are_in_flight() -> None:
    in_flight, most = 0, 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200)

    guard = DepartmentGuard("cdc", max_concurrent=3)
    transport = GuardedTransport(httpx.MockTransport(slow), guard)
    async with httpx.AsyncClient(transport=transport, base_url="http://dept") as http:
        await asyncio.gather(*(http.get("/x") for _ in range(20)))
    assert most == 3


def test_a_guard_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="positive"):
        DepartmentGuard("cdc", failure_threshold=0)
    assert issubclass(CircuitOpenError, Exception)
