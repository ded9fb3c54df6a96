"""The duplicate rule, twins, and the services parents ask for, on both stores."""

import asyncio
import copy
import random
from typing import Any

import pytest

from birthlink.samples import birth_event
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def states(birth: dict[str, Any]) -> dict[str, str]:
    return {s["step"]: s["state"] for s in birth["steps"]}


def reposted(event: dict[str, Any], record_id: str, **changes: Any) -> dict[str, Any]:
    again = copy.deepcopy(event)
    again["hospital_record_id"] = record_id
    again.update(changes)
    return again


async def test_the_same_birth_under_another_record_id_is_a_likely_duplicate(
    stack: Stack,
) -> None:
    event = birth_event(random.Random(61))
    first = (await stack.post(event)).json()["birth_id"]

    duplicate = await stack.post(reposted(event, "DUP-2"))
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == "application/problem+json"
    assert duplicate.json()["birth_id"] == first
    assert duplicate.json()["code"] == "likely_duplicate"
    assert "duplicate_of_checked" in duplicate.json()["detail"]

    confirmed = await stack.post(reposted(event, "DUP-3", duplicate_of_checked=True))
    assert confirmed.status_code == 202
    assert confirmed.json()["birth_id"] != first

    # Once the first is cancelled (reported in error), it is no longer a duplicate.
    cancelled = await stack.hospital.post(
        f"/v1/births/{first}/cancel", json={"reason": "posted twice"}
    )
    assert cancelled.status_code == 202
    await stack.hospital.post(
        f"/v1/births/{confirmed.json()['birth_id']}/cancel", json={"reason": "posted twice"}
    )
    assert (await stack.post(reposted(event, "DUP-4"))).status_code == 202


async def test_a_birth_posted_twice_at_the_same_moment_is_registered_once(stack: Stack) -> None:
    """A hospital system that double-submits: the same birth under two record ids,
    both posts at once, for 20 births. Each birth is stored once: one post is
    accepted, the other answered 409 with the birth that was."""
    rng = random.Random(63)
    events = [birth_event(rng) for _ in range(20)]
    pairs = [(event, reposted(event, f"{event['hospital_record_id']}-B")) for event in events]
    answers = await asyncio.gather(*(stack.post(e) for pair in pairs for e in pair))
    for first, second in zip(answers[::2], answers[1::2], strict=True):
        assert sorted((first.status_code, second.status_code)) == [202, 409]
        accepted, refused = (first, second) if first.status_code == 202 else (second, first)
        assert refused.json()["code"] == "likely_duplicate"
        assert refused.json()["birth_id"] == accepted.json()["birth_id"]
    listed = await stack.hospital.get("/v1/births", params={"limit": 200})
    assert len(listed.json()["births"]) == 20


async def test_twins_are_not_duplicates_but_a_second_post_of_one_twin_is(stack: Stack) -> None:
    event = birth_event(random.Random(62))
    event["child"]["plurality"] = 2
    event["child"]["birth_order"] = 1
    twin = reposted(event, "TWIN-2")
    twin["child"]["birth_order"] = 2
    twin["child"]["name"] = event["child"]["name"][0] + "二"
    first = await stack.post(event)
    second = await stack.post(twin)
    assert (first.status_code, second.status_code) == (202, 202)
    again = await stack.post(reposted(twin, "TWIN-3"))
    assert again.status_code == 409
    assert again.json()["birth_id"] == second.json()["birth_id"]


async def test_services_not_asked_for_are_skipped_with_the_steps_that_need_them(
    stack: Stack,
) -> None:
    no_insurance = birth_event(random.Random(63))
    no_insurance["services"] = [
        "birth_certificate",
        "vaccination_record",
        "household_registration",
        "social_security_card",
    ]
    # Household registration asked for, but not the certificate whose number it needs.
    no_certificate = birth_event(random.Random(64))
    no_certificate["services"] = [
        "vaccination_record",
        "household_registration",
        "medical_insurance",
    ]
    ids = [(await stack.post(e)).json()["birth_id"] for e in (no_insurance, no_certificate)]
    first, second = [await stack.wait_until_final(i) for i in ids]

    assert first["status"] == "completed"
    assert states(first) == {
        "birth_certificate": "completed",
        "vaccination_record": "completed",
        "household_registration": "completed",
        "medical_insurance": "skipped",
        "social_security_card": "skipped",  # the card waits for the insurance number
    }
    assert second["status"] == "completed"
    assert states(second) == {
        "birth_certificate": "skipped",
        "vaccination_record": "completed",
        "household_registration": "skipped",  # needs the certificate number
        "medical_insurance": "skipped",  # needs the citizen ID
        "social_security_card": "skipped",
    }
    assert second["services"] == no_certificate["services"]
    assert second["consent"] == no_certificate["consent"]
    assert len(await stack.records("mps")) == 1  # only the first birth's
    assert await stack.records("nhsa") == []
    assert await stack.records("hrss") == []
    history = (await stack.hospital.get(f"/v1/births/{ids[1]}/history")).json()["events"]
    skipped = {e["step"]: e["detail"] for e in history if e["to"] == "skipped"}
    assert skipped["birth_certificate"] == "not asked for"
    assert skipped["household_registration"] == "a step it needs is skipped"
    assert skipped["medical_insurance"] == "a step it needs is skipped"
