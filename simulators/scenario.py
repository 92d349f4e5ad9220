"""How often things happen in a simulated district, as data.

Rates are district-wide, per hour, so that a small demo district still shows something every
minute. ``DEMO`` compresses months of incidents into minutes so that a person watching sees alarms;
``REALISTIC`` is roughly what a centre sees (one genuine SOS per elder every few months, more
accidental presses than genuine ones, falls a few times a year for the frail).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulators.vitals import ORDINARY_DAYS, DayToDay


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    sos_per_hour: float
    accidental_per_hour: float
    """Presses cancelled by the elder 5-20 s later."""
    falls_per_hour: float
    fall_gets_up_share: float = 0.3
    """Falls after which the wearer gets up and walks on."""
    smoke_per_hour: float
    smoke_tests_per_hour: float
    faults_per_hour: float
    dropouts_per_hour: float
    """A device going silent for 1-10 minutes (radio, power, out of range)."""
    service_presses_per_hour: float = 0.0
    """Double presses asking for a service (meal, housekeeping...), from the buttons configured
    for it (``service_press='double_press'``); drawn from a stream of their own."""
    site_outages_per_hour: float = 0.0
    """A care home's network going down: every device of the home falls silent for
    ``site_outage_s``, the broker publishing each one's last will as its connection times out;
    drawn from a stream of its own."""
    site_outage_s: tuple[float, float] = (20 * 60.0, 40 * 60.0)
    line_cuts_per_hour: float = 0.0
    """A home gateway's broadband line cut (``District.generate(home_gateways=True)``) for
    ``line_cut_s``: the broker publishes the gateway's last will as its keep-alive (30 s) runs
    out; the zigbee devices behind it go on, and what they say waits in the gateway's spool
    until the line is back. Drawn, with the smoke detectors taken down, from a stream of its
    own."""
    line_cut_s: tuple[float, float] = (20 * 60.0, 90 * 60.0)
    area_cuts_per_hour: float = 0.0
    """A provider's works (at night, as a rule) cutting every home gateway's line in one
    community at once, for ``line_cut_s``; each line back within five minutes of the others.
    Counted among ``line_cuts`` too."""
    smoke_down_per_hour: float = 0.0
    """A home's smoke detector taken off its base (it chirped for a battery, it was in the way
    of the cooking), saying ``tamper``; put back after ``smoke_down_s``, saying
    ``tamper_cleared``."""
    smoke_down_s: tuple[float, float] = (3600.0, 12 * 3600.0)
    watch_off_per_hour: float = 0.0
    """A wearer taking their watch off (to charge it, to wash) for ``watch_off_s``; drawn from a
    stream of its own."""
    watch_off_s: tuple[float, float] = (20 * 60.0, 90 * 60.0)
    charge_per_hour: float = 60.0
    """Battery percent a watch gains per hour off the wrist (on its charger)."""
    low_warn_pct: float = 15.0
    """The level at which a watch tells its wearer its battery is low (a beep, a screen)."""
    low_charged_share: float = 0.8
    """Of the warnings, the share after which the wearer puts the watch on its charger within
    ``low_charge_after_s``; the others are missed, and the watch may go flat on the wrist."""
    low_charge_after_s: tuple[float, float] = (10 * 60.0, 4 * 3600.0)
    recharge_s: tuple[float, float] = (80 * 60.0, 150 * 60.0)
    """How long a low or flat watch stays on its charger."""
    flat_found_s: tuple[float, float] = (3600.0, 14 * 3600.0)
    """How long a flat watch stays flat before the wearer (a visitor, a nurse's round) finds it
    and puts it on its charger. Flat, it sends nothing; the broker publishes its last will when
    its keep-alive runs out."""
    outings_per_hour: float = 0.0
    """A wearer at home walking out by day (to the market, the park): leaves between 08:00 and
    17:00 local time, 500-1,500 m out, back within ``outing_s``. Drawn, like the stays and night
    wanders, from a stream of its own."""
    outing_s: tuple[float, float] = (40 * 60.0, 120 * 60.0)
    stays_per_hour: float = 0.0
    """A wearer with a son's or daughter's flat (``District.places``) going to stay the night:
    leaves between 15:00 and 19:00, 20-40 min on the way, back the next morning between 08:00
    and 11:00."""
    night_wanders_per_hour: float = 0.0
    """A wearer at home walking out at night (between 22:00 and 04:00; the dementia
    "exit-seeking" the geofence is for): 400-1,500 m out over 10-30 min, lingering 10-40 min,
    and walking back. Only these should raise a ``wandering``."""
    checkups_per_kiosk_hour: float = 0.25
    """Self check-ups at each community kiosk (a few a day; districts with ``day_cares``)."""
    checkup_abnormal_share: float = 0.02
    checkin_s: tuple[tuple[str, float], ...] = (("button", 3600.0), ("smoke", 3600.0),
                                                 ("wearable", 600.0), ("wall_button", 300.0),
                                                 ("gateway", 300.0))
    """Per device class; a care home's call buttons are mains-powered wall buttons that report
    every few minutes, and so does a home gateway (the platform expects one every 10:
    detection.device_health)."""
    telemetry_s: float = 10.0
    location_s: float = 60.0
    accel_hz: float = 50.0
    day_to_day: DayToDay | None = ORDINARY_DAYS
    """Each wearer's better and worse days and hours (heart rate, SpO2); None for the steady
    days simulated before 2026-12-06 (every hour of every day alike but for reading noise)."""
    battery_drain_per_hour: tuple[tuple[str, float], ...] = (("button", 0.01), ("smoke", 0.005),
                                                              ("wearable", 2.0),
                                                              ("wall_button", 0.0),
                                                              ("gateway", 0.0))

    def checkin_interval(self, kind: str) -> float:
        return dict(self.checkin_s)[kind]

    def drain(self, kind: str) -> float:
        return dict(self.battery_drain_per_hour)[kind]


DEMO = Scenario(sos_per_hour=240.0, accidental_per_hour=90.0, falls_per_hour=120.0,
                smoke_per_hour=12.0, smoke_tests_per_hour=30.0, faults_per_hour=6.0,
                dropouts_per_hour=12.0, service_presses_per_hour=24.0, watch_off_per_hour=12.0,
                site_outages_per_hour=0.5, line_cuts_per_hour=6.0, area_cuts_per_hour=0.5,
                smoke_down_per_hour=3.0,
                smoke_down_s=(10 * 60.0, 60 * 60.0),
                outings_per_hour=30.0, stays_per_hour=6.0,
                night_wanders_per_hour=12.0,
                checkups_per_kiosk_hour=30.0, checkup_abnormal_share=0.1)

REALISTIC = Scenario(sos_per_hour=0.02, accidental_per_hour=0.05, falls_per_hour=0.005,
                     smoke_per_hour=0.0005, smoke_tests_per_hour=0.01, faults_per_hour=0.001,
                     dropouts_per_hour=0.05, service_presses_per_hour=0.1,
                     watch_off_per_hour=0.5, site_outages_per_hour=0.001,
                     line_cuts_per_hour=0.003, area_cuts_per_hour=0.0005,
                     smoke_down_per_hour=0.002,
                     outings_per_hour=2.0, stays_per_hour=0.35, night_wanders_per_hour=0.02)

SCENARIOS = {"demo": DEMO, "realistic": REALISTIC}
