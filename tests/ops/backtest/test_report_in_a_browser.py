"""report.html in headless Chromium: the summary shows, both charts load, nothing is
fetched from the network. A screenshot is kept in test-artifacts/backtest/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from ops.backtest.report import write_report
from tests.ops.backtest.sample import random_result

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "backtest"


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    return CHROMIUM


@pytest.mark.timeout(90)
async def test_the_report_opens_offline_with_its_tables_and_charts(
    tmp_path: Path, chromium: str
) -> None:
    files = write_report(random_result(n_days=300, seed=5, strategies=3, risk_free_rate=0.065),
                         tmp_path / "report")  # fmt: skip
    requested: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda r: requested.append(r.url))
            await page.goto(files.html.as_uri(), wait_until="load")
            assert await page.locator("table#returns").is_visible()
            assert await page.locator("table#trading").is_visible()
            rows = page.locator("table#returns tbody tr")
            assert await rows.count() == 4  # three strategies and the total
            assert await rows.last.locator("td").first.inner_text() == "total"
            for chart in ("#equity-chart", "#strategies-chart"):
                width = await page.eval_on_selector(
                    chart, "img => img.complete && img.naturalWidth"
                )
                assert width and width > 0, chart
            assert await page.locator("table#trades tbody tr").count() == 500
            assert await page.get_by_text("2 findings in the data").is_visible()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = tmp_path / "report.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 0
            shutil.copy(shot, ARTIFACTS / "report.png")
        finally:
            await browser.close()
    # the page itself and its inlined images only: no network
    assert all(url.startswith(("file:", "data:")) for url in requested), requested
