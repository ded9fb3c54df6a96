"""The tracking page in a real browser (Chromium, headless) against the whole
system on real HTTP: look a birth up, watch it change live, switch language,
wrong tries, accessibility (axe-core), and the screenshots of docs/screenshots
(to a temporary folder unless `--update-screenshots`: scripts/screenshots)."""

import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from birthlink.samples import birth_event
from tests.browser.conftest import DESKTOP, DOCUMENTED, PHONE, new_page, serious_violations
from tests.support.servers import wait_for
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.e2e

LIVE_WITHIN_MS = 2000
REVIEW_S = 5  # long enough for the page to open before the review ends


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Stack]:
    """The system, with quick retries, and live streams that the server ends
    every 1.5 s so that the page's reconnection is exercised all along."""
    async with running_stack(
        "inprocess-sqlite", tmp_path, retry_ladder_s=(0.5,), tracking_stream_s=1.5
    ) as stack:
        yield stack


async def post_birth(site: Stack, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    event = birth_event(random.Random(seed))
    response = await site.post(event)
    assert response.status_code == 202
    return event, response.json()


async def look_up(page: Page, site: Stack, code: str, verification: str) -> None:
    await page.goto(f"{site.gateway_url}/track")
    await page.get_by_label("追踪码").fill(code)
    await page.get_by_label("验证码").fill(verification)
    await submit(page)


async def submit(page: Page) -> None:
    """Press the button and wait for the gateway's answer."""
    async with page.expect_response(lambda r: "/v1/track/" in r.url):
        await page.get_by_role("button", name="查询").click()


def test_a_test_run_leaves_the_documented_screenshots_alone(
    screenshots: Path, request: pytest.FixtureRequest
) -> None:
    updating = request.config.getoption("--update-screenshots")
    assert (screenshots == DOCUMENTED) == updating
    if not updating:
        assert DOCUMENTED not in screenshots.resolve().parents
        assert not screenshots.resolve().is_relative_to(DOCUMENTED.parent.parent)


def step(page: Page, name: str) -> Any:
    return page.locator(f'#timeline li[data-step="{name}"]')


async def test_parents_see_five_steps_that_change_live_without_a_reload(
    site: Stack, browser: Browser, axe_script: Path, screenshots: Path
) -> None:
    await site.faults("mps", later_delay_s=REVIEW_S)  # the household review takes a while
    event, posted = await post_birth(site, 61)
    page = await new_page(browser, DESKTOP)
    await look_up(page, site, posted["tracking_code"], event["mother"]["id_number"][-6:])

    await expect(page.locator("#timeline li")).to_have_count(5)
    assert page.url == f"{site.gateway_url}/track"  # the code is not in the address
    household = step(page, "household_registration")
    await expect(household).to_have_attribute("data-state", "awaiting_department")
    await expect(household.locator(".badge")).to_have_text("部门审核中")
    await expect(step(page, "birth_certificate")).to_have_attribute("data-state", "completed")
    await expect(step(page, "vaccination_record")).to_have_attribute("data-state", "completed")
    await expect(step(page, "medical_insurance").locator(".badge")).to_have_text("等待前一步完成")
    await expect(page.locator("#summary")).to_contain_text("正在办理")
    await page.screenshot(path=screenshots / "track-desktop-zh.png", full_page=True)
    assert await serious_violations(page, axe_script) == []

    # The department finishes its review in the sandbox and calls back: the
    # page shows it within 2 seconds of the gateway knowing, with no reload.
    await page.evaluate("() => { window.notReloaded = true; }")

    async def completed_at_gateway() -> float | None:
        birth = await site.birth(posted["birth_id"])
        states = {s["step"]: s["state"] for s in birth["steps"]}
        return time.monotonic() if states["household_registration"] == "completed" else None

    changed = await wait_for(completed_at_gateway, within=30, interval=0.02, what="review")
    await expect(household).to_have_attribute("data-state", "completed", timeout=LIVE_WITHIN_MS)
    seen_after = time.monotonic() - changed
    assert seen_after < LIVE_WITHIN_MS / 1000
    print(f"page showed the change {seen_after * 1000:.0f} ms after the gateway")
    assert await page.evaluate("() => window.notReloaded") is True
    await expect(page.locator("#announce")).to_contain_text("户口登记: 已完成")
    masked = await _masked_citizen_id(site, posted["birth_id"])
    assert "*" * 8 in masked
    await expect(household.locator(".doc", has_text="公民身份号码").locator("dd")).to_have_text(
        masked
    )

    await expect(page.locator("#summary")).to_contain_text("全部办结", timeout=20_000)
    await expect(page.locator("#timeline li[data-state=completed]")).to_have_count(5)
    await page.get_by_role("button", name="Switch to English").click()
    await expect(page.locator("#summary")).to_contain_text("All done")
    await page.screenshot(path=screenshots / "track-desktop-en.png", full_page=True)
    assert await serious_violations(page, axe_script) == []


async def _masked_citizen_id(site: Stack, birth_id: str) -> str:
    birth = await site.birth(birth_id)
    citizen_id: str = next(
        s["output"]["citizen_id"] for s in birth["steps"] if s["step"] == "household_registration"
    )
    return citizen_id[:6] + "*" * 8 + citizen_id[-4:]


async def test_english_by_a_switch_remembered_on_the_phone(
    site: Stack, browser: Browser, axe_script: Path, screenshots: Path
) -> None:
    event, posted = await post_birth(site, 62)
    await site.wait_until_final(posted["birth_id"])
    page = await new_page(browser, PHONE)
    await look_up(page, site, posted["tracking_code"], event["contact"]["phone"][-6:])
    await expect(page.locator("#summary")).to_contain_text("全部办结")
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=screenshots / "track-phone-zh.png", full_page=True)
    assert await serious_violations(page, axe_script) == []

    await page.get_by_role("button", name="Switch to English").click()
    await expect(page.locator("h1")).to_have_text("Follow your baby's registrations")
    await expect(step(page, "birth_certificate").locator("h3")).to_have_text(
        "Birth medical certificate"
    )
    await expect(step(page, "birth_certificate").locator(".badge")).to_have_text("Done")
    assert await page.evaluate("() => document.documentElement.lang") == "en"
    await page.screenshot(path=screenshots / "track-phone-en.png", full_page=True)
    assert await serious_violations(page, axe_script) == []

    # Offline, then back: the page says so, reconnects, and says it no more.
    await page.context.set_offline(True)
    await expect(page.locator("#connection")).to_be_visible()
    await expect(page.locator("#connection")).to_contain_text("Connection lost")
    await page.context.set_offline(False)
    await expect(page.locator("#connection")).to_be_hidden(timeout=5_000)

    # The choice is remembered on the device; the code and verification are not.
    await page.reload()
    await expect(page.locator("h1")).to_have_text("Follow your baby's registrations")
    await expect(page.get_by_label("Tracking code")).to_have_value("")
    await expect(page.locator("#result")).to_be_hidden()


async def test_a_wrong_verification_reads_like_an_unknown_code_and_the_sixth_is_refused(
    site: Stack, browser: Browser
) -> None:
    event, posted = await post_birth(site, 63)
    page = await new_page(browser, DESKTOP)
    await look_up(page, site, posted["tracking_code"], "000000")
    alert = page.get_by_role("alert")
    await expect(alert).to_be_visible()
    wrong = await alert.text_content()
    await look_up(page, site, "ABCD-EFGH-JKMN", event["mother"]["id_number"][-6:])
    await expect(alert).to_be_visible()
    assert wrong == "没有找到与追踪码和验证码相符的记录，请检查后再试。"  # noqa: RUF001
    assert await alert.text_content() == wrong
    await expect(page.locator("#result")).to_be_hidden()

    for attempt in range(2, 6):  # wrong tries 2 to 5 on that code
        await page.get_by_label("验证码").fill(f"{attempt:06d}")
        await submit(page)
        await expect(alert).to_have_text(wrong or "")
    await page.get_by_label("验证码").fill("000006")
    await submit(page)  # the 6th on that code from this address
    await expect(alert).to_contain_text("尝试次数过多")
    await expect(alert).to_contain_text("15 分钟后再试")  # a wait in minutes, not 900 seconds
    await expect(page.locator("#result")).to_be_hidden()

    # Guessing at one code locks nobody at this address out of their own.
    await page.get_by_label("追踪码").fill(posted["tracking_code"])
    await page.get_by_label("验证码").fill(event["mother"]["id_number"][-6:])
    await submit(page)
    await expect(page.locator("#result")).to_be_visible()


async def test_a_refused_step_tells_the_parents_what_to_do(
    site: Stack, browser: Browser, axe_script: Path, screenshots: Path
) -> None:
    event = birth_event(random.Random(64))
    reason = "母亲证件信息与出生登记不符"
    mother = event["mother"]["id_number"]
    await site.faults("nhc", reject=[{"field": "mqsfzh", "equals": mother, "reason": reason}])
    posted = (await site.post(event)).json()
    page = await new_page(browser, PHONE)
    await look_up(page, site, posted["tracking_code"], mother[-6:])
    certificate = step(page, "birth_certificate")
    await expect(certificate).to_have_attribute("data-state", "rejected")
    await expect(certificate.locator(".badge")).to_have_text("需要更正信息")
    note = certificate.get_by_role("note")
    await expect(note).to_contain_text(reason)
    await expect(note).to_contain_text("请联系出生医院更正信息")
    await expect(page.locator("#summary")).to_contain_text("有事项需要处理")
    await expect(page.locator("#summary")).to_contain_text("请按下方标出的说明办理")
    await expect(step(page, "vaccination_record")).to_have_attribute("data-state", "completed")
    await page.screenshot(path=screenshots / "track-phone-zh-action.png", full_page=True)
    assert await serious_violations(page, axe_script) == []
