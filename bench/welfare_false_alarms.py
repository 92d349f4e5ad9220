"""False alarms of the welfare detectors on ordinary simulated life, per wearer-day.

Healthy simulated wearers live ordinary days — asleep 22:00–06:00, by day the activity draws of
:func:`simulators.vitals.next_activity`, heart rate from :func:`simulators.vitals.heart_rate`
(base rate per wearer as the district simulation draws it, daily rhythm, +15 bpm walking),
SpO2 and skin temperature as :func:`simulators.devices.wearable_second` draws them, and since
2026-12-06 each wearer's better and worse days and hours as the district simulation gives them
(:class:`simulators.vitals.DayToDay`: day effects of 3 bpm / 0.5 %, AR(1) hour effects of 2 bpm
/ 0.5 %; ``--steady`` leaves them out, as the bench was before) — and their
watches' telemetry (every 10 s) and location (every minute) goes through
:class:`ingest.welfare.WelfareStage` with no broker and no database. Nothing unusual is
injected, so every alarm is a false one. Movement reaches the inactivity detector through the
step count, as it does from a real watch (a still wrist's accelerometer window is under the
stage's movement threshold, so leaving the 1 s windows out changes nothing but the run time);
the battery is kept charged (charging is not modelled).

    PYTHONPATH=. .venv/bin/python bench/welfare_false_alarms.py --seed 1 [--wearers 20 --days 21]
        [--steady]

Prints the alarms by kind, in total and per wearer-day, the episodes they make (alarms of one
kind from one watch less than an hour apart count once: what an operator handles), and the day
of the run each alarm came on (day 1 is the first, when every baseline is empty). The default
run is 21 days because the vitals drift monitor judges from day 11 (:mod:`detection.drift`): a
shorter run never hears from it, so its false drifts would go uncounted; 21 days give it 11 days
to judge (about 9 minutes)."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from alerts.raising import AlarmTrigger
from ingest.codec import Envelope
from ingest.contract import Kind, Location, Telemetry, Topic
from ingest.welfare import WelfareStage
from simulators.vitals import (
    ORDINARY_DAYS,
    WearerDays,
    heart_rate,
    local_hour,
    next_activity,
    saturation,
)
from store.registry import DeviceRef

START = 1_699_977_600.0  # 2023-11-15 00:00 in Shanghai
DAY = 86400.0
TELEMETRY_S = 10.0
LOCATION_S = 60.0
BATCH_S = 60.0
"""Ingest hands the stage what arrived in the last minute (it does so far more often; the
detectors see the same readings either way)."""
STEPS_PER_S = 1.8  # as simulators.devices counts them while walking
HOME = (31.2, 121.4)
WEARER_DAYS_KEY = 12351
"""Last word of each wearer's day-effect key: a generator no other draw of the bench uses."""


@dataclass(slots=True)
class _Wearer:
    device: str
    site: str
    rng: np.random.Generator
    hr_base: float
    days: WearerDays | None
    activity: str = "standing"
    until: float = 0.0
    steps: int = 0
    seq: int = 0

    def telemetry(self, t: float) -> Envelope:
        if t >= self.until:
            self.activity, self.until = next_activity(t, self.rng)
        moving = self.activity == "walking"
        if local_hour(t) < TELEMETRY_S / 3600.0:
            self.steps = 0  # the watch counts steps per local day
        if moving:
            self.steps += int(self.rng.poisson(STEPS_PER_S * TELEMETRY_S))
        hr = heart_rate(self.hr_base, t, moving, self.rng)
        spo2 = float(self.rng.normal(97, 1))
        if self.days is not None:
            hr, spo2 = self.days.apply(t, hr, spo2)
        self.seq += 1
        body = Telemetry(seq=self.seq, ts=round(t * 1000), hr=round(hr), spo2=saturation(spo2),
                         skin_temp=round(float(self.rng.normal(33.2, 0.3)), 1),
                         steps=self.steps, battery=80, worn=True)
        return Envelope(topic=Topic(site=self.site, device=self.device, kind=Kind.TELEMETRY),
                        body=body)

    def location(self, t: float) -> Envelope:
        self.seq += 1
        body = Location(seq=self.seq, ts=round(t * 1000),
                        lat=round(HOME[0] + float(self.rng.normal(0, 0.0001)), 6),
                        lon=round(HOME[1] + float(self.rng.normal(0, 0.0001)), 6),
                        acc=round(float(self.rng.uniform(8, 30)), 1), source="gps")
        return Envelope(topic=Topic(site=self.site, device=self.device, kind=Kind.LOCATION),
                        body=body)


def simulate(*, seed: int, wearers: int, days: int, steady: bool = False
             ) -> list[AlarmTrigger]:
    """Every alarm trigger the stage raises for ``wearers`` ordinary wearers over ``days``;
    ``steady`` leaves out their day and hour effects."""
    people = [
        _Wearer(device=f"watch-{i:03d}", site=f"home-{i:03d}",
                rng=(rng := np.random.default_rng([seed, i])), hr_base=float(rng.normal(72, 6)),
                days=None if steady else WearerDays((seed, i, WEARER_DAYS_KEY), ORDINARY_DAYS))
        for i in range(wearers)
    ]
    stage = WelfareStage()
    stage.configure({
        p.device: DeviceRef(id=p.device, site_id=p.site, kind="wearable",
                            resident_id=f"r{i:03d}", room_id=None, site_lat=HOME[0],
                            site_lon=HOME[1])
        for i, p in enumerate(people)})
    triggers: list[AlarmTrigger] = []
    ticks = int(BATCH_S // TELEMETRY_S)
    for minute in range(int(days * DAY // BATCH_S)):
        t0 = START + BATCH_S * minute
        batch = [p.telemetry(t0 + TELEMETRY_S * i) for i in range(ticks) for p in people]
        batch += [p.location(t0) for p in people if minute % int(LOCATION_S // BATCH_S) == 0]
        batch.sort(key=lambda e: e.body.ts)
        triggers += stage.process(batch, now=t0 + BATCH_S - TELEMETRY_S)
    return triggers


def _finding(trigger: AlarmTrigger) -> str:
    """The finding behind a vitals alarm, the unusual-pattern path's apart from the z-score's."""
    finding = str(trigger.details.get("finding") or "(no details)")
    if finding == "deviation":
        scored = trigger.details.get("anomaly_score") is not None
        finding += f" ({'unusual pattern' if scored else 'robust z'})"
    return f"{trigger.details.get('vital', '?')} {finding}"


EPISODE_GAP_S = 3600.0
"""Alarms of one kind from one watch less than an hour apart are one episode."""


def episodes(triggers: list[AlarmTrigger]) -> Counter[str]:
    """Episodes by kind: what an operator handles, as the incidents that alarms join while they
    are open. Flap control already merges a run of findings into one alarm per 10 minutes with
    a count (:mod:`detection.flap`), so a deviation that lasts half an hour raises three or four
    alarms; this counts it once."""
    found: Counter[str] = Counter()
    last: dict[tuple[str, str], float] = {}
    for t in sorted(triggers, key=lambda t: t.occurred_ts):
        key = (t.device_id, t.kind)
        if t.occurred_ts - last.get(key, float("-inf")) >= EPISODE_GAP_S:
            found[t.kind] += 1
        last[key] = t.occurred_ts
    return found


def report(triggers: list[AlarmTrigger], *, wearers: int, days: int) -> str:
    wearer_days = wearers * days
    kinds = Counter(t.kind for t in triggers)
    runs = episodes(triggers)
    by_day = Counter((t.kind, int((t.occurred_ts - START) // DAY) + 1) for t in triggers)
    lines = [f"{wearers} wearers x {days} days = {wearer_days} wearer-days, "
             f"{len(triggers)} alarms ({len(triggers) / wearer_days:.2f} per wearer-day)",
             f"{'kind':<18}{'alarms':>8}{'per wearer-day':>16}{'episodes':>10}   by day of the run"]
    for kind, n in sorted(kinds.items()):
        days_row = " ".join(f"{by_day[(kind, d)]:>4}" for d in range(1, days + 1))
        lines.append(f"{kind:<18}{n:>8}{n / wearer_days:>16.2f}{runs[kind]:>10}   {days_row}")
    findings = Counter(_finding(t) for t in triggers if t.kind == "vitals_deviation")
    if findings:
        lines.append("vitals_deviation by finding: "
                     + ", ".join(f"{k} {n}" for k, n in sorted(findings.items())))
    hours = Counter(int(local_hour(t.occurred_ts)) for t in triggers if t.kind == "inactivity")
    if hours:
        lines.append("inactivity by local hour: "
                     + ", ".join(f"{h:02d}h {n}" for h, n in sorted(hours.items())))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wearers", type=int, default=20)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--steady", action="store_true",
                        help="no day or hour effects: every day alike but for reading noise")
    args = parser.parse_args()
    began = time.perf_counter()
    triggers = simulate(seed=args.seed, wearers=args.wearers, days=args.days, steady=args.steady)
    print(f"seed {args.seed}{', steady days' if args.steady else ''}; "
          f"{time.perf_counter() - began:.0f} s")
    print(report(triggers, wearers=args.wearers, days=args.days))


if __name__ == "__main__":
    main()
