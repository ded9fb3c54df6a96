"""Bad input gets a clear problem+json naming the field, and stores nothing."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.cases.birth_cases import INVALID_CASES, InvalidCase, valid_event
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOSPITAL = valid_event()["hospital"]["code"]
OTHER = "H11010500002"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    path: Path = tmp_path_factory.mktemp("intake")
    async with running_gateway(path, (HOSPITAL, OTHER)) as running:
        yield running


@pytest.mark.parametrize("case", INVALID_CASES, ids=[c.id for c in INVALID_CASES])
async def test_each_broken_rule_is_refused_naming_its_field(
    gateway: Gateway, case: InvalidCase
) -> None:
    before = await gateway.count_rows()
    response = await gateway.client.post(
        "/v1/births", json=case.build(), headers=gateway.auth(HOSPITAL)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problems = response.json()["errors"]
    assert any(p["pointer"] == case.pointer and p["code"] == case.code for p in problems), problems
    assert all(p["message"] and p["message_zh"] for p in problems)
    assert await gateway.count_rows() == before


async def test_a_missing_or_wrong_key_is_401_and_stores_nothing(gateway: Gateway) -> None:
    before = await gateway.count_rows()
    for headers in ({}, {"Authorization": "Bearer bl_000000000000_nope"}, {"Authorization": "x"}):
        response = await gateway.client.post("/v1/births", json=valid_event(), headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert await gateway.count_rows() == before


async def test_posting_for_another_hospital_is_403(gateway: Gateway) -> None:
    before = await gateway.count_rows()
    response = await gateway.client.post(
        "/v1/births", json=valid_event(), headers=gateway.auth(OTHER)
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["pointer"] == "/hospital/code"
    assert await gateway.count_rows() == before


async def test_a_body_over_64_kib_is_413(gateway: Gateway) -> None:
    before = await gateway.count_rows()
    event = valid_event()
    event["hospital"]["name"] = "医" * (100 * 1024 // 3)
    response = await gateway.client.post("/v1/births", json=event, headers=gateway.auth(HOSPITAL))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert await gateway.count_rows() == before


async def test_a_body_that_is_not_json_is_400(gateway: Gateway) -> None:
    before = await gateway.count_rows()
    response = await gateway.client.post(
        "/v1/births",
        content=b'{"schema_version": "1",',
        headers={**gateway.auth(HOSPITAL), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert await gateway.count_rows() == before


async def test_another_hospital_cannot_read_a_birth(gateway: Gateway) -> None:
    posted = await gateway.client.post(
        "/v1/births", json=valid_event(hospital_record_id="READ-1"), headers=gateway.auth(HOSPITAL)
    )
    assert posted.status_code == 202
    birth_id = posted.json()["birth_id"]
    mine = await gateway.client.get(f"/v1/births/{birth_id}", headers=gateway.auth(HOSPITAL))
    theirs = await gateway.client.get(f"/v1/births/{birth_id}", headers=gateway.auth(OTHER))
    operator = await gateway.client.get(f"/v1/births/{birth_id}", headers=gateway.auth("operator"))
    assert mine.status_code == operator.status_code == 200
    assert theirs.status_code == 404
    assert (await gateway.client.get("/v1/births/nope", headers=gateway.auth(HOSPITAL))).json()[
        "title"
    ] == theirs.json()["title"]


async def test_the_schema_is_published(gateway: Gateway) -> None:
    schema = (await gateway.client.get("/v1/schemas/birth-event.json")).json()
    assert {"hospital", "child", "mother", "household", "services"} <= set(schema["properties"])


async def test_an_accepted_birth_links_to_real_operations_in_the_openapi_document(
    gateway: Gateway,
) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    operations = {
        op["operationId"]: op for path in document["paths"].values() for op in path.values()
    }
    links = operations["post_birth_v1_births_post"]["responses"]["202"]["links"]
    assert {"GetBirth", "GetHistory", "CorrectBirth", "CancelBirth", "TrackBirth"} <= set(links)
    for link in links.values():
        target = operations[link["operationId"]]
        names = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
        assert set(link["parameters"]) <= names
