"""Launching the machine's Chromium for Playwright tests. Browsers cannot be downloaded here, so
Debian's chromium is used; the flags keep it off the (closed) network at start-up."""

from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


async def launch(playwright: Any) -> Any:
    """A headless Chromium from an ``async_playwright()`` context."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
