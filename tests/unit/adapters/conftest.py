"""Fixtures for the adapter tests: a retry policy that records instead of sleeping,
and a way to build department clients over `httpx.MockTransport`."""

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from adapters._runtime.http import RetryPolicy

MockHandler = Callable[[httpx.Request], httpx.Response]


class Sleeps(list[float]):
    """The waits a retry policy asked for, in order."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def retry(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(3, initial_wait_s=0.2, max_wait_s=2.0, sleep=sleeps)


class MockDepartment:
    """Answers each request with the next scripted response and keeps the requests."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.script: list[httpx.Response | Exception] = []

    def answer(self, *responses: httpx.Response | Exception) -> None:
        self.script.extend(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if not self.script:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def department() -> MockDepartment:
    return MockDepartment()


@pytest.fixture
async def http(department: MockDepartment) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(department), base_url="http://departments.test/dept"
    ) as client:
        yield client
