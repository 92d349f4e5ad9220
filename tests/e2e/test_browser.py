"""What an operator sees, in headless Chromium driven by Playwright: sign in, an alarm appears in
the live queue, open it, acknowledge it. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from simulators.district import District
from simulators.publisher import Publisher
from simulators.scenario import DEMO
from simulators.simulation import Simulation
from store.database import prepare
from tests.e2e.chromium import CHROMIUM, launch
from tests.servers import Mosquitto, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.db, pytest.mark.broker]

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "browser-pass-1"


async def test_operator_signs_in_sees_an_alarm_arrive_and_acknowledges_it(
        mosquitto: Mosquitto, db_url: str) -> None:
    playwright = pytest.importorskip("playwright.async_api")
    assert Path(CHROMIUM).exists(), "chromium is required (apt-get install chromium)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    district = District.generate(seed=8, homes=4, care_homes=0)
    await prepare(db_url)
    await seed_district(db_url, district, demo_password=PASSWORD)
    async with Platform(settings=Settings(), db_url=db_url, broker_url=mosquitto.url,
                        port=free_port(), client_id="browser-ingest") as platform, \
            playwright.async_playwright() as p:
        browser = await launch(p)
        page = await browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-GB",
                                      timezone_id="Asia/Shanghai")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(platform.console_url + "/")

        await page.fill("#username", "op1")
        await page.fill("#password", "wrong")
        await page.click("#signin-submit")
        await page.wait_for_selector("#signin-error:not([hidden])")
        assert "wrong" in (await page.text_content("#signin-error") or "").lower()

        await page.fill("#password", PASSWORD)
        await page.click("#signin-submit")
        await page.wait_for_selector("#conn-state[data-state=live]", timeout=10_000)
        await page.screenshot(path=str(SHOTS / "operator-empty-queue.png"))

        sim = Simulation(district, DEMO, seed=2, start=time.time())
        publisher = Publisher(mosquitto.url, client_id="browser-device")
        await asyncio.to_thread(publisher.connect)
        button = next(d for d in district.devices if d.kind == "button")
        resident = next(r for r in district.residents if r.id == button.resident_id)
        publisher.publish(sim.press(button.id))
        row = page.locator("#queue .alarm").first
        await row.wait_for(timeout=5_000)
        assert resident.name in (await row.locator(".resident").text_content() or "")
        assert await page.text_content("#waiting-count") == "1"
        await page.screenshot(path=str(SHOTS / "operator-alarm-arrived.png"))

        await row.click()
        await page.wait_for_selector("#detail #ack-button", timeout=5_000)
        detail_text = await page.text_content("#detail") or ""
        assert button.id in detail_text
        await page.screenshot(path=str(SHOTS / "operator-alarm-detail.png"))
        await page.click("#ack-button")
        await page.wait_for_function(
            "document.querySelectorAll('#queue .alarm').length === 0", timeout=5_000)
        assert await page.text_content("#waiting-count") == "0"
        await page.screenshot(path=str(SHOTS / "operator-acknowledged.png"))
        publisher.close()
        await browser.close()
        assert errors == []
    import psycopg

    with psycopg.connect(db_url) as conn:
        row_db = conn.execute("SELECT status, acknowledged_by FROM alarms").fetchone()
        audit = conn.execute("SELECT actor, action FROM audit").fetchall()
    assert row_db == ("acknowledged", "op1")  # claiming the incident answered its alarm
    actions = [action for _, action in audit]
    assert actions.count("claim") == 1 and ("op1", "claim") in audit
    assert {"read_health_record"} <= set(actions)  # opening the panel read the health record
