"""The shared HTTP runtime: status mapping, Retry-After, the in-call retry policy."""

from datetime import UTC, datetime

import httpx
import pytest

from adapters._runtime.errors import (
    DepartmentProtocolError,
    PermanentError,
    TransientError,
)
from adapters._runtime.http import (
    Refusal,
    RetryPolicy,
    call_department,
    json_refusal,
    parse_retry_after,
    raise_for_department,
)
from tests.unit.adapters.conftest import MockDepartment, Sleeps

reason_of = json_refusal(message="msg", code="code")


def response(
    status: int,
    *,
    json: object = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    request = httpx.Request("POST", "http://d.test/x")
    if json is not None:
        return httpx.Response(status, json=json, headers=headers, request=request)
    return httpx.Response(status, content=content, headers=headers, request=request)


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_a_2xx_answer_passes(status: int) -> None:
    raise_for_department(response(status), reason_of)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_timeouts_throttling_and_server_errors_are_transient(status: int) -> None:
    with pytest.raises(TransientError) as caught:
        raise_for_department(response(status), reason_of)
    assert caught.value.status == status
    assert caught.value.retry_after_s is None


def test_a_transient_error_carries_the_retry_after_the_department_sent() -> None:
    with pytest.raises(TransientError) as caught:
        raise_for_department(response(429, headers={"Retry-After": "7"}), reason_of)
    assert caught.value.retry_after_s == 7.0


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_other_4xx_answers_are_refusals_with_the_departments_reason(status: int) -> None:
    resp = response(status, json={"code": "E42", "msg": "出生日期有误"})
    with pytest.raises(PermanentError) as caught:
        raise_for_department(resp, reason_of)
    assert (caught.value.reason, caught.value.code, caught.value.status) == (
        "出生日期有误",
        "E42",
        status,
    )


def test_a_refusal_without_a_readable_reason_names_the_status() -> None:
    with pytest.raises(PermanentError) as caught:
        raise_for_department(response(400, content=b"<html>nope</html>"), reason_of)
    assert caught.value.reason == "department refused with HTTP 400"
    assert caught.value.code is None


def test_a_redirect_is_an_answer_we_do_not_understand() -> None:
    with pytest.raises(DepartmentProtocolError):
        raise_for_department(response(302, headers={"Location": "/elsewhere"}), reason_of)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Fri, 27 Nov 2026 08:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Fri, 27 Nov 2026 07:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_json_refusal_reads_nothing_from_a_body_that_is_not_its_shape() -> None:
    assert reason_of(response(400, json=["msg"])) is None
    assert reason_of(response(400, json={"msg": 3})) is None
    assert reason_of(response(400, content=b"{")) is None
    assert reason_of(response(400, json={"msg": "bad"})) == Refusal("bad", None)


async def call(http: httpx.AsyncClient, retry: RetryPolicy) -> httpx.Response:
    return await call_department(http, retry, "POST", "/things", reason_of=reason_of, json={})


async def test_a_503_is_retried_with_exponential_waits_until_it_succeeds(
    http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy, sleeps: Sleeps
) -> None:
    department.answer(httpx.Response(503), httpx.Response(502), httpx.Response(200, json={}))
    resp = await call(http, retry)
    assert resp.status_code == 200
    assert len(department.requests) == 3
    assert sleeps == [0.2, 0.4]


async def test_the_last_transient_error_is_raised_when_the_attempts_are_spent(
    http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy, sleeps: Sleeps
) -> None:
    department.answer(*(httpx.Response(503) for _ in range(3)))
    with pytest.raises(TransientError) as caught:
        await call(http, retry)
    assert caught.value.status == 503
    assert len(department.requests) == 3
    assert len(sleeps) == 2


async def test_a_short_retry_after_is_waited_in_the_call(
    http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy, sleeps: Sleeps
) -> None:
    department.answer(
        httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(200, json={})
    )
    assert (await call(http, retry)).status_code == 200
    assert sleeps == [1.0]


async def test_a_long_retry_after_gives_up_at_once_and_carries_the_wait(
    http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy, sleeps: Sleeps
) -> None:
    department.answer(httpx.Response(429, headers={"Retry-After": "120"}))
    with pytest.raises(TransientError) as caught:
        await call(http, retry)
    assert caught.value.retry_after_s == 120.0
    assert len(department.requests) == 1
    assert sleeps == []


async def test_a_refusal_is_not_retried(
    http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy, sleeps: Sleeps
) -> None:
    department.answer(httpx.Response(400, json={"msg": "no"}))
    with pytest.raises(PermanentError):
        await call(http, retry)
    assert len(department.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("peer closed"),
        httpx.ReadError("reset"),
    ],
    ids=lambda exc: type(exc).__name__,
)
async def test_network_failures_are_transient_and_retried(
    http: httpx.AsyncClient,
    department: MockDepartment,
    retry: RetryPolicy,
    failure: Exception,
) -> None:
    department.answer(failure, failure, failure)
    with pytest.raises(TransientError) as caught:
        await call(http, retry)
    assert type(failure).__name__ in caught.value.reason
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert len(department.requests) == 3


async def test_a_network_failure_then_success_succeeds(
    http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    department.answer(httpx.ConnectError("refused"), httpx.Response(200, json={}))
    assert (await call(http, retry)).status_code == 200


async def test_waits_never_exceed_the_policys_cap(
    http: httpx.AsyncClient, department: MockDepartment, sleeps: Sleeps
) -> None:
    policy = RetryPolicy(6, initial_wait_s=0.5, max_wait_s=2.0, sleep=sleeps)
    department.answer(*(httpx.Response(500) for _ in range(5)), httpx.Response(200, json={}))
    await call(http, policy)
    assert sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_a_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(0)


async def test_httpcore_finds_its_async_library_without_a_failed_import() -> None:
    """httpcore asks sniffio which async library runs on every lock it makes; a
    missing sniffio is a failed import each time (~0.9 ms of CPU a request), so it
    is a dependency of ours."""
    import sys

    from httpcore._synchronization import current_async_library

    assert current_async_library() == "asyncio"
    assert "sniffio" in sys.modules
