"""Community health kiosks (issue 9): each community day-care centre's kiosk takes self check-ups
(blood pressure with pulse, and now and then glucose, weight, temperature, SpO2) of the elders
living in its community, a few times a day each kiosk, and publishes them as ``checkup``
messages. Rarely one is abnormal (a blood pressure in the crisis range, a low or very high
glucose, a fever), which the platform turns into a vitals alarm.

Every elder has their own usual values, drawn the first time they use a kiosk; a normal check-up
is those plus measurement noise well inside what the platform's own-baseline check tolerates.
Kiosks draw on a random stream of their own (``[seed, 6]``: the 6 of 9064, community care), so a
district with kiosks publishes every other message exactly as one without.

>>> from simulators.district import District
>>> from simulators.scenario import DEMO
>>> d = District.generate(seed=1, homes=12, care_homes=0, day_cares=True)
>>> k = Kiosks(d, DEMO, seed=1, start=1_800_000_000.0)
>>> m = k.checkup("kiosk-01", k.served("kiosk-01")[0], 1_800_000_000.0, abnormal=True)
>>> m.topic
'eldercare/v1/daycare-01/kiosk-01/checkup'
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ingest.codec import encode
from ingest.contract import Checkup, Kind, Readings, topic
from simulators.devices import Outgoing, SimDevice, checkin, status
from simulators.district import District
from simulators.scenario import Scenario

KIOSK_STREAM = 6
CHECKIN_S = 3600.0
"""Kiosks are mains powered and online: an hourly check-in."""


@dataclass(frozen=True, slots=True)
class _Usual:
    systolic: float
    diastolic: float
    glucose: float
    weight: float
    pulse: float


class Kiosks:
    def __init__(self, district: District, scenario: Scenario, *, seed: int, start: float,
                 counts: Counter[str] | None = None) -> None:
        self._rng = np.random.default_rng([seed, KIOSK_STREAM])
        self._scenario = scenario
        sites = {s.id: s for s in district.sites}
        seq_base = int(start * 1000) << 20  # as every simulated device: see docs/device-api.md
        self.devices = [SimDevice(device=d, site=sites[d.site_id], seq_base=seq_base,
                                  next_checkin=float(int(start)) + 60.0 * k, battery=100.0)
                        for k, d in enumerate(d for d in district.devices if d.kind == "kiosk")]
        self.by_id = {dev.device.id: dev for dev in self.devices}
        home_node = {s.id: s.node_id for s in district.sites if s.kind == "home"}
        self._served = {dev.device.id: [r.id for r in district.residents
                                        if home_node.get(r.site_id) == dev.site.node_id]
                        for dev in self.devices}
        self._usual: dict[str, _Usual] = {}
        self._started = False
        self.counts: Counter[str] = Counter() if counts is None else counts

    def served(self, kiosk_id: str) -> list[str]:
        """The residents a kiosk takes check-ups of: those living in its community."""
        return list(self._served[kiosk_id])

    def _usual_of(self, resident: str) -> _Usual:
        if resident not in self._usual:
            rng = self._rng
            systolic = float(np.clip(rng.normal(132, 12), 105, 165))
            self._usual[resident] = _Usual(
                systolic=systolic,
                diastolic=float(np.clip(systolic * 0.6 + rng.normal(0, 5), 60, 95)),
                glucose=float(np.clip(rng.normal(6.0, 1.0), 4.4, 9.0)),
                weight=float(np.clip(rng.normal(60, 9), 40, 90)),
                pulse=float(np.clip(rng.normal(74, 7), 55, 95)))
        return self._usual[resident]

    def checkup(self, kiosk_id: str, resident: str, t: float, *,
                abnormal: bool | None = None) -> Outgoing:
        """One check-up of ``resident`` at the kiosk now; ``abnormal`` None: as the scenario's
        share has it."""
        rng, dev, usual = self._rng, self.by_id[kiosk_id], self._usual_of(resident)
        if abnormal is None:
            abnormal = bool(rng.random() < self._scenario.checkup_abnormal_share)
        systolic = float(np.clip(usual.systolic + rng.normal(0, 5), 95, 175))
        values: dict[str, float] = {
            "bp_systolic": round(systolic),
            "bp_diastolic": round(min(float(np.clip(usual.diastolic + rng.normal(0, 4), 55, 100)),
                                      systolic - 20)),
            "heart_rate": round(float(np.clip(usual.pulse + rng.normal(0, 4), 50, 110)))}
        if rng.random() < 0.5:
            values["glucose"] = round(float(np.clip(usual.glucose + rng.normal(0, 0.4), 4.2, 12)), 1)
        if rng.random() < 0.5:
            values["weight"] = round(usual.weight + float(rng.normal(0, 0.3)), 1)
        if rng.random() < 0.3:
            values["temperature"] = round(float(np.clip(rng.normal(36.5, 0.25), 35.6, 37.4)), 1)
        if rng.random() < 0.3:
            values["spo2"] = float(np.clip(round(rng.normal(97, 1)), 93, 99))
        if abnormal:
            what = ("bp", "glucose_low", "glucose_high", "fever")[int(rng.integers(4))]
            if what == "bp":
                values["bp_systolic"] = round(float(rng.uniform(185, 215)))
                values["bp_diastolic"] = round(float(rng.uniform(95, 120)))
            elif what == "glucose_low":
                values["glucose"] = round(float(rng.uniform(2.6, 3.6)), 1)
            elif what == "glucose_high":
                values["glucose"] = round(float(rng.uniform(17.5, 24.0)), 1)
            else:
                values["temperature"] = round(float(rng.uniform(38.6, 39.6)), 1)
            self.counts["checkups_abnormal"] += 1
        self.counts["checkups"] += 1
        body = Checkup(seq=dev.next_seq(), ts=round(t * 1000), resident=resident,
                       readings=Readings(**values))
        return Outgoing(topic(dev.site.id, dev.device.id, Kind.CHECKUP), encode(body))

    def step(self, now: float) -> list[Outgoing]:
        """What the kiosks publish during this second."""
        rng, out = self._rng, []
        if not self._started:
            self._started = True
            out += [status(dev, now, "online") for dev in self.devices]
        rate = self._scenario.checkups_per_kiosk_hour / 3600.0
        for dev in self.devices:
            if now >= dev.next_checkin:
                dev.next_checkin += CHECKIN_S
                out.append(checkin(dev, now, rng))
            residents = self._served[dev.device.id]
            for _ in range(int(rng.poisson(rate))):
                if residents:
                    out.append(self.checkup(dev.device.id,
                                            residents[int(rng.integers(len(residents)))], now))
        return out
