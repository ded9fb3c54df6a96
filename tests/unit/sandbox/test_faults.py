"""Fault knobs: latency, failures, throttling, outages, reject rules."""

import asyncio
import random
from datetime import datetime, timedelta

import httpx
import pytest

from sandbox.faults import CST, Faults, FieldRule, Injected, first_match
from tests.unit.sandbox.support import FakeClock, key, mps_body, nhc_body, records, set_faults


def test_reject_rules_reach_into_objects_lists_and_number_strings() -> None:
    data = {"hjdz": {"qh": "330106"}, "Dose": [{"vaccine": "HepB"}, {"vaccine": "BCG"}],
            "yz": 39}

    assert FieldRule(field="hjdz.qh", equals="330106").matches(data)
    assert FieldRule(field="Dose.vaccine", equals="BCG").matches(data)
    assert FieldRule(field="yz", equals="39").matches(data)
    assert not FieldRule(field="hjdz.qh", equals="110101").matches(data)
    assert not FieldRule(field="hjdz.xz.deeper", equals="x").matches(data)
    assert first_match([FieldRule(field="missing", equals="1"),
                        FieldRule(field="yz", equals=39, reason="r")], data) is not None


def test_fail_next_counts_down_then_serves() -> None:
    faults = Faults(fail_next=2, fail_status=500)
    now = datetime(2026, 1, 1, tzinfo=CST)

    drawn = [faults.draw(now, random.Random(1)) for _ in range(3)]

    failure = Injected(500, "FAULT", "department failed to serve the request")
    assert drawn == [failure, failure, None]
    assert faults.fail_next == 0


async def test_fail_next_answers_503_then_the_same_key_succeeds(
    client: httpx.AsyncClient,
) -> None:
    await set_faults(client, "nhc", fail_next=1)

    failed = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1:cert"))
    assert failed.status_code == 503
    assert set(failed.json()) == {"cwdm", "cwxx"}
    assert await records(client, "nhc") == []

    served = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1:cert"))
    assert served.status_code == 201
    listing = (await client.get("/nhc/_sandbox/records")).json()
    assert [r["requests"] for r in listing["records"]] == [1]
    assert listing["requests_total"] == 2


async def test_throttling_answers_429_with_retry_after(client: httpx.AsyncClient) -> None:
    await set_faults(client, "mps", throttle_rate=1.0, retry_after=7)

    response = await client.post("/mps/hukou/applications", json=mps_body(), headers=key("k"))

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert "yy" in response.json()
    assert await records(client, "mps") == []


async def test_fail_status_429_also_carries_retry_after(client: httpx.AsyncClient) -> None:
    await set_faults(client, "nhc", fail_next=1, fail_status=429, retry_after=3)

    response = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("k"))

    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")


async def test_error_rate_one_fails_every_request_with_the_fail_status(
    client: httpx.AsyncClient,
) -> None:
    await set_faults(client, "nhc", error_rate=1.0, fail_status=500)

    statuses = [(await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("k"))).status_code
                for _ in range(3)]

    assert statuses == [500, 500, 500]
    assert (await client.get("/nhc/_sandbox/records")).json()["requests_total"] == 3


async def test_an_outage_answers_503_until_its_end_status_reads_included(
    client: httpx.AsyncClient, clock: FakeClock,
) -> None:
    accepted = await client.post("/mps/hukou/applications", json=mps_body(), headers=key("k"))
    sqbh = accepted.json()["sqbh"]
    # Without an offset the time is China Standard Time, like the departments' own.
    until = (clock.now + timedelta(hours=1)).astimezone(CST).replace(tzinfo=None)
    await set_faults(client, "mps", outage_until=until.isoformat())

    during = await client.get(f"/mps/hukou/applications/{sqbh}")
    clock.advance(3601)
    after = await client.get(f"/mps/hukou/applications/{sqbh}")

    assert during.status_code == 503
    assert after.status_code == 200


async def test_latency_delays_the_answer(client: httpx.AsyncClient) -> None:
    await set_faults(client, "nhc", latency_ms=60)
    loop = asyncio.get_running_loop()

    started = loop.time()
    response = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("k"))

    assert response.status_code == 201
    assert loop.time() - started >= 0.05


async def test_faults_do_not_apply_to_the_sandbox_controls(client: httpx.AsyncClient) -> None:
    await set_faults(client, "nhc", error_rate=1.0, latency_ms=0)

    listing = await client.get("/nhc/_sandbox/records")
    faults = await client.get("/nhc/_sandbox/faults")

    assert listing.status_code == 200
    assert faults.json()["error_rate"] == 1.0
    assert listing.json()["requests_total"] == 0


async def test_an_empty_faults_body_clears_the_faults(client: httpx.AsyncClient) -> None:
    await set_faults(client, "nhc", error_rate=1.0, reject=[{"field": "xb", "equals": "1"}])
    await set_faults(client, "nhc")

    response = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("k"))

    assert response.status_code == 201
    assert (await client.get("/nhc/_sandbox/faults")).json() == Faults().model_dump(mode="json")


@pytest.mark.parametrize("faults", [{"error_rate": 2}, {"fail_status": 200}, {"unknown": 1},
                                    {"reject": [{"equals": "1"}]}])
async def test_invalid_faults_are_a_422(client: httpx.AsyncClient, faults: dict[str, object]
                                        ) -> None:
    response = await client.post("/nhc/_sandbox/faults", json=faults)

    assert response.status_code == 422


async def test_faults_of_one_department_leave_the_others_alone(
    client: httpx.AsyncClient,
) -> None:
    await set_faults(client, "mps", error_rate=1.0)

    response = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("k"))

    assert response.status_code == 201
