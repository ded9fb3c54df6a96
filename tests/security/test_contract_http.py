"""The contract's property tests through the gateway's HTTP API, with every
bound in front of it (size, depth, items, rate limit): every generated valid
event is accepted (`202`), and a single-field mutation that breaks a rule is
refused (`422`) naming that field, with nothing stored."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.clock import ManualClock
from gateway.security.keys import create_key
from tests.cases.birth_cases import INVALID_CASES, InvalidCase
from tests.support.gateway import Gateway, running_gateway
from tests.unit.contracts.test_birth_event import NOW, events

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path, (), intake_rate_limit="100000/minute") as gateway:
        gateway.runtime.clock = ManualClock(NOW)  # the time the events were generated for
        yield gateway


async def post(gw: Gateway, body: object, hospital_code: str) -> tuple[int, dict[str, Any]]:
    """Post with a key bound to `hospital_code` (made on first use)."""
    if hospital_code not in gw.keys:
        async with gw.runtime.db.write() as session:
            gw.keys[hospital_code] = await create_key(
                session, role="hospital", name="h", hospital_code=hospital_code, now=NOW
            )
    answer = await gw.client.post("/v1/births", json=body, headers=gw.auth(hospital_code))
    return answer.status_code, answer.json()


@SETTINGS
@given(data=events())
async def test_every_generated_valid_event_is_accepted_over_http(
    gw: Gateway, data: dict[str, Any]
) -> None:
    data["hospital_record_id"] = uuid.uuid4().hex  # each example its own birth,
    data["duplicate_of_checked"] = True  # even when examples share a mother and a time
    status, body = await post(gw, data, data["hospital"]["code"])
    assert status == 202, body


BREAKABLE = [c for c in INVALID_CASES if c.pointer]


@SETTINGS
@given(data=events(), case=st.sampled_from(BREAKABLE))
async def test_one_broken_rule_is_refused_over_http_naming_the_field(
    gw: Gateway, data: dict[str, Any], case: InvalidCase
) -> None:
    data["hospital_record_id"] = uuid.uuid4().hex
    before = await gw.count_rows()
    # The key fits the event's hospital: only the broken rule can refuse it.
    status, body = await post(gw, case.build(data), data["hospital"]["code"])
    assert status == 422, body
    assert (case.pointer, case.code) in [(e["pointer"], e["code"]) for e in body["errors"]]
    assert await gw.count_rows() == before
