"""A real browser for the dashboard's tests: Debian's chromium driven by Playwright.

``scripts/browser`` installs chromium; when it could not, scripts/test says why in
ARI_APP_BROWSER_UNAVAILABLE and these tests skip with that reason. ARI_APP_CHROMIUM names
another executable. Screenshots go to ARI_APP_SCREENSHOTS (default: .artifacts/dashboard).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

ROOT = Path(__file__).resolve().parents[2]


def chromium_path() -> str:
    """The chromium to drive, or skip saying why there is none."""
    unavailable = os.environ.get("ARI_APP_BROWSER_UNAVAILABLE")
    if unavailable:
        pytest.skip(f"no browser for the dashboard's tests: {unavailable}")
    found = os.environ.get("ARI_APP_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.skip("no chromium: run scripts/browser (or apt-get install chromium)")
    return found


@pytest.fixture
def screenshots() -> Path:
    where = Path(os.environ.get("ARI_APP_SCREENSHOTS", ROOT / ".artifacts" / "dashboard"))
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        # --no-sandbox: the tests run as root in CI, where chromium's sandbox refuses to start.
        launched = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            await launched.close()
