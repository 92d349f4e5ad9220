"""Reports in headless Chromium: the bureau opens the Reports tab for its district, sees the figures
for the district and its streets, drills into a street, downloads the CSV and opens the printable
report (and prints it to PDF, as a person would with "Save as PDF"); a supervisor finds the city's
report under the board. Screenshots and the PDF go to artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from simulators.district import District
from tests.e2e.chromium import CHROMIUM, launch
from tests.e2e.shots import SHOTS, shoot
from tests.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.db]

PASSWORD = "reports-browser-1"
WAIT_MS = 10_000
DISTRICT_1 = {"st-01": {"cm-01", "cm-02"}, "st-02": {"cm-03", "cm-04"}}


async def _signed_in(browser: Any, platform: Platform, user: str, errors: list[str]) -> Any:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                        timezone_id="Asia/Shanghai", accept_downloads=True)
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(f"{user}: {e}"))
    await page.goto(platform.console_url + "/")
    await page.fill("#username", user)
    await page.fill("#password", PASSWORD)
    await page.click("#signin-submit")
    return page


async def _number(page: Any, selector: str) -> int:
    return int((await page.text_content(selector) or "").strip())


async def test_the_bureau_reads_drills_down_and_prints_its_report(db_url: str) -> None:
    playwright = pytest.importorskip("playwright.async_api")
    assert Path(CHROMIUM).exists(), "chromium is required (apt-get install chromium)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    district = District.generate(seed=7, homes=40, care_homes=1)
    site_node = {s.id: s.node_id for s in district.sites}
    per_community = {n: sum(1 for r in district.residents if site_node[r.site_id] == n)
                     for n in {"cm-01", "cm-02", "cm-03", "cm-04", "cm-05", "cm-06"}}
    errors: list[str] = []
    async with Platform(settings=Settings(), db_url=db_url, broker_url=None,
                        services=("console",), port=free_port()) as platform, \
            playwright.async_playwright() as p:
        await seed_district(db_url, district, demo_password=PASSWORD)
        assert platform.pool is not None
        async with platform.pool.connection() as conn:
            # One SOS per resident two hours ago, answered in 40 s; every third one a false alarm.
            await conn.execute(
                "INSERT INTO incidents (correlation_key, kind, priority, status, route, site_id,"
                " resident_id, opened_at, last_alarm_at, first_claimed_at, claimed_by, resolved_at,"
                " outcome) SELECT 'resident:' || id, 'sos', 1, 'resolved', 'centre', site_id, id,"
                " now() - interval '2 hours', now() - interval '2 hours',"
                " now() - interval '2 hours' + interval '40 seconds', 'op1', now() - interval '1 hour',"
                " CASE WHEN row_number() OVER (ORDER BY id) % 3 = 0 THEN 'false_alarm'"
                "      ELSE 'genuine' END FROM residents")
        browser = await launch(p)

        page = await _signed_in(browser, platform, "bureau1", errors)
        await page.click("[data-tab=reports]", timeout=WAIT_MS)
        await page.wait_for_selector(".reports[data-node=dist-01]", timeout=WAIT_MS)
        in_district = sum(per_community[c] for cs in DISTRICT_1.values() for c in cs)
        assert await _number(page, "[data-kpi=incidents] .kpi-value") == in_district
        assert (await page.text_content("[data-kpi=within60] .kpi-value") or "").strip() == "100.0 %"
        assert "目标" in (await page.text_content("[data-kpi=within60]") or "")  # bureau1 reads Chinese
        for street, communities in DISTRICT_1.items():
            row = page.locator(f".report-areas tr[data-child={street}] td").first
            assert int((await row.text_content() or "").strip()) == sum(
                per_community[c] for c in communities)
        await page.wait_for_selector(".report-chart[data-drawn=true]", timeout=WAIT_MS)
        await shoot(page, "reports-district.png", full_page=True)

        await page.click(".report-areas tr[data-child=st-01] button")
        await page.wait_for_selector(".reports[data-node=st-01]", timeout=WAIT_MS)
        assert await _number(page, "[data-kpi=incidents] .kpi-value") == sum(
            per_community[c] for c in DISTRICT_1["st-01"])
        assert {await r.get_attribute("data-child") for r in
                await page.locator(".report-areas tr[data-child]").all()} == DISTRICT_1["st-01"]
        assert "dist-01" not in (await page.text_content(".report-trail") or "")  # names, not ids
        assert await page.locator(".report-trail button").count() == 1  # back up to the district
        await shoot(page, "reports-street.png", full_page=True)

        async with page.expect_download() as download_info:
            await page.click(".report-csv")
        download = await download_info.value
        text = Path(await download.path()).read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {r["node_id"] for r in rows} == {"st-01"} | DISTRICT_1["st-01"]

        async with page.context.expect_page() as popup_info:
            await page.click(".report-print")
        printable = await popup_info.value
        await printable.wait_for_load_state()
        assert await printable.get_attribute("main.report", "data-node") == "st-01"
        assert await printable.evaluate("document.documentElement.lang") == "zh-CN"
        assert await printable.locator("svg").count() >= 3
        assert "60 秒内接听率" in (await printable.text_content("body") or "")
        await printable.emulate_media(media="print")
        assert await printable.locator(".no-print").first.is_hidden()
        await shoot(printable, "reports-printable.png", full_page=True)
        pdf = await printable.pdf(path=str(SHOTS / "reports-printable.pdf"), format="A4",
                                  print_background=True)
        assert pdf.startswith(b"%PDF")

        supervisor = await _signed_in(browser, platform, "sup1", errors)
        await supervisor.wait_for_selector(".sup-reports .reports[data-node=city-01]",
                                           timeout=WAIT_MS)
        assert await _number(supervisor, ".sup-reports [data-kpi=incidents] .kpi-value") == len(
            district.residents)
        assert {await r.get_attribute("data-child") for r in await supervisor.locator(
            ".sup-reports .report-areas tr[data-child]").all()} == {"dist-01", "dist-02"}
        await browser.close()

        async with platform.pool.connection() as conn:
            audit = await (await conn.execute(
                "SELECT actor, target, details->>'format' AS format FROM audit"
                " WHERE action = 'export_report' ORDER BY id")).fetchall()
    assert [(a["actor"], a["target"], a["format"]) for a in audit] == [
        ("bureau1", "node:st-01", "csv"), ("bureau1", "node:st-01", "html")]
    assert errors == []
