"""``console/static/clock.js`` in Chromium: the server-clock offset taken from HTTP Date headers.

The page's modules are served from the repository by Playwright's request routing, so no console
(and no database) is needed: this is a unit test of one module in the browser that runs it."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.chromium import CHROMIUM, launch

pytestmark = [pytest.mark.e2e]

STATIC = Path(__file__).resolve().parents[2] / "console" / "static"
ORIGIN = "http://clock.test"


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    playwright = pytest.importorskip("playwright.async_api")
    assert Path(CHROMIUM).exists(), "chromium is required (apt-get install chromium)"

    async def serve(route: Any) -> None:
        name = route.request.url.removeprefix(ORIGIN + "/")
        path = STATIC / name
        if name == "blank.html":
            await route.fulfill(body="<!doctype html><title>clock</title>",
                                content_type="text/html")
        elif path.is_file() and STATIC in path.resolve().parents:
            await route.fulfill(body=path.read_bytes(),
                                content_type=mimetypes.guess_type(name)[0] or "text/plain")
        else:
            await route.fulfill(status=404, body="")

    async with playwright.async_playwright() as p:
        browser = await launch(p)
        try:
            tab = await browser.new_page()
            await tab.route(ORIGIN + "/**", serve)
            await tab.goto(ORIGIN + "/blank.html")
            yield tab
        finally:
            await browser.close()


OFFSET = """async ([header, sent, received]) => {
  const clock = await import("/clock.js");
  clock.noteServerDate(header, sent, received);
  return clock.now() - Date.now();
}"""


def _http_date(ms: float) -> str:
    return formatdate(ms / 1000.0, usegmt=True)


async def _offset(page: Any, server_ms: float, sent: float, received: float) -> float:
    value = await page.evaluate(OFFSET, [_http_date(server_ms), sent, received])
    return float(value)


async def test_a_slow_answer_from_a_server_in_step_moves_nothing(page: Any) -> None:
    now = float(await page.evaluate("Date.now()"))
    # the server stamped its (second-resolution, once-a-second) Date as the request arrived,
    # and the answer took 3 s to come back
    offset = await _offset(page, now - 3500, sent=now - 3600, received=now)
    assert abs(offset) < 50


async def test_a_server_ahead_or_behind_is_followed(page: Any) -> None:
    now = float(await page.evaluate("Date.now()"))
    ahead = await _offset(page, now + 300_000, sent=now - 100, received=now)
    assert 297_000 < ahead < 300_100
    behind = await _offset(page, now - 300_000, sent=now - 100, received=now)
    assert -300_100 < behind < -297_000


async def test_a_missing_or_bad_header_keeps_the_last_offset(page: Any) -> None:
    now = float(await page.evaluate("Date.now()"))
    await _offset(page, now + 60_000, sent=now - 100, received=now)
    kept = await page.evaluate("""async () => {
      const clock = await import("/clock.js");
      clock.noteServerDate(null, Date.now(), Date.now());
      clock.noteServerDate("not a date", Date.now(), Date.now());
      return clock.now() - Date.now();
    }""")
    assert 57_000 < float(kept) < 60_100
