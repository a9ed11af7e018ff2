"""Browser tests: Playwright for Python driving Debian's Chromium against the sandbox web chat.

Each test gets a fresh headless Chromium and a `Steps` recorder that saves a screenshot of every
step under `test-output/browser/<test name>/`. Without Chromium or Playwright the tests skip
loudly, and fail under IPDESK_REQUIRE_SERVICES=1 (as `.ci/run` sets).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
OUTPUT = REPO_ROOT / "test-output" / "browser"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}

try:
    from playwright.async_api import Browser, Page, async_playwright, expect
except ImportError:  # reported by the fixture below
    async_playwright = None  # type: ignore[assignment]


def _missing() -> str | None:
    if async_playwright is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if (reason := _missing()) is not None:
        if os.environ.get("IPDESK_REQUIRE_SERVICES") == "1":
            pytest.fail(reason + " and IPDESK_REQUIRE_SERVICES=1")
        pytest.skip(reason)
    expect.set_options(timeout=15_000)  # the bot answers within a second; CI may be loaded
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


class Steps:
    """Numbered screenshots of a test's steps, and the page's script errors."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.count = 0
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    async def shot(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        await self.page.wait_for_timeout(150)  # let the last frame paint
        await self.page.screenshot(path=str(path))
        return path


@pytest.fixture
async def open_page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """`await open_page(url, viewport)` -> (page, steps); screenshots go to the test's folder."""
    folder = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    opened: list[tuple[Any, Steps]] = []

    async def open_(url: str, viewport: dict[str, int] = DESKTOP) -> tuple[Page, Steps]:
        context = await browser.new_context(viewport=viewport, locale="en-US")
        page = await context.new_page()
        steps = Steps(page, folder)
        await page.goto(url)
        await expect(page.locator("#status")).to_have_text("live")
        opened.append((context, steps))
        return page, steps

    yield open_
    for context, steps in opened:
        await context.close()
        assert steps.errors == [], f"script errors on the page: {steps.errors}"


def picture(width: int = 480, height: int = 320) -> bytes:
    """A PNG that looks like something (a sky, a street, a red box with a white logo)."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter: none
        for x in range(width):
            if 150 < x < 330 and 90 < y < 250:  # the box
                logo = 200 < x < 280 and 140 < y < 200 and (x + y) % 18 < 9
                pixel = (250, 250, 250) if logo else (200, 40, 50)
            elif y > 230:
                pixel = (90, 90, 100)  # the street
            else:
                pixel = (120 + y // 4, 170 + y // 6, 230)  # the sky
            row.extend(pixel)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + chunk(b"IEND", b"")
    )
