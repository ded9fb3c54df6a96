"""Playwright on Debian's Chromium (never a downloaded browser), and axe-core
from the npm registry (`npm ci` in this directory; done here when missing).

Screenshots go to a temporary folder, so that a test run leaves the tracked
docs/screenshots/*.png alone; `scripts/screenshots` (pytest's
`--update-screenshots`) refreshes the documented ones."""

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

HERE = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
DOCUMENTED = HERE.parent.parent / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core's script, installed from package-lock.json if it is not there yet."""
    if not AXE.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    return AXE


@pytest.fixture(scope="session")
def screenshots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save their screenshots: docs/screenshots with
    `--update-screenshots`, else a temporary folder (printed with `-s`)."""
    if request.config.getoption("--update-screenshots"):
        return DOCUMENTED
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"screenshots: {folder}")
    return folder


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser, viewport: dict[str, int], **options: Any) -> Page:
    """A page in a fresh context (its own storage); CSP bypassed only so that the
    tests can inject axe-core."""
    context = await browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        bypass_csp=True,
        device_scale_factor=2 if viewport == PHONE else 1,
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
        locale="zh-CN",
        **options,
    )
    return await context.new_page()


async def serious_violations(page: Page, axe: Path) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    await page.add_script_tag(path=str(axe))
    result: dict[str, Any] = await page.evaluate("() => axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
