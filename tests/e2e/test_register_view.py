"""The register tab in headless Chromium: a street's residents, narrowed by need; a resident's
health record with the check-up chart; a check-up entered from the form and judged abnormal.
The tab is mounted on its own (``mountRegister``, in the page's role view) so this test does not
depend on the civil view around it. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest

from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from simulators.district import District
from tests.e2e.chromium import CHROMIUM, launch
from tests.e2e.shots import SHOTS, shoot
from tests.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.db]

PASSWORD = "register-pass-1"
MOUNT = """async () => {
  const { mountRegister } = await import('/static/views/register.js');
  const el = document.createElement('div');
  el.id = 'register-test';
  document.getElementById('role-view').replaceChildren(el);
  window.registerTab = mountRegister(
    { user: { role: 'grid_staff', scope_node: 'st-01' }, signedOut() { window.signedOut = true; } },
    el, 'st-01');
}"""


async def test_grid_staff_browse_the_register_and_enter_a_check_up(db_url: str) -> None:
    playwright = pytest.importorskip("playwright.async_api")
    assert Path(CHROMIUM).exists(), "chromium is required (apt-get install chromium)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    district = District.generate(seed=7, homes=40, care_homes=1)
    node = {s.id: s.node_id for s in district.sites}
    street = [r for r in district.residents if node[r.site_id] in ("cm-01", "cm-02")]
    alone = [r for r in street if "living_alone" in r.needs]
    async with Platform(settings=Settings(), db_url=db_url, broker_url=None,
                        services=("console",), port=free_port()) as platform, \
            playwright.async_playwright() as p:
        await seed_district(db_url, district, demo_password=PASSWORD)
        # Two days of heart rate from the first resident's own device, for the wearable chart.
        device = next(d.id for d in district.devices if d.resident_id == alone[0].id)
        assert platform.pool is not None
        async with platform.pool.connection() as conn:
            await conn.cursor().executemany(
                "INSERT INTO telemetry (device_id, seq, ts, hr, spo2, worn)"
                " VALUES (%s, %s, now() - %s * interval '1 hour', %s, 97, true)",
                [(device, i, 2 + 12 * (i % 4), 60 + 3 * i) for i in range(1, 9)])
        browser = await launch(p)
        page = await browser.new_page(viewport={"width": 1280, "height": 1000}, locale="en-GB",
                                      timezone_id="Asia/Shanghai")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(f"{e} {e.stack}"))
        await page.goto(platform.console_url + "/")
        await page.fill("#username", "grid1")
        await page.fill("#password", PASSWORD)
        await page.click("#signin-submit")
        await page.wait_for_selector("#signin-submit", state="hidden", timeout=10_000)
        await page.evaluate(MOUNT)

        rows = page.locator("#register-residents tbody tr")
        await rows.first.wait_for(timeout=5_000)
        assert await rows.count() == len(street)
        await page.select_option("select[name=need]", "living_alone")
        await page.wait_for_function(
            f"document.querySelectorAll('#register-residents tbody tr').length === {len(alone)}",
            timeout=5_000)

        await rows.first.locator("button").click()
        form = page.locator(".checkup-form")
        await form.wait_for(timeout=5_000)
        record = await page.text_content(".register-record") or ""
        assert f"血型{alone[0].blood_type}" in record and "健康档案" in record  # grid1 works in zh-CN
        await page.fill(".checkup-form input[name=bp_systolic]", "200")
        await page.fill(".checkup-form input[name=bp_diastolic]", "112")
        await page.click(".checkup-form button[type=submit]")
        status = page.locator(".register-record [role=status]")
        await status.wait_for(timeout=5_000)
        said = await status.text_content() or ""
        assert "已通知中心" in said and "收缩压" in said and "舒张压" in said
        await page.wait_for_function(
            "document.querySelectorAll('canvas.checkup-chart[data-drawn=true]').length === 2",
            timeout=5_000)  # the check-ups and the wearable's days
        await shoot(page, "register-health-record.png", full_page=True)
        await browser.close()
    assert errors == [], errors
