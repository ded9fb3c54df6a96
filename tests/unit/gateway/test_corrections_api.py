"""The corrections, cancel and duplicate answers of the API, on a gateway alone."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.cases.birth_cases import unique_event
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOSPITAL = unique_event(1)["hospital"]["code"]
OTHER = "H11010500002"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    path: Path = tmp_path_factory.mktemp("corrections")
    async with running_gateway(path, (HOSPITAL, OTHER)) as running:
        yield running


async def test_a_duplicate_from_another_hospital_does_not_name_the_birth(
    gateway: Gateway,
) -> None:
    event = unique_event(101)
    mine = await gateway.client.post("/v1/births", json=event, headers=gateway.auth(HOSPITAL))
    assert mine.status_code == 202
    theirs = {**event, "hospital": {"code": OTHER, "name": "北京市某医院"}}
    answer = await gateway.client.post("/v1/births", json=theirs, headers=gateway.auth(OTHER))
    assert answer.status_code == 409
    assert answer.json()["code"] == "likely_duplicate"
    assert "birth_id" not in answer.json()
    assert "another hospital" in answer.json()["detail"]


async def test_a_cancel_needs_a_reason_and_only_the_birth_s_hospital_or_an_operator(
    gateway: Gateway,
) -> None:
    posted = await gateway.client.post(
        "/v1/births", json=unique_event(102), headers=gateway.auth(HOSPITAL)
    )
    birth_id = posted.json()["birth_id"]
    path = f"/v1/births/{birth_id}/cancel"
    before = await gateway.count_rows()
    for body in ({}, {"reason": "   "}, {"reason": "x", "extra": 1}):
        refused = await gateway.client.post(path, json=body, headers=gateway.auth(HOSPITAL))
        assert refused.status_code == 422, body
        assert refused.headers["content-type"] == "application/problem+json"
    other = await gateway.client.post(path, json={"reason": "x"}, headers=gateway.auth(OTHER))
    assert other.status_code == 404
    assert await gateway.count_rows() == before
    done = await gateway.client.post(
        path, json={"reason": "reported in error"}, headers=gateway.auth("operator")
    )
    assert done.status_code == 202
    # Submissions are in flight: their answers decide what to revoke.
    assert done.json()["status"] == "cancelling"
    birth = await gateway.client.get(f"/v1/births/{birth_id}", headers=gateway.auth(HOSPITAL))
    assert birth.json()["status"] == "cancelling"
    assert {s["state"] for s in birth.json()["steps"]} <= {"queued", "cancelled"}
    history = await gateway.client.get(
        f"/v1/births/{birth_id}/history", headers=gateway.auth(HOSPITAL)
    )
    asked = [e for e in history.json()["events"] if e["to"] == "cancelling" and not e["step"]]
    assert [e["actor"] for e in asked] == ["operator:ops"]


async def test_a_correction_of_an_unknown_birth_is_404(gateway: Gateway) -> None:
    answer = await gateway.client.post(
        "/v1/births/0123456789abcdef0123456789abcdef/corrections",
        json={"child": {"name": "李更正"}},
        headers=gateway.auth(HOSPITAL),
    )
    assert answer.status_code == 404
