"""Hostile FHIR (issue 14): the shapes that once gave `500` on the JSON path, and
any mutation of a real Bundle, are answered with an OperationOutcome (`4xx`) or
accepted; never a `5xx`, and nothing refused is stored."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from birthlink.samples import DEMO_HOSPITAL
from gateway.clock import ManualClock
from tests.cases.fhir_bundles import CHILD, FHIR_JSON, example
from tests.cases.hostile_http import (
    DEEP_ARRAYS,
    EXTREME_TIMES,
    HUGE_NUMBER,
    leaf_paths,
    numbers_anywhere,
)
from tests.support.gateway import Gateway, running_gateway

HOSPITAL = DEMO_HOSPITAL["code"]
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
GENERATED = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(
        tmp_path, (HOSPITAL,), intake_rate_limit="1000000/minute"
    ) as gateway:
        gateway.runtime.clock = ManualClock(NOW)
        yield gateway


async def post(gw: Gateway, body: bytes) -> httpx.Response:
    return await gw.client.post(
        "/v1/births", content=body, headers={**gw.auth(HOSPITAL), "Content-Type": FHIR_JSON}
    )


async def assert_refused(gw: Gateway, body: bytes, *statuses: int) -> None:
    before = await gw.count_rows()
    answer = await post(gw, body)
    assert answer.status_code in statuses, (answer.status_code, answer.text[:500])
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert await gw.count_rows() == before


async def test_a_5000_digit_number_in_a_bundle_is_400(gw: Gateway) -> None:
    body = json.dumps(example(), ensure_ascii=False).replace(
        '"value": 3350', f'"value": {HUGE_NUMBER}'
    )
    assert HUGE_NUMBER in body
    await assert_refused(gw, body.encode(), 400)


async def test_5000_nested_arrays_are_400(gw: Gateway) -> None:
    await assert_refused(gw, DEEP_ARRAYS, 400)


async def test_a_body_that_is_not_utf8_is_400(gw: Gateway) -> None:
    await assert_refused(gw, b'{"resourceType": "Bundle", "type": "\xff\xfe"}', 400)


@pytest.mark.parametrize("moment", EXTREME_TIMES)
async def test_a_birth_time_outside_the_years_in_utc_is_4xx(gw: Gateway, moment: str) -> None:
    bundle = example()
    bundle["entry"][CHILD]["resource"]["_birthDate"]["extension"][0]["valueDateTime"] = moment
    await assert_refused(gw, json.dumps(bundle).encode(), 400, 422)


@GENERATED
@given(data=st.data())
async def test_a_number_too_long_anywhere_in_a_bundle_is_answered_without_5xx(
    gw: Gateway, data: st.DataObject
) -> None:
    # An integer is refused when the body is read (400); a long decimal fraction
    # parses as a float, so in a resource the mapping ignores it changes nothing.
    before = await gw.count_rows()
    answer = await post(gw, data.draw(numbers_anywhere(example())))
    assert answer.status_code in (200, 202, 400, 422), answer.text[:500]
    if answer.status_code >= 400:
        assert answer.json()["resourceType"] == "OperationOutcome"
        assert await gw.count_rows() == before


def _set(document: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        document = document[part]
    document[path[-1]] = value


def _delete(document: Any, path: tuple[str | int, ...]) -> None:
    for part in path[:-1]:
        document = document[part]
    del document[path[-1]]


@GENERATED
@given(data=st.data())
async def test_any_value_anywhere_in_a_bundle_is_answered_without_5xx(
    gw: Gateway, data: st.DataObject
) -> None:
    bundle = example()
    bundle["identifier"]["value"] = f"H-{data.draw(st.integers(0, 10**9))}"
    for _ in range(data.draw(st.integers(1, 3))):
        paths = leaf_paths(bundle)
        path = data.draw(st.sampled_from(paths))
        if data.draw(st.booleans()):
            _set(bundle, path, data.draw(JSON_VALUES))
        elif len(path) > 1:
            _delete(bundle, path)
    before = await gw.count_rows()
    answer = await post(gw, json.dumps(bundle).encode())
    assert answer.status_code < 500, answer.text[:500]
    if answer.status_code not in (200, 202):
        assert answer.headers["content-type"].startswith(FHIR_JSON)
        assert answer.json()["resourceType"] == "OperationOutcome"
        assert await gw.count_rows() == before


@GENERATED
@given(body=JSON_VALUES)
async def test_any_json_as_fhir_is_400_or_422(gw: Gateway, body: Any) -> None:
    await assert_refused(gw, json.dumps(body).encode(), 400, 422)
