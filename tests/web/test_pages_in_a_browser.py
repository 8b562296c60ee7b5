"""The pages in headless Chromium against a running system: each page loads and goes
live, the figures change without a reload, and paper is halted and resumed from the page
with the token (asked once, kept for the session). Screenshots: test-artifacts/web/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Dialog, Page, async_playwright

from tests.web.conftest import ARTIFACTS, TOKEN, System

CHROMIUM = "/usr/bin/chromium"
PAGES = {
    "overview": "/",
    "tree": "/tree",
    "portfolio": "/portfolio?by=strategy",
    "blotter": "/blotter",
    "strategies": "/strategies",
    "dlq": "/dlq",
    "bridge": "/bridge",
}
WAIT_MS = 60_000


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    return CHROMIUM


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def _figure(page: Page, name: str) -> str:
    return await page.locator(f'.card[data-broker="paper"] [data-fig="{name}"]').inner_text()


@pytest.mark.timeout(240)
async def test_every_page_goes_live_and_paper_is_halted_and_resumed_from_it(
    system: System, chromium: str
) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            for name, path in PAGES.items():
                await page.goto(system.base + path)
                await page.wait_for_selector("#live.on", timeout=WAIT_MS)
                assert await page.locator("#region").inner_text(), name
                await _shot(page, name)
            assert not errors, errors

            # live: the tick count changes in place, without a reload
            await page.goto(system.base + "/")
            await page.wait_for_selector("#live.on", timeout=WAIT_MS)
            ticks = await _figure(page, "ticks")
            await page.wait_for_function(
                """t => { const e = document.querySelector('.card[data-broker="paper"] [data-fig="ticks"]');
                          return e && e.textContent !== t; }""",
                arg=ticks,
                timeout=WAIT_MS,
            )

            asked: list[str] = []

            async def enter_token(dialog: Dialog) -> None:
                asked.append(dialog.message)
                await dialog.accept(TOKEN)

            page.on("dialog", enter_token)
            card = page.locator('.card[data-broker="paper"]')
            await card.locator('button[data-action="halt"]').click()
            await page.wait_for_selector("#toast:not([hidden])", timeout=WAIT_MS)
            assert "done" in await page.locator("#toast").inner_text()
            await page.wait_for_selector(
                '.card[data-broker="paper"] .state.s-halted', timeout=WAIT_MS
            )
            await _shot(page, "overview-halted")
            await page.locator('.card[data-broker="paper"] button[data-action="resume"]').click()
            await page.wait_for_selector(
                '.card[data-broker="paper"] .state.s-active', timeout=WAIT_MS
            )
            assert len(asked) == 1, "the token is asked once per browser session"
            assert TOKEN not in page.url
            await _shot(page, "overview")

            # a narrow window: still one readable column
            await page.set_viewport_size({"width": 420, "height": 900})
            await page.wait_for_selector("#live.on", timeout=WAIT_MS)
            await _shot(page, "overview-narrow")
        finally:
            await browser.close()
