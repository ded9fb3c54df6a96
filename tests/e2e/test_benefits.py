"""The benefits on Baiyin's profile, end to end on both transports and stores:
the childcare subsidy's programmes and the maternity allowance wait for the
parents, who confirm or decline them with the page's verification; corrections
re-decide them; cancellation stops them at the department."""

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from birthlink.demo import run_demo
from birthlink.samples import baiyin_birth_event, demo_of
from tests.support.servers import wait_for
from tests.support.stack import KINDS, Stack, running_stack

pytestmark = pytest.mark.e2e
PROFILES = Path(__file__).resolve().parents[2] / "profiles"


@pytest.fixture(params=KINDS)
async def baiyin(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(request.param, tmp_path, profile="baiyin") as running:
        yield running


def birth(seed: int, number: int, *, insured: bool = True, hukou: str = "620421") -> dict[str, Any]:
    event = baiyin_birth_event(random.Random(seed), family_child_number=number, insured=insured)
    event["household"]["hukou_region"] = hukou
    return event


async def post(stack: Stack, event: dict[str, Any]) -> tuple[str, str, str]:
    """The birth id, its tracking code, and the parents' verification."""
    response = await stack.post(event)
    assert response.status_code == 202, response.text
    posted = response.json()
    return posted["birth_id"], posted["tracking_code"], event["contact"]["phone"][-6:]


async def page(stack: Stack, code: str, verification: str) -> dict[str, Any]:
    response = await stack.anonymous.get(
        f"/v1/track/{code}", headers={"X-Verification": verification}
    )
    response.raise_for_status()
    view: dict[str, Any] = response.json()
    return view


def step(view: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in view["steps"] if s["step"] == name)


async def wait_step(
    stack: Stack, code: str, verification: str, name: str, state: str
) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        shown = step(await page(stack, code, verification), name)
        return shown if shown["state"] == state else None

    return await wait_for(reached, within=60, what=f"{name} {state}")


async def answer(stack: Stack, code: str, verification: str, name: str, decision: str) -> Any:
    return await stack.anonymous.post(
        f"/v1/track/{code}/confirmations/{name}",
        json={"decision": decision},
        headers={"X-Verification": verification},
    )


def programmes(shown: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["code"]: p for p in shown["benefit"]["programmes"]}


async def test_a_second_child_in_baiyin_gets_both_programmes_once_the_parents_confirm(
    baiyin: Stack,
) -> None:
    birth_id, code, verification = await post(baiyin, birth(1, 2, insured=True))
    asked = await wait_step(baiyin, code, verification, "childcare_subsidy", "awaiting_parents")
    assert asked["benefit"]["can_decide"]
    offered = programmes(asked)
    assert offered["national"]["eligible"]
    assert offered["national"]["monthly_amount_yuan"] == "300"
    assert offered["baiyin"]["eligible"]
    assert offered["baiyin"]["months"] == 36
    assert await baiyin.records("wjw") == []  # nothing sent before they confirm

    wrong = await answer(baiyin, code, "000000", "childcare_subsidy", "confirm")
    assert wrong.status_code == 404  # the same verification as viewing
    confirmed = await answer(baiyin, code, verification, "childcare_subsidy", "confirm")
    assert confirmed.status_code == 200, confirmed.text
    again = await answer(baiyin, code, verification, "childcare_subsidy", "confirm")
    assert again.status_code == 409

    paid = await wait_step(baiyin, code, verification, "childcare_subsidy", "completed")
    assert paid["benefit"]["paid_to"].startswith("social security card")
    (grant,) = await baiyin.records("wjw")
    granted = {p["code"]: p for p in grant["data"]["programmes"]}
    first, last = offered["baiyin"]["first_month"], offered["baiyin"]["last_month"]
    assert granted["baiyin"]["first_month"] == first
    assert granted["baiyin"]["last_month"] == last
    assert set(granted) == {"national", "baiyin"}

    await answer(baiyin, code, verification, "maternity_allowance", "confirm")
    allowance = await wait_step(baiyin, code, verification, "maternity_allowance", "completed")
    assert allowance["benefit"]["days"] == "98"
    assert allowance["benefit"]["paid_to"] == "mother"
    assert allowance["benefit"]["amount_yuan"]
    final = await baiyin.wait_until_final(birth_id)
    assert final["status"] == "completed"


async def test_a_first_child_and_a_household_outside_baiyin_get_only_the_national_programme(
    baiyin: Stack,
) -> None:
    _, first, first_check = await post(baiyin, birth(2, 1, insured=False))
    _, lanzhou, lanzhou_check = await post(baiyin, birth(3, 2, hukou="620102"))

    shown = await wait_step(baiyin, first, first_check, "childcare_subsidy", "awaiting_parents")
    offered = programmes(shown)
    assert offered["national"]["eligible"]
    assert not offered["baiyin"]["eligible"]
    assert "child.family_child_number: 1" in offered["baiyin"]["reason"]["en"]
    assert "白银市育儿补贴" in offered["baiyin"]["reason"]["zh"]
    maternity = step(await page(baiyin, first, first_check), "maternity_allowance")
    assert maternity["state"] == "not_applicable"
    assert "mother.employment.insured" in maternity["benefit"]["reason"]["en"]
    assert (
        await answer(baiyin, first, first_check, "maternity_allowance", "confirm")
    ).status_code == 409

    declined = await answer(baiyin, first, first_check, "childcare_subsidy", "decline")
    assert declined.json()["state"] == "skipped"

    shown = await wait_step(baiyin, lanzhou, lanzhou_check, "childcare_subsidy", "awaiting_parents")
    assert "household.hukou_region: 620102" in programmes(shown)["baiyin"]["reason"]["en"]
    await answer(baiyin, lanzhou, lanzhou_check, "childcare_subsidy", "confirm")
    await wait_step(baiyin, lanzhou, lanzhou_check, "childcare_subsidy", "completed")
    (grant,) = await baiyin.records("wjw")  # the declined one never reached the commission
    assert [p["code"] for p in grant["data"]["programmes"]] == ["national"]


async def test_a_correction_of_the_child_number_asks_the_parents_again_with_baiyin(
    baiyin: Stack,
) -> None:
    birth_id, code, verification = await post(baiyin, birth(4, 1))
    shown = await wait_step(baiyin, code, verification, "childcare_subsidy", "awaiting_parents")
    assert not programmes(shown)["baiyin"]["eligible"]
    corrected = await baiyin.hospital.post(
        f"/v1/births/{birth_id}/corrections",
        json={"child": {"family_child_number": 2}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert corrected.status_code == 202, corrected.text

    async def asked_again() -> dict[str, Any] | None:
        shown = step(await page(baiyin, code, verification), "childcare_subsidy")
        return shown if programmes(shown)["baiyin"]["eligible"] else None

    shown = await wait_for(asked_again, within=30, what="baiyin eligible")
    assert shown["state"] == "awaiting_parents"
    history = (await baiyin.hospital.get(f"/v1/births/{birth_id}/history")).json()
    decisions = [
        h["detail"]
        for h in history["events"]
        if h["step"] == "childcare_subsidy" and h["to"] == "awaiting_parents"
    ]
    assert len(decisions) == 2
    assert "baiyin: not eligible" in decisions[0]
    assert "baiyin: eligible" in decisions[1]

    await answer(baiyin, code, verification, "childcare_subsidy", "confirm")
    await wait_step(baiyin, code, verification, "childcare_subsidy", "completed")
    (grant,) = await baiyin.records("wjw")
    assert [p["code"] for p in grant["data"]["programmes"]] == ["national", "baiyin"]


async def test_cancellation_stops_the_subsidy_at_the_commission(baiyin: Stack) -> None:
    birth_id, code, verification = await post(baiyin, birth(5, 3))
    await wait_step(baiyin, code, verification, "childcare_subsidy", "awaiting_parents")
    await answer(baiyin, code, verification, "childcare_subsidy", "confirm")
    await wait_step(baiyin, code, verification, "childcare_subsidy", "completed")
    cancelled = await baiyin.hospital.post(
        f"/v1/births/{birth_id}/cancel", json={"reason": "reported in error"}
    )
    assert cancelled.status_code == 202, cancelled.text
    await wait_step(baiyin, code, verification, "childcare_subsidy", "compensated")
    (grant,) = await baiyin.records("wjw")
    assert grant["state"] == "stopped"
    maternity = step(await page(baiyin, code, verification), "maternity_allowance")
    assert maternity["state"] == "cancelled"  # still waiting for the parents: nothing to stop


async def test_invalid_new_fields_are_refused_with_their_pointers(baiyin: Stack) -> None:
    event = birth(6, 11)
    event["mother"]["employment"] = {"employer_code": "91620402MA7123456X", "insured": "yes"}
    refused = await baiyin.post(event)
    assert refused.status_code == 422
    pointers = {e["pointer"] for e in refused.json()["errors"]}
    assert pointers == {
        "/child/family_child_number",
        "/mother/employment/employer_code",
        "/mother/employment/insured",
    }


@pytest.mark.parametrize("kind", KINDS)
async def test_a_profile_without_the_baiyin_programme_runs_the_same_births_without_it(
    kind: str, tmp_path: Path
) -> None:
    text = (PROFILES / "baiyin.toml").read_text(encoding="utf-8")
    national_only = tmp_path / "national.toml"
    national_only.write_text(text.split('\n[[programmes]]\ncode = "baiyin"')[0], encoding="utf-8")
    async with running_stack(kind, tmp_path, profile=str(national_only)) as stack:
        _, code, verification = await post(stack, birth(1, 2, insured=True))
        shown = await wait_step(stack, code, verification, "childcare_subsidy", "awaiting_parents")
        assert list(programmes(shown)) == ["national"]
        await answer(stack, code, verification, "childcare_subsidy", "confirm")
        await wait_step(stack, code, verification, "childcare_subsidy", "completed")
        (grant,) = await stack.records("wjw")
        assert [p["code"] for p in grant["data"]["programmes"]] == ["national"]


async def test_the_commission_and_the_maternity_scheme_have_the_fault_knobs(
    baiyin: Stack,
) -> None:
    """wjw fails twice (in-call retries carry it), the employee scheme refuses
    this employer: the subsidy completes, the allowance needs a correction."""
    event = birth(7, 2, insured=True)
    employer = event["mother"]["employment"]["employer_code"]
    await baiyin.faults("wjw", fail_next=2)
    await baiyin.faults(
        "nhsa", reject=[{"field": "emp_no", "equals": employer, "reason": "单位未参保"}]
    )
    _, code, verification = await post(baiyin, event)
    await wait_step(baiyin, code, verification, "maternity_allowance", "awaiting_parents")
    await answer(baiyin, code, verification, "maternity_allowance", "confirm")
    refused = await wait_step(baiyin, code, verification, "maternity_allowance", "rejected")
    assert refused["needs_parents"]
    await wait_step(baiyin, code, verification, "childcare_subsidy", "awaiting_parents")
    await answer(baiyin, code, verification, "childcare_subsidy", "confirm")
    await wait_step(baiyin, code, verification, "childcare_subsidy", "completed")
    (grant,) = await baiyin.records("wjw")
    assert grant["requests"] >= 1

    messages = (await baiyin.sandbox.get("/sms/_sandbox/messages")).json()["messages"]
    texts = [m["text"] for m in messages if m["to"] == event["contact"]["phone"]]
    assert any("育儿补贴可以领取" in t and "每月300元" in t for t in texts), texts


async def test_the_demo_table_shows_each_births_benefits(baiyin: Stack) -> None:
    key = baiyin.hospital.headers["Authorization"].removeprefix("Bearer ")
    _, births = demo_of("62")
    console = Console(record=True, width=200)
    outcomes = await run_demo(baiyin.gateway_url, key, 3, console=console, births=births)
    assert all(o.benefits.startswith("subsidy: ") for o in outcomes)
    assert all(o.status == "awaiting parents" for o in outcomes)
    printed = console.export_text()
    assert "benefits" in printed
    assert "to confirm" in printed
