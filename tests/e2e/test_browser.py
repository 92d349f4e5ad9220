"""What an operator sees, in headless Chromium driven by Playwright: sign in, an alarm appears in
the live queue, open it, acknowledge it; a watch's SOS shows where its wearer last was.
Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from eldercare.platform import Platform, seed_district
from eldercare.settings import Settings
from ingest.contract import Kind, Location
from simulators.district import District
from simulators.publisher import Publisher
from simulators.scenario import DEMO
from simulators.simulation import Simulation
from store.database import prepare
from tests.e2e.chromium import CHROMIUM, launch
from tests.e2e.shots import SHOTS, shoot
from tests.servers import Mosquitto, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.db, pytest.mark.broker]

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
        await shoot(page, "operator-empty-queue.png")

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
        await shoot(page, "operator-alarm-arrived.png")

        await row.click()
        await page.wait_for_selector("#detail #ack-button", timeout=5_000)
        detail_text = await page.text_content("#detail") or ""
        assert button.id in detail_text
        await shoot(page, "operator-alarm-detail.png")
        await page.click("#ack-button")
        await page.wait_for_function(
            "document.querySelectorAll('#queue .alarm').length === 0", timeout=5_000)
        assert await page.text_content("#waiting-count") == "0"
        await shoot(page, "operator-acknowledged.png")

        # Another elder's watch: a fix from 20 minutes before the SOS rides on the alarm, shown
        # in the viewer's zone and flagged as old.
        watch = next(d for d in district.devices
                     if d.kind == "wearable" and d.resident_id != button.resident_id)
        fix_at = sim.now - 20 * 60
        fix = await _fix_stored(publisher, sim, watch.id, fix_at, db_url)
        publisher.publish(sim.press(watch.id))
        row = page.locator("#queue .alarm").first
        await row.wait_for(timeout=5_000)
        await row.click()
        where = page.locator("#detail [data-card='section.alarm'] .last-location")
        await where.wait_for(timeout=5_000)
        shown = await where.text_content() or ""
        # The operator's own language (op1 works in Chinese); both are checked in _cards.
        expected = {"en": ("± 14 m", "20 min before the alarm", "old position"),
                    "zh-CN": ("± 14 米", "报警前 20 分钟", "定位已过时")}
        assert f"{fix.lat:.5f}, {fix.lon:.5f}" in shown, shown
        ui_lang = await page.evaluate("document.documentElement.lang")
        assert all(text in shown for text in expected[ui_lang]), shown
        local = dt.datetime.fromtimestamp(fix_at, ZoneInfo("Asia/Shanghai"))
        assert f"{local:%H:%M:%S}" in shown, shown
        assert "warn" in (await where.get_attribute("class") or "")
        assert await where.locator("a.geo").get_attribute("href") == f"geo:{fix.lat},{fix.lon}"
        await page.locator("#detail [data-card='section.alarm']").screenshot(
            path=str(SHOTS / "operator-alarm-last-location.png"))
        assert await _cards(page) == {
            "fresh": ["3 min before the alarm", False],
            "stale": ["1 h 5 min before the alarm", True],
            "zh": ["报警前 3 分钟", False],
            "noFix": "No position in the 24 h before the alarm",
            "button": None,
        }
        # the queue's answer-time colours run from when an incident reached the centre
        assert await _overdue(page) == {"centre": ["overdue-60", "overdue-180"],
                                        "familyWindow": [], "reached70sAgo": ["overdue-60"]}
        welfare = await _welfare_cards(page)
        # 2000-01-01 00:00 UTC, in Shanghai
        welfare_clock = welfare["wrongClock"]
        assert "2000" in welfare_clock and welfare_clock.endswith("08:00:00"), welfare_clock
        watch_back = welfare["battery"]["watchBack"]  # 06:30 UTC is 14:30 in Shanghai
        assert watch_back.endswith("14:30:00"), watch_back
        heard_again = welfare["battery"]["heardAgain"]  # 05:00 UTC is 13:00 in Shanghai
        assert heard_again.endswith("13:00:00"), heard_again
        fall_impact = welfare["fall"]["Impact at"]  # 1772330400 is 2026-03-01 10:00 in Shanghai
        assert fall_impact.endswith("10:00:00"), fall_impact
        # times in the viewer's zone (the date is shown too: not today; its format is the locale's)
        assert welfare["en"].pop("Last movement").endswith("11:58:00")
        assert welfare["en"].pop("Watch off the wrist since").endswith("09:30:00")
        assert welfare.pop("zhWatch").endswith("09:30:00")
        unheard = welfare["en"].pop("The platform could not hear (its own outage)")
        assert re.fullmatch(r".*10:00:00 – .*13:00:00", unheard), unheard
        assert welfare["enRepeats"].pop("First at").endswith("10:00:00")
        assert welfare == {
            "en": {"Still for": "2 h 02 min", "Usual limit at that hour": "2 h 00 min",
                   "Unusual day (score)": "0.83"},
            "enRepeats": {"Repeats merged": "3"},
            "zh": {"已静止": "2 h 02 min", "该时段通常上限": "2 h 00 min"},
            "vitals": {"Vital sign": "Heart rate", "Reading": "150 bpm",
                       "Finding": "above the limit"},
            "checkup": {"Vital sign": "Systolic", "Reading": "195 mmHg", "Check-up from": "Health kiosk",
                        "Readings": "Systolic 195 mmHg above the limit, Blood glucose 3.1 mmol/L"
                                    " below the limit", "Entered by": "nurse1"},
            "fall": {"Peak acceleration": "3.14 g", "Confidence": "93 %", "Posture change": "85°",
                     "Still afterwards": "91 %", "Impact at": fall_impact},
            # an alarm from before safe places were named says no place: it was from home
            "wander": {"Distance": "412 m from home", "Position": "31.23000, 121.47000"},
            "wanderFlat": {"Distance": "700 m from 女儿家", "place": None},  # not shown raw too
            "sos": [],  # the device's event is the alarm itself, one press is no news
            "wrongClock": welfare_clock,
            "faulty": "invalid event: Expected `int` <= 10 - at `$.presses`",
            "reused": "5",
            "smokeTest": {"Device event": "Test", "Presses": "3"},
            "zhFall": {"姿态变化": "85°", "撞击后静止程度": "91 %"},
            "battery": {"flat": "2 % (probably flat: ask for it to be charged)", "far": "64 %",
                        # a device's own finding says it on its battery line, once
                        "offline": ["3 % (probably flat: ask for it to be charged)", False],
                        "welfare": "w-1, b-1", "zh": "2 %（可能没电：请提醒充电）",
                        "heardAgain": heard_again, "watchBack": watch_back},
            "raw": [],
            "once": [],
            "gateway": {
                "Elders whose devices go through it": "王秀英 (r-1), 钱明 (r-2), r-9",
                'Of them, left with no way to call (an "All emergency devices silent" alarm each)':
                    "钱明 (r-2)"},
            "zhGateway": "王秀英 (r-1)、钱明 (r-2)、r-9",
            "devices": [["btn-0002 SOS-Z1 · through gw-0002", "Emergency button", "online"],
                        ["gw-0002", "Home gateway", "offline"]],
            "zhDevices": ["btn-0002 SOS-Z1 · 经由 gw-0002", "gw-0002"],
            "area": {"many": "14: perhaps the provider's network, not this home", "none": False,
                     "unknown": False},
            "lateRow": {"late": ["arrived 40 min late"], "prompt": [], "none": []},
            # a community's outage: one alarm listing the gateways and the elders behind them,
            # its row placed at the community; an elder's welfare check says it is part of it
            "areaRow": {"place": "幸福里社区", "other": "home 1"},
            "areaBadge": {"check": ["network outage in 幸福里社区"], "own": []},
            "outage": {
                "Homes' gateways offline in 幸福里社区 now": "5",
                "Homes' gateways offline (when it was raised)": "gw-1, gw-2, gw-3",
                "Elders whose devices go through them": "王秀英 (r-1), r-2",
                "Of them, left with no way to call (an \"All emergency devices silent\" alarm"
                " each)": "王秀英 (r-1)",
                # the lines of a home's own item and of an elder's check are not its own
                "Part of a network outage in": None,
                "Cut off: their home gateway is offline (its line or power)": None,
                "Elders whose devices go through it": None},
            "outageBack": True,
            "partOf": {
                "Part of a network outage in": "幸福里社区: many homes' gateways offline together (the"
                                               " provider's network; one \"Area network outage\""
                                               " alarm for them all)",
                "Cut off: their home gateway is offline (its line or power)": "gw-2"},
            "zhOutage": {"幸福里社区当前离线的家庭网关": "5 个",
                         "离线的家庭网关（报警时）": "gw-1、gw-2、gw-3"},
            "late": {
                "press": "Reached the centre 40 min after it happened: held on the way (a home"
                         " gateway's line down, a device out of reach, or the centre's own outage)."
                         " Call now all the same.",
                "hours": "Reached the centre 1 h 05 min after it happened: held on the way (a"
                         " home gateway's line down, a device out of reach, or the centre's own"
                         " outage). Call now all the same.",
                "prompt": [], "judged": [],
                "zh": "事件发生 40 min 后才送达中心：途中被耽搁（家庭网关断网、设备不在覆盖范围"
                      "或中心自身故障）。仍请立即呼叫。"},
        }
        publisher.close()
        await browser.close()
        assert errors == []

    with psycopg.connect(db_url) as conn:
        row_db = conn.execute(
            "SELECT status, acknowledged_by FROM alarms ORDER BY id").fetchone()  # the button's
        audit = conn.execute("SELECT actor, action FROM audit").fetchall()
    assert row_db == ("acknowledged", "op1")  # claiming the incident answered its alarm
    actions = [action for _, action in audit]
    assert actions.count("claim") == 1 and ("op1", "claim") in audit
    assert {"read_health_record"} <= set(actions)  # opening the panel read the health record


async def _fix_stored(publisher: Publisher, sim: Simulation, device_id: str, at: float,
                      db_url: str) -> Location:
    """Publish a fix from the watch and wait until it is stored: fixes and alarms travel in
    separate ingest lanes, so without the wait the SOS could be stored first."""
    dev = sim.by_id[device_id]
    fix = Location(seq=dev.next_seq(), ts=round(at * 1000), lat=round(dev.site.lat + 0.0003, 6),
                   lon=round(dev.site.lon - 0.0002, 6), acc=14.0, source="gps")
    publisher.publish([dev.message(Kind.LOCATION, fix)])
    deadline = time.monotonic() + 5
    with psycopg.connect(db_url, autocommit=True) as conn:
        while conn.execute("SELECT 1 FROM locations WHERE device_id = %s AND seq = %s",
                           (device_id, fix.seq)).fetchone() is None:
            assert time.monotonic() < deadline, "the fix was not stored"
            await asyncio.sleep(0.05)
    return fix


async def _welfare_cards(page: Any) -> Any:
    """Alarm cards for what the welfare detectors and check-ups put in details: labelled in the
    interface language, hours as hours, times in the viewer's zone (the page runs in Shanghai:
    03:58 UTC is 11:58), a count of one and its first time left out."""
    return await page.evaluate("""async () => {
        const cards = await import('/static/detail.js');
        const i18n = await import('/static/i18n.js');
        const card = (details, kind = 'inactivity') => cards.alarmCard({ kind, device_id: 'w-1',
            device_kind: 'wearable', occurred_at: '2026-03-01T06:00:00Z',
            raised_at: '2026-03-01T06:00:01Z', details });
        const rows = (node) => Object.fromEntries([...node.querySelectorAll('dt')]
            .map((dt) => [dt.textContent, dt.nextElementSibling.textContent]));
        const pick = (all, keys) => Object.fromEntries(keys.map((k) => [k, all[k]]));
        const still = { silent_h: 2.03, limit_h: 2.0, last_movement_at: '2026-03-01T03:58:00+00:00',
                        unusual_day_score: 0.834, count: 1, first_ts: 1772330400,
                        watch_off_since: '2026-03-01T01:30:00+00:00',
                        unheard_from: '2026-03-01T02:00:00+00:00',
                        unheard_to: '2026-03-01T05:00:00+00:00' };
        const before = i18n.lang();
        i18n.setLang('en');
        const en = rows(card(still));
        const again = rows(card({ ...still, count: 3 }));
        const vitals = rows(card({ vital: 'heart_rate', value: 150, finding: 'above_bound' }));
        const checkup = rows(card({ vital: 'bp_systolic', value: 195, finding: 'above_bound',
            checkup: 'kiosk', entered_by: 'nurse1', findings: [
                { measure: 'bp_systolic', finding: 'above_bound', value: 195, unit: 'mmHg' },
                { measure: 'glucose', finding: 'below_bound', value: 3.1, unit: 'mmol/L' }] },
            'vitals_critical'));
        const fall = rows(card({ peak_g: 3.14, confidence: 0.93, posture_change_deg: 84.6,
                                 stillness: 0.912, impact_ts: 1772330400 }, 'fall'));
        const wander = rows(card({ distance_m: 412.3, lat: 31.23, lon: 121.47 }, 'wandering'));
        const wanderFlat = rows(card({ distance_m: 700.4, place: '女儿家', lat: 31.25, lon: 121.47 },
                                     'wandering'));
        const sos = rows(card({ event: 'sos', presses: 1 }, 'sos'));
        // a press from a device whose clock was reset: raised at its arrival, its clock shown
        const wrongClock = rows(card({ event: 'sos', device_clock_ts: 946684800000,
            contract_error: 'invalid event: Expected `int` <= 10 - at `$.presses`',
            seq_reused: 5 }, 'sos'));
        const smokeTest = rows(card({ event: 'test', presses: 3 }, 'sos'));
        // a silent watch's last battery: a flat one says so, one that is not does not
        const unheard = { silent_h: 4.0, watch_unheard_since: '2026-03-01T01:30:00+00:00' };
        const flatWatch = rows(card({ ...unheard, watch_battery_pct: 2, watch_flat: true,
                                      watch_heard_again_at: '2026-03-01T06:30:00+00:00' }));
        const farWatch = rows(card({ ...unheard, watch_battery_pct: 64, watch_flat: false }));
        const offline = rows(card({ problem: 'offline', last_battery_pct: 3,
                                    flat_devices: ['w-1'] }, 'maintenance'));
        const welfare = rows(card({ problem: 'welfare_check', flat_devices: ['w-1', 'b-1'],
                                    heard_again_at: '2026-03-01T05:00:00+00:00' },
                                  'welfare_check'));
        // a home gateway's item names the elders behind it by name (store/alarms.py `named`);
        // one the server could not name (removed since) keeps their id
        const gatewayAlarm = { kind: 'maintenance', device_id: 'gw-1', device_kind: 'gateway',
            occurred_at: '2026-03-01T06:00:00Z', raised_at: '2026-03-01T06:00:01Z',
            named: { 'r-1': '王秀英', 'r-2': '钱明' },
            details: { problem: 'offline', behind: ['r-1', 'r-2', 'r-9'], cut_off: ['r-2'] } };
        const gateway = rows(cards.alarmCard(gatewayAlarm));
        // other homes of the community cut off at once (store/alarms.py): said; none: not
        const nearby = (n) => rows(cards.alarmCard({ ...gatewayAlarm, site_community: '幸福里社区',
                                                     gateways_down_nearby: n }));
        const nearbyKey = "Other homes' gateways offline in 幸福里社区 now";
        const area = { many: nearby(14)[nearbyKey], none: nearbyKey in nearby(0),
                       unknown: nearbyKey in nearby(null) };
        // a community's outage (device health: several homes' gateways down together): its
        // own alarm, and the welfare check of an elder it left with nothing
        const outageAlarm = { kind: 'area_outage', device_id: 'gw-1', device_kind: 'gateway',
            occurred_at: '2026-03-01T06:00:00Z', raised_at: '2026-03-01T06:00:01Z',
            site_community: '幸福里社区', gateways_down_nearby: 5, named: { 'r-1': '王秀英' },
            details: { problem: 'area_outage', area_outage: '幸福里社区',
                       gateways_down: ['gw-1', 'gw-2', 'gw-3'], behind: ['r-1', 'r-2'],
                       cut_off: ['r-1'], area_heard_again_at: '2026-03-01T07:00:00+00:00' } };
        const outage = rows(cards.alarmCard(outageAlarm));
        const partOf = rows(card({ problem: 'welfare_check', gateways_down: ['gw-2'],
                                   area_outage: '幸福里社区' }, 'welfare_check'));
        const { place } = await import('/static/queue.js');
        const outageRow = { kind: 'area_outage', site_name: 'home 1', site_community: '幸福里社区' };
        const areaRow = { place: place(outageRow), other: place({ ...outageRow, kind: 'sos' }) };
        // the queue's row of an incident a late press joined (store/incidents.py late_s)
        const { badges } = await import('/static/queue.js');
        const badgeText = (incident) => badges(incident).filter(Boolean).map((b) => b.textContent);
        const lateRow = { late: badgeText({ late_s: 2400.4 }), prompt: badgeText({ late_s: 30 }),
                          none: badgeText({ late_s: null }) };
        // a welfare check that is part of a community's outage says so on its row; the
        // outage's own row does not repeat it
        const areaBadge = { check: badgeText({ kind: 'welfare_check', area_outage: '幸福里社区' }),
                            own: badgeText({ kind: 'area_outage', area_outage: '幸福里社区' }) };
        // a press that reached the centre long after it was made (a cut line's spool) says so;
        // one a few seconds late, or a finding the platform judged itself, does not
        const sent = (kind, details, raised) => rows(cards.alarmCard({ kind, device_id: 'btn-1',
            device_kind: 'button', occurred_at: '2026-03-01T06:00:00Z', raised_at: raised, details }));
        const lateNames = (r) => ['Arrived late', '延迟送达'].filter((k) => k in r);
        const late = {
            press: sent('sos', { event: 'sos' }, '2026-03-01T06:40:10Z')['Arrived late'],
            hours: sent('smoke', { event: 'smoke' }, '2026-03-01T07:05:00Z')['Arrived late'],
            prompt: lateNames(sent('sos', { event: 'sos' }, '2026-03-01T06:01:30Z')),
            judged: lateNames(sent('welfare_check', { problem: 'welfare_check' }, '2026-03-01T07:00:00Z')),
        };
        // an elder's device list with the home gateway their devices go through
        const deviceRows = (node) => [...node.querySelectorAll('tbody tr')].map((tr) =>
            [...tr.querySelectorAll('td')].map((td) => td.textContent));
        const kitDevices = [{ id: 'btn-0002', kind: 'button', model: 'SOS-Z1', via: 'gw-0002',
                              online: true },
                            { id: 'gw-0002', kind: 'gateway', via: null, online: false }];
        const devices = deviceRows(cards.devicesCard(kitDevices)).map((r) => [r[0], r[1], r[4]]);
        i18n.setLang('zh-CN');
        const zhDevices = deviceRows(cards.devicesCard(kitDevices)).map((r) => r[0]);
        const zhGateway = rows(cards.alarmCard(gatewayAlarm));
        const zhOutage = rows(cards.alarmCard(outageAlarm));
        late.zh = sent('sos', { event: 'sos' }, '2026-03-01T06:40:10Z')['延迟送达'];
        const zhFlat = rows(card({ ...unheard, watch_battery_pct: 2, watch_flat: true }));
        const zh = rows(card(still));
        const zhFall = rows(card({ posture_change_deg: 84.6, stillness: 0.912 }, 'fall'));
        i18n.setLang(before);
        return {
            en: pick(en, ['Last movement', 'Still for', 'Usual limit at that hour',
                          'Unusual day (score)', 'Watch off the wrist since',
                          'The platform could not hear (its own outage)']),
            enRepeats: pick(again, ['Repeats merged', 'First at']),
            zh: pick(zh, ['已静止', '该时段通常上限']),
            zhWatch: zh['手表摘下于'],
            vitals: pick(vitals, ['Vital sign', 'Reading', 'Finding']),
            checkup: pick(checkup, ['Vital sign', 'Reading', 'Check-up from', 'Readings',
                                    'Entered by']),
            fall: pick(fall, ['Peak acceleration', 'Confidence', 'Posture change', 'Still afterwards',
                              'Impact at']),
            wander: pick(wander, ['Distance', 'Position']),
            wanderFlat: pick(wanderFlat, ['Distance', 'place']),
            sos: ['Device event', 'Presses'].filter((k) => k in sos),
            wrongClock: wrongClock["The device's clock said (wrong: raised when it arrived)"],
            faulty: wrongClock["The device's message was faulty (raised all the same)"],
            reused: Object.entries(wrongClock).find(([k]) => k.startsWith('Message number'))?.[1],
            smokeTest: pick(smokeTest, ['Device event', 'Presses']),
            zhFall: pick(zhFall, ['姿态变化', '撞击后静止程度']),
            battery: {
                flat: flatWatch["Watch's battery when last heard"],
                watchBack: Object.entries(flatWatch).find(([k]) => k.startsWith('Watch heard again at'))?.[1],
                far: farWatch["Watch's battery when last heard"],
                offline: [offline['Battery when last heard'],
                          'Probably flat (ask for a charge)' in offline],
                welfare: welfare['Probably flat (ask for a charge)'],
                heardAgain: welfare['Devices heard again at (still call: it says nothing of how they are)'],
                zh: zhFlat['手表失联前电量'],
            },
            raw: ['silent_h', 'limit_h', 'count', 'first_ts', 'vital', 'value', 'last_movement_at',
                  'watch_off_since', 'unheard_from', 'unheard_to',
                  'event', 'presses', 'impact_ts', 'posture_change_deg', 'stillness', 'lat', 'lon',
                  'checkup', 'findings', 'entered_by', 'watch_battery_pct', 'watch_flat',
                  'last_battery_pct', 'flat_devices', 'device_clock_ts', 'contract_error',
                  'seq_reused', 'heard_again_at', 'watch_heard_again_at']
                .filter((k) => [en, again, vitals, checkup, fall, wander, sos, smokeTest,
                                flatWatch, farWatch, offline, welfare, wrongClock]
                    .some((r) => k in r)),
            once: ['Repeats merged', 'First at'].filter((k) => k in en),
            gateway: pick(gateway, ['Elders whose devices go through it',
                'Of them, left with no way to call (an "All emergency devices silent" alarm each)']),
            zhGateway: zhGateway['经由该网关报警的老人'],
            late, devices, zhDevices, area, lateRow, areaRow, areaBadge,
            outage: pick(outage, ["Homes' gateways offline in 幸福里社区 now",
                "Homes' gateways offline (when it was raised)", 'Elders whose devices go through them',
                'Of them, left with no way to call (an "All emergency devices silent" alarm each)',
                'Part of a network outage in', 'Cut off: their home gateway is offline (its line or power)',
                'Elders whose devices go through it']),
            outageBack: Object.keys(outage).some((k) => k.startsWith("The area's gateways heard again at")),
            partOf: pick(partOf, ['Part of a network outage in',
                                  'Cut off: their home gateway is offline (its line or power)']),
            zhOutage: pick(zhOutage, ['幸福里社区当前离线的家庭网关', '离线的家庭网关（报警时）']),
        };
    }""")


async def _overdue(page: Any) -> Any:
    """The overdue classes the operator's queue gives three incidents opened five minutes ago:
    the centre's own, a family-first one still in its family window, and a family-first one
    that reached the centre 70 s ago."""
    return await page.evaluate("""async () => {
        const { QueueView } = await import('/static/queue.js');
        const { now } = await import('/static/clock.js');
        const ago = (s) => new Date(now() - s * 1000).toISOString();
        const base = { status: 'new', priority: 1, kind: 'sos', opened_at: ago(300),
                       site_name: 'x', resident_name: 'y' };
        const incidents = {
            centre: { ...base, id: 9001, route: 'centre', centre_from: ago(300) },
            familyWindow: { ...base, id: 9002, route: 'family_first', centre_from: null },
            reached70sAgo: { ...base, id: 9003, route: 'centre', centre_from: ago(70) },
        };
        const view = new QueueView({ lists: { waiting: document.createElement('ol') },
                                     onOpen: () => {} });
        view.render({ waiting: Object.values(incidents) }, { selectedId: null, openId: null });
        view.tick();
        return Object.fromEntries(Object.entries(incidents).map(([name, i]) => [name,
            ['overdue-60', 'overdue-180'].filter((c) => view.rows.get(i.id).li.classList.contains(c))]));
    }""")


async def _cards(page: Any) -> Any:
    """The alarm card built in the page for the cases one alarm cannot show at once."""
    return await page.evaluate("""async () => {
        const cards = await import('/static/detail.js');
        const i18n = await import('/static/i18n.js');
        const card = (at, kind = 'wearable', fix = true) => cards.alarmCard({
            device_id: 'w-1', device_kind: kind, occurred_at: '2026-03-01T10:00:00Z',
            raised_at: '2026-03-01T10:00:01Z', details: { event: 'sos', ...(fix ? {
                last_location: { lat: 31.2, lon: 121.5, acc_m: 9.6, at, source: 'wifi' } } : {}) } });
        const seen = (node) => {
            const where = node.querySelector('.last-location');
            return where ? [where.textContent.split(' · ')[1], where.classList.contains('warn')] : null;
        };
        const line = (node) => {
            const dt = [...node.querySelectorAll('dt')].find((d) => d.textContent === 'Last position');
            return dt ? dt.nextElementSibling.textContent : null;
        };
        const before = i18n.lang();
        i18n.setLang('en');
        const out = {
            fresh: seen(card('2026-03-01T09:57:00.000Z')),
            stale: seen(card('2026-03-01T08:55:00.000Z')),
            noFix: line(card(null, 'wearable', false)),
            button: line(card(null, 'button', false)),
        };
        i18n.setLang('zh-CN');
        out.zh = seen(card('2026-03-01T09:57:00.000Z'));
        i18n.setLang(before);
        return out;
    }""")
