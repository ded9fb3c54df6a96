"""FHIR end to end (issue 14): BFDR-shaped Bundles posted by a hospital complete at
all five departments, on both transports and stores, and read back as Tasks."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from stdnum.cn import ric

from tests.cases.fhir_bundles import (
    FHIR_JSON,
    as_message,
    example,
    post_kwargs,
    shifted,
    twin,
    with_ignored_resources,
    without_father,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


async def post(stack: Stack, bundle: dict[str, Any]) -> Any:
    return await stack.hospital.post("/v1/births", **post_kwargs(bundle))


async def tasks(stack: Stack, birth_id: str) -> list[dict[str, Any]]:
    answer = await stack.hospital.get(f"/v1/births/{birth_id}", headers={"Accept": FHIR_JSON})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    body = answer.json()
    assert body["type"] == "searchset"
    return [e["resource"] for e in body["entry"]]


def output(task: dict[str, Any], key: str) -> Any:
    return next(
        o.get("valueString", o.get("valueInteger"))
        for o in task["output"]
        if o["type"]["coding"][0]["code"] == key
    )


async def test_the_example_bundle_completes_and_reads_back_as_completed_tasks(
    stack: Stack,
) -> None:
    bundle = shifted(example(), datetime.now(UTC), "FHIR-E2E-0001")
    posted = await post(stack, bundle)
    assert posted.status_code == 202, posted.text
    birth_id = posted.json()["birth_id"]
    again = await post(stack, bundle)
    assert again.status_code == 200
    assert again.json()["birth_id"] == birth_id
    birth = await stack.wait_until_final(birth_id, within=90)
    assert birth["status"] == "completed", birth
    found = await tasks(stack, birth_id)
    assert {t["status"] for t in found} == {"completed"}
    assert {t["businessStatus"]["coding"][0]["code"] for t in found} == {"completed"}
    by_step = {t["code"]["coding"][0]["code"]: t for t in found}
    citizen_id = output(by_step["household_registration"], "citizen_id")
    assert ric.is_valid(citizen_id)
    assert citizen_id[:6] == "330106"
    assert output(by_step["birth_certificate"], "certificate_number")
    assert output(by_step["social_security_card"], "card_number")
    for department in ("nhc", "cdc", "mps", "nhsa", "hrss"):
        records = await stack.records(department)
        assert len(records) == 1, department  # posted twice, sent once
        assert records[0]["requests"] == 1


async def test_twins_as_document_and_message_no_father_and_a_noisy_document_all_complete(
    stack: Stack,
) -> None:
    now = datetime.now(UTC)
    bundles = [
        shifted(twin(example(), 1, "FHIR-TWIN-1"), now, "FHIR-TWIN-1"),
        as_message(shifted(twin(example(), 2, "FHIR-TWIN-2"), now, "FHIR-TWIN-2")),
        shifted(without_father(example()), now - timedelta(hours=5), "FHIR-NOFATHER-1"),
        shifted(with_ignored_resources(example()), now - timedelta(hours=9), "FHIR-NOISY-1"),
    ]
    posted = await asyncio.gather(*(post(stack, b) for b in bundles))
    assert [p.status_code for p in posted] == [202] * 4, [p.text for p in posted]
    births = await asyncio.gather(
        *(stack.wait_until_final(p.json()["birth_id"], within=90) for p in posted)
    )
    assert [b["status"] for b in births] == ["completed"] * 4
    ids = [
        output(
            next(
                t
                for t in await tasks(stack, b["birth_id"])
                if t["code"]["coding"][0]["code"] == "household_registration"
            ),
            "citizen_id",
        )
        for b in births
    ]
    assert len(set(ids)) == 4
