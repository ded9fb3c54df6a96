"""The operators' API over a gateway alone: listing with filters and pages,
legal deadlines, retry of a step, metrics; bad input is named and changes nothing."""

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from birthlink.samples import DEMO_HOSPITAL, birth_event
from contracts.envelope import Envelope
from contracts.replies import StepReply
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOSPITAL = DEMO_HOSPITAL["code"]
OTHER = "H11010500002"
NOW = datetime.now(UTC)


# The module's gateway and births are shared by the tests that only read them;
# a test that changes a birth (a retry) gets a gateway of its own, so that every
# test passes alone and in any order.


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    path: Path = tmp_path_factory.mktemp("operators")
    async with running_gateway(path, (HOSPITAL, OTHER)) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def births(gateway: Gateway) -> dict[str, str]:
    return await post_births(gateway)


@pytest_asyncio.fixture(loop_scope="module")
async def own_gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    """A gateway with the same five births, for a test that changes them."""
    async with running_gateway(tmp_path, (HOSPITAL, OTHER)) as running:
        yield running


async def post_births(gateway: Gateway) -> dict[str, str]:
    """Five births: born 40, 27 and 1 day ago; one rejected at nhc; one of another hospital."""
    ids: dict[str, str] = {}
    for name, days in (("old", 40), ("near", 27), ("fresh", 1), ("rejected", 2)):
        event = birth_event(random.Random(name), now=NOW - timedelta(days=days))
        posted = await gateway.client.post("/v1/births", json=event, headers=gateway.auth(HOSPITAL))
        assert posted.status_code == 202, posted.text
        ids[name] = posted.json()["birth_id"]
    other = birth_event(random.Random(5), hospital={"code": OTHER, "name": "other"})
    posted = await gateway.client.post("/v1/births", json=other, headers=gateway.auth(OTHER))
    assert posted.status_code == 202, posted.text
    ids["other"] = posted.json()["birth_id"]
    await reply(gateway, ids["rejected"], "birth_certificate", "rejected", reason="bad jgdm")
    return ids


async def reply(gateway: Gateway, birth_id: str, step: str, outcome: Any, **kw: Any) -> None:
    """An adapter's reply arriving on the orchestrator's queue."""
    data = StepReply(outcome=outcome, command_id="c", **kw).model_dump(mode="json")
    envelope = Envelope(type="StepRejected", birth_id=birth_id, step=step, attempt=1, data=data)
    await gateway.runtime.orchestrator.handle_reply(envelope)


async def listed(gateway: Gateway, who: str = "operator", **params: Any) -> list[str]:
    response = await gateway.client.get("/v1/births", params=params, headers=gateway.auth(who))
    assert response.status_code == 200, response.text
    return [b["birth_id"] for b in response.json()["births"]]


async def test_filters_find_the_births_operators_look_for(
    gateway: Gateway, births: dict[str, str]
) -> None:
    assert set(await listed(gateway)) == set(births.values())
    assert await listed(gateway, status="action_required") == [births["rejected"]]
    assert await listed(gateway, step_state="rejected", department="nhc") == [births["rejected"]]
    assert await listed(gateway, step_state="rejected", department="cdc") == []
    assert await listed(gateway, hospital=OTHER) == [births["other"]]
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert await listed(gateway, created_from=later) == []
    assert len(await listed(gateway, created_to=later)) == 5


async def test_births_near_or_past_a_legal_deadline_are_listed_and_flagged(
    gateway: Gateway, births: dict[str, str]
) -> None:
    assert await listed(gateway, deadline="past") == [births["old"]]
    assert await listed(gateway, deadline="near") == [births["near"]]
    response = await gateway.client.get(
        "/v1/births", params={"deadline": "past"}, headers=gateway.auth("operator")
    )
    [flag] = response.json()["births"][0]["deadlines"]
    assert flag["step"] == "household_registration"
    assert flag["urgency"] == "past"
    assert datetime.fromisoformat(flag["due"]) < datetime.now(UTC)


async def test_pages_follow_the_cursor_without_gaps_or_repeats(
    gateway: Gateway, births: dict[str, str]
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await gateway.client.get(
            "/v1/births", params=params, headers=gateway.auth("operator")
        )
        body = response.json()
        seen += [b["birth_id"] for b in body["births"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(births.values())
    assert len(seen) == len(set(seen))


async def test_a_hospital_lists_only_its_own_births(
    gateway: Gateway, births: dict[str, str]
) -> None:
    assert births["other"] not in await listed(gateway, HOSPITAL)
    assert await listed(gateway, OTHER) == [births["other"]]
    response = await gateway.client.get(
        "/v1/births", params={"hospital": OTHER}, headers=gateway.auth(HOSPITAL)
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"status": "stuck"}, "/status"),
        ({"step_state": "nope"}, "/step_state"),
        ({"department": "tax"}, "/department"),
        ({"created_from": "yesterday"}, "/created_from"),
        ({"created_from": "2026-11-01T00:00:00"}, "/created_from"),
        ({"cursor": "not-a-cursor"}, "/cursor"),
        ({"limit": 0}, "/limit"),
        ({"deadline": "soon"}, "/deadline"),
    ],
)
async def test_bad_filters_are_named(
    gateway: Gateway, births: dict[str, str], params: dict[str, Any], pointer: str
) -> None:
    response = await gateway.client.get(
        "/v1/births", params=params, headers=gateway.auth("operator")
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in response.json()["errors"]] == [pointer]


async def test_an_operator_retries_a_rejected_step_and_history_names_them(
    own_gateway: Gateway,
) -> None:
    gateway = own_gateway
    births = await post_births(gateway)
    birth_id = births["rejected"]
    url = f"/v1/births/{birth_id}/steps/birth_certificate/retry"
    assert (await gateway.client.post(url, headers=gateway.auth(HOSPITAL))).status_code == 403
    retried = await gateway.client.post(url, headers=gateway.auth("operator"))
    assert retried.status_code == 202, retried.text
    assert retried.json()["state"] == "queued"
    assert retried.json()["attempt"] == 2
    again = await gateway.client.post(url, headers=gateway.auth("operator"))
    assert again.status_code == 409
    assert again.json()["state"] == "queued"
    history = (
        await gateway.client.get(f"/v1/births/{birth_id}/history", headers=gateway.auth("operator"))
    ).json()["events"]
    mine = [e for e in history if e["actor"] == "operator:ops"]
    assert [e["to"] for e in mine if e["step"] == "birth_certificate"] == ["queued"]
    assert "retry asked by an operator" in mine[0]["detail"]
    birth = (
        await gateway.client.get(f"/v1/births/{birth_id}", headers=gateway.auth("operator"))
    ).json()
    assert birth["status"] == "in_progress"


async def test_retry_of_what_is_not_there_is_refused(
    gateway: Gateway, births: dict[str, str]
) -> None:
    before = await gateway.count_rows()
    unknown = await gateway.client.post(
        "/v1/births/nope/steps/birth_certificate/retry", headers=gateway.auth("operator")
    )
    assert unknown.status_code == 404
    bad_step = await gateway.client.post(
        f"/v1/births/{births['fresh']}/steps/passport/retry", headers=gateway.auth("operator")
    )
    assert bad_step.status_code == 422
    assert bad_step.json()["errors"][0]["pointer"] == "/step"
    queued = await gateway.client.post(
        f"/v1/births/{births['fresh']}/steps/vaccination_record/retry",
        headers=gateway.auth("operator"),
    )
    assert queued.status_code == 409
    assert await gateway.count_rows() == before


async def test_metrics_show_births_by_state_and_the_outbox(
    gateway: Gateway, births: dict[str, str]
) -> None:
    response = await gateway.client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'birthlink_births{status="in_progress"} 4.0' in text
    assert 'birthlink_births{status="action_required"} 1.0' in text
    assert 'birthlink_steps{department="nhc",state="queued"} 4.0' in text
    assert 'birthlink_steps{department="nhc",state="rejected"} 1.0' in text
    # Nothing relays in this gateway: the commands wait, and the lag shows it.
    values = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("birthlink_outbox")
    }
    assert values["birthlink_outbox_unpublished"] >= 10  # two first commands a birth
    assert values["birthlink_outbox_lag_seconds"] > 0
