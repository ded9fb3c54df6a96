"""The benefits on the tracking page in a real browser (Chromium, headless), on
Baiyin's profile: each programme with its amount and months, the reason of one
that does not apply, the parents confirming on the page, and who is paid; on a
phone, with the accessibility checks of the other pages."""

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from birthlink.samples import baiyin_birth_event
from tests.browser.conftest import PHONE, new_page, serious_violations
from tests.browser.test_tracking_page import look_up, step
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
async def baiyin_site(tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(
        "inprocess-sqlite", tmp_path, profile="baiyin", tracking_stream_s=1.5
    ) as stack:
        yield stack


async def test_parents_confirm_the_childcare_subsidy_on_the_page(
    baiyin_site: Stack, browser: Browser, axe_script: Path, screenshots: Path
) -> None:
    event = baiyin_birth_event(random.Random(71), family_child_number=2, insured=False)
    posted = (await baiyin_site.post(event)).json()
    page = await new_page(browser, PHONE)
    await look_up(page, baiyin_site, posted["tracking_code"], event["contact"]["phone"][-6:])

    subsidy = step(page, "childcare_subsidy")
    await expect(subsidy).to_have_attribute("data-state", "awaiting_parents", timeout=30_000)
    await expect(subsidy.locator('[data-programme="national"]')).to_contain_text("每月 300 元")
    await expect(subsidy.locator('[data-programme="baiyin"]')).to_contain_text("共 36 个月")
    maternity = step(page, "maternity_allowance")
    await expect(maternity.locator(".reason")).to_contain_text("mother.employment.insured")
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=screenshots / "track-benefits-asked-zh.png", full_page=True)
    assert await serious_violations(page, axe_script) == []

    await subsidy.get_by_role("button", name="确认申请").click()
    await expect(subsidy).to_have_attribute("data-state", "completed", timeout=30_000)
    await expect(subsidy.locator(".paid-to")).to_contain_text("social security card")
    await expect(subsidy.get_by_role("button")).to_have_count(0)
    await page.screenshot(path=screenshots / "track-benefits-paid-zh.png", full_page=True)
    assert await serious_violations(page, axe_script) == []

    await page.get_by_role("button", name="Switch to English").click()
    await expect(subsidy.locator('[data-programme="baiyin"]')).to_contain_text("yuan a month")
    await expect(maternity.locator(".badge")).to_have_text("Does not apply")
    await page.screenshot(path=screenshots / "track-benefits-paid-en.png", full_page=True)
    grants = await baiyin_site.records("wjw")
    assert [p["code"] for p in grants[0]["data"]["programmes"]] == ["national", "baiyin"]
