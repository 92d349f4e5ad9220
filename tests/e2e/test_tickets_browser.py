"""A service ticket as people handle it, in headless Chromium driven by Playwright: the operator
logs a call, the provider's staff (told that the elder is staying at her daughter's) accept
it, start the visit where the phone is and finish it, and the family rates it. Screenshots go
to artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from simulators.district import District
from tests.e2e.chromium import CHROMIUM, launch
from tests.e2e.shots import SHOTS, shoot
from tests.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.db]

PASSWORD = "tickets-pass-1"
WHERE = {"latitude": 31.2304, "longitude": 121.4737}


async def _sign_in(page: Any, url: str, user: str) -> None:
    await page.goto(url + "/")
    await page.fill("#username", user)
    await page.fill("#password", PASSWORD)
    await page.click("#signin-submit")


async def test_operator_logs_a_call_provider_visits_and_family_rates(db_url: str) -> None:
    playwright = pytest.importorskip("playwright.async_api")
    assert Path(CHROMIUM).exists(), "chromium is required (apt-get install chromium)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    district = District.generate(seed=8, homes=4, care_homes=0)
    await seed_district(db_url, district, demo_password=PASSWORD)
    with psycopg.connect(db_url) as conn:  # her daughter said she is staying with her
        conn.execute("INSERT INTO resident_places (resident_id, name, lat, lon, radius_m,"
                     " changed_by, ends_at, by_family) VALUES ('r-h0001', '小女儿家',"
                     " 31.21, 121.42, 200, 'family1', '2099-01-02T04:00:00Z', true)")
    async with Platform(settings=Settings(), db_url=db_url, broker_url=None, services=("console",),
                        port=free_port()) as platform, playwright.async_playwright() as p:
        browser = await launch(p)
        errors: list[str] = []

        # The operator logs a housekeeping call for r-h0001 (the city's home-care service).
        context = await browser.new_context(viewport={"width": 1280, "height": 800},
                                            locale="en-GB", timezone_id="Asia/Shanghai")
        page = await context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        await _sign_in(page, platform.console_url, "op2")
        await page.click("#service-call-toggle")
        await page.fill("#service-call-resident", "r-h0001")
        await page.select_option("#service-call-type", "housekeeping")
        await page.fill("#service-call-notes", "Kitchen needs cleaning")
        await page.click("#service-call-form button[type=submit]")
        await page.wait_for_selector(".service-call .status-line:has-text('sent to')",
                                     timeout=5_000)
        await shoot(page, "tickets-operator-logged.png")
        await context.close()

        # The provider, with the phone's location allowed.
        context = await browser.new_context(viewport={"width": 420, "height": 860}, locale="en-GB",
                                            timezone_id="Asia/Shanghai", geolocation=WHERE,
                                            permissions=["geolocation"])
        page = await context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        await _sign_in(page, platform.console_url, "prov1")
        card = page.locator("#provider-tickets .ticket-card").first
        await card.wait_for(timeout=10_000)
        assert "Kitchen needs cleaning" in (await card.text_content() or "")
        # she is away: the provider (who reads Chinese) phones before going (12:00 in Shanghai)
        assert await card.locator("dd.away").text_content() == (
            "在小女儿家留宿，至2099/01/02 12:00:00；上门前请先打电话")
        await shoot(page, "tickets-provider-assigned.png")
        for action, status in (("accept", "accepted"), ("start", "visit_started")):
            await card.locator(f"button[data-action={action}]").click()
            await page.wait_for_selector(f"#provider-tickets .ticket-card[data-status={status}]",
                                         timeout=15_000)
        await card.locator("textarea").fill("Cleaned the kitchen")
        await card.locator("button[data-action=finish]").click()
        await page.wait_for_selector("#provider-none", timeout=15_000)
        await page.wait_for_selector(".provider-done li .ticket-status[data-status=visit_finished]")
        await shoot(page, "tickets-provider-finished.png")
        await context.close()

        # The family sees the visit and rates it.
        context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                            locale="en-GB", timezone_id="Asia/Shanghai")
        page = await context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        await _sign_in(page, platform.console_url, "family1")
        form = page.locator("#family-tickets form[data-form=rate]")
        await form.wait_for(timeout=10_000)
        await form.locator("select").select_option("4")
        await form.locator("input").fill("Very tidy")
        await form.locator("button[type=submit]").click()
        await page.wait_for_selector("#family-tickets .ticket-status[data-status=rated]",
                                     timeout=5_000)
        await shoot(page, "tickets-family-rated.png")
        await context.close()
        await browser.close()
        assert errors == []
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT status, provider_id, source, accepted_by, visit_by, visit_start_lat,"
            " visit_start_lon, visit_finish_lat, rating, rating_comment FROM service_tickets"
        ).fetchone()
        steps = conn.execute("SELECT action, actor FROM service_ticket_timeline ORDER BY id"
                             ).fetchall()
    assert row == ("rated", "home-city-01", "operator", "prov1", "prov1", WHERE["latitude"],
                   WHERE["longitude"], WHERE["latitude"], 4, "Very tidy")
    assert steps == [("opened", "op2"), ("assign", "system"), ("accept", "prov1"),
                     ("start", "prov1"), ("finish", "prov1"), ("rate", "family1")]
