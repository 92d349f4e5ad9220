"""Inactivity / welfare check: no movement for longer than this elder's normal for this hour.

Method: the day (``wake_hour`` to ``sleep_hour``, in the resident's time zone) and the night are
judged apart, because sleep is not a long daytime pause.

* By day, every silence (time between two movements) that lies in the day is recorded in the
  time-of-day bin where it *began*, with the day it began on. A silence now in progress is
  measured from its last movement, or from this morning's wake hour if it began in the night,
  and may last as long as this resident's silences from that bin are seen to last about once in
  ``false_alarm_days`` days (:func:`return_level`), but no longer than the 4 h default unless
  longer silences were seen in that bin on two days (then no longer than the shorter of the
  two days' longest), clipped to [``floor``, ``ceiling``]; until that bin has
  ``min_silences`` of them, 4 h. A silence that reached into the night teaches its evening
  part (an early bedtime), and one that began in the night its part from the wake hour (a late
  rising): what the check would have measured. (Until 2026-12-06 the limit was ``margin`` ×
  the 95th percentile of those silences, ``limit_rule="quantile"``: a rule whose false alarms
  grow with how many silences a day has, and with how long their tail is; see
  docs/detectors.md.)
* At night the limit is 11 h of silence: so a night's sleep is normal, but nobody stirring by
  late morning is not (the day's 4 h count from 07:00). Since 2026-12-06 each night's longest
  silence, as the night check saw it, is kept too, and after ten nights the night limit is
  loosened (never tightened) to their return level: an early sleeper still from 19:00 to 06:30
  is not called every morning at 06:00.
* In the morning a silence carried over from the night is held to the day's allowance from
  the wake hour and, once ten of the resident's nights are known, to the morning limit as a
  whole, whichever is passed first (:meth:`InactivityDetector._morning_limit`): the night
  limit, loosened as far as each night's longest silence, whole, teaches. Until then a
  silence from 20:30 passed 11 h at 07:30 and was called at 11:00.
* A silence that began by day, an hour or more before this resident goes to bed at the
  earliest (:meth:`InactivityDetector._bedtime_from`, learnt from when their nights'
  silences began), is held to its day limit at night and the next morning too: the day's
  check does not stop at the sleep hour for it. Before, someone still from 19:00 whose 4 h
  would have been up at 23:00 was left to the night limit, 06:00.
* What an alarmed silence taught is taken back when the operator finds it was no ordinary
  silence (:meth:`InactivityDetector.forget`; ingest gives it the outcomes "genuine" and
  "device_fault"): else a resident found on the floor once has the limit loosened for the
  next time. A false alarm's silence stays learnt: it is what stops the next false call. So is
  the silence a genuine fall or SOS call began (the time on the floor until help came), when
  no inactivity alarm was needed to find it.

Keying by the bin where a silence *began* is what makes a limit fit the silence it judges: a
silence that began at 22:10 is sleep, not one of the evening's short pauses that *ended*
between 22:00 and 24:00 (recording silences where they ended, as before, gave a bedtime bin
limit of about an hour, and an alarm in the first hour of sleep). The clock comes with the batch
(:class:`Clock`), because silence is what this detector looks for. One finding per silence;
movement re-arms it. While the resident is away from home (a geofence or the family app says
so) the watch may be in a drawer: no check runs, and the return counts as movement.
Only residents the platform can see move are judged (:meth:`InactivityDetector.set_watched`:
those with a worn device; room sensors later). An elder with a call button alone is silent
whenever they are well, and a press now and then is no routine to learn. A resident who loses
their watch keeps what was learnt; the time without one is not judged or learnt (as time away
is not), and their silence is counted afresh from when a watch is theirs again.
(Learning each resident's gaps follows the "activity of daily living" monitoring literature,
e.g. Cook et al., "Assessing the quality of activities in a smart environment", 2009; the
return level is extreme-value statistics, :func:`return_level`.)

Alongside, each resident's active minutes per hour are scored against their own routine
(:class:`detection.routine.DayShape`, the general anomaly scorer on the residual from the usual
day). An unusual hour is reported as ``unusual_day`` — information, never an alarm by itself —
and its score rides on an ``inactivity`` finding that follows within ``unusual_context``.

>>> d = InactivityDetector()
>>> _ = d.update([Movement(timestamp=0.0, subject="r1")])  # 08:00 in Shanghai
>>> [f.kind for f in d.update([Clock(timestamp=5 * 3600.0)])]
['inactivity']
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from detection.routine import DayShape, RoutineConfig
from detection.zones import known_zone

HOUR = 3600.0
DAY_S = 24 * HOUR
LIMIT_RULES = ("return_level", "quantile")
NIGHT = -1
"""Where a resident's night silences are kept beside the day bins."""
MORNING = -2
"""Where each night's longest silence is kept whole, to the movement that ended it: what the
morning's check of a silence carried over from the night learns from."""
BEDTIME = -3
"""Where the time of day (seconds from local midnight) each silence that began by day and
reached into the night began is kept (one a night at most): when this resident goes to
bed."""
MOVEMENT_KINDS = frozenset({"wearable"})
"""Registry device kinds whose messages show their elder moving or still (step counts,
accelerometer windows): the residents with one are this check's (:meth:`InactivityDetector.
set_watched`; room motion sensors, when the registry has them, belong here too)."""
ALARMED_KEPT = 8
"""Alarmed silences remembered per resident, for an operator's outcome to unlearn (an outcome
comes within hours; eight is weeks of alarms for the most alarmed resident)."""
RECENT_KEPT = 24
"""Learnt silences remembered per resident, alarmed or not, for the outcome of a fall or an SOS
call to unlearn the silence it began (a day has a handful of silences over ``learn_from``: 24
is two days or more, and such a call is resolved within hours)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Movement:
    """Steps, an accelerometer activity window, a PIR or door event: the resident moved."""

    timestamp: float
    subject: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Presence:
    """The resident left home (``at_home=False``) or came back."""

    timestamp: float
    subject: str
    at_home: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Clock:
    """The time now: checks every resident's silence."""

    timestamp: float


@dataclass(frozen=True, slots=True, kw_only=True)
class InactivityFinding:
    timestamp: float
    subject: str
    kind: str  # "inactivity" or "unusual_day"
    silent_for: float
    limit: float
    last_movement: float
    score: float | None = None
    """For ``unusual_day`` its anomaly score; for ``inactivity`` the score of an unusual day
    reported within ``unusual_context`` before it (None: the day looked ordinary)."""
    detail: str = ""
    nights_known: int | None = None
    """For a silence called by the night limit before the resident's own nights could loosen
    it: how many of their nights are known (``min_silences`` + 1 are needed). An operator reads
    it as "new to us: a long night may be their usual" and phones before sending anyone."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InactivitySummary:
    """What the detector holds for one resident, as their carers and family are shown it
    (ingest keeps it in ``resident_welfare``, migration 0018)."""

    last_movement: float
    at_home: bool
    tz: str
    sleep_hour: int
    wake_hour: int
    bin_hours: int
    day_limits: tuple[float | None, ...]
    """Per bin of the local day from 00:00, the silence (seconds) allowed to one that begins in
    it by day; None for a bin wholly in the night."""
    learnt: tuple[bool, ...]
    """Per bin, whether its limit was learnt from this resident's days (else the default)."""
    night_limit: float
    morning_limit: float | None
    """The whole silence a resident still since before the wake hour may reach in the morning
    before the centre is called, unless the day's allowance from the wake hour calls first
    (None until ten of their nights are known: the day's allowance alone, as before)."""
    bedtime_from: float | None = None
    """Seconds after the wake hour (local) before which a silence that began by day is no
    bedtime: at night and the next morning it is still held to its bin's day limit (None:
    until ten nights are known, the night and morning limits alone; inf: the resident has
    not been seen going to bed by day)."""


class AllowedNow(NamedTuple):
    """How long the silence in progress may last (:func:`allowed_now`)."""

    still_since: float
    """Since when the silence is counted: the last movement, or by day this morning's wake
    hour if that is later."""
    limit: float
    learnt: bool
    night: bool
    morning: bool = False
    """By day, whether it is the whole silence carried over from the night, held to the
    morning limit (else the silence since the wake hour, held to the day's allowance)."""
    evening: bool = False
    """Whether it is the whole silence carried over from before the resident's bedtime, held
    to the day limit of the bin it began in (at night, or the next morning)."""


def _clock(local: datetime) -> float:
    """Seconds from local midnight."""
    return local.hour * HOUR + local.minute * 60 + local.second + local.microsecond / 1e6


def _since_wake(local: datetime, wake_hour: int) -> float:
    """Seconds from the latest wake hour at or before ``local`` (local clock time)."""
    return (_clock(local) - wake_hour * HOUR) % DAY_S


def _evening_of(s: InactivitySummary) -> float:
    """The day limit the silence in progress is still held to after the sleep hour because it
    began before the resident's bedtime (inf: none)."""
    local = datetime.fromtimestamp(s.last_movement, UTC).astimezone(ZoneInfo(s.tz))
    if (s.bedtime_from is None or _night_hour(local.hour, s.sleep_hour, s.wake_hour)
            or _since_wake(local, s.wake_hour) >= s.bedtime_from):
        return math.inf
    found = s.day_limits[local.hour // s.bin_hours]
    return s.night_limit if found is None else found


def allowed_now(s: InactivitySummary, now: float) -> AllowedNow:
    """What the check at ``now`` holds the resident's silence to, from their summary: as
    :meth:`InactivityDetector._measure` does, so a summary kept elsewhere (the console reads it
    from the database) says what the detector would."""
    local = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(s.tz))
    if _night_hour(local.hour, s.sleep_hour, s.wake_hour):
        evening = _evening_of(s)
        if evening < s.night_limit:
            return AllowedNow(s.last_movement, evening, False, True, evening=True)
        return AllowedNow(s.last_movement, s.night_limit, False, True)
    woke = local.replace(hour=s.wake_hour, minute=0, second=0, microsecond=0)
    if woke > local:
        woke -= timedelta(days=1)
    since = max(s.last_movement, woke.timestamp())
    key = datetime.fromtimestamp(since, UTC).astimezone(ZoneInfo(s.tz)).hour // s.bin_hours
    limit = s.day_limits[key]
    day = AllowedNow(since, s.night_limit if limit is None else limit, s.learnt[key], False)
    if s.last_movement < since:
        morning = math.inf if s.morning_limit is None else s.morning_limit
        evening = _evening_of(s)
        whole = min(morning, evening)
        if s.last_movement + whole < since + day.limit:
            return AllowedNow(s.last_movement, whole, False, False, morning=morning <= evening,
                              evening=evening < morning)
    return day


def next_call(s: InactivitySummary, now: float) -> tuple[float, AllowedNow]:
    """When the check would first find the resident's silence too long if they stay still from
    ``now`` (``now`` itself if it already is), and the rule that would find it. Not simply
    :func:`allowed_now`'s limit from its start: a silence that outlasts the evening is judged
    by the night limit from the sleep hour, and one that outlasts the night by the morning
    limit or the day's allowance counted from the wake hour, whichever calls first."""
    t = now
    for _ in range(4):  # a day, a night, a day: one of them ends the silence
        allowed = allowed_now(s, t)
        due = allowed.still_since + allowed.limit
        local = datetime.fromtimestamp(t, UTC).astimezone(ZoneInfo(s.tz))
        switch = local.replace(hour=s.wake_hour if allowed.night else s.sleep_hour, minute=0,
                               second=0, microsecond=0)
        if switch <= local:
            switch += timedelta(days=1)
        if due < switch.timestamp():
            return max(due, t), allowed
        t = switch.timestamp()
    return t, allowed_now(s, t)


def _night_hour(hour: int, sleep_hour: int, wake_hour: int) -> bool:
    if sleep_hour > wake_hour:
        return hour >= sleep_hour or hour < wake_hour
    return sleep_hour <= hour < wake_hour


@dataclass(frozen=True, slots=True, kw_only=True)
class InactivityConfig:
    tz: str = "Asia/Shanghai"
    """The centre's zone: residents' day and night are local to it unless they were given their
    own (:meth:`InactivityDetector.set_zones`; ingest gives each resident their site's)."""
    day_limit: float = 4 * HOUR
    night_limit: float = 11 * HOUR
    """The night's silence limit, and its least: a resident's nights may loosen it (return level
    rule), never tighten it."""
    sleep_hour: int = 22
    wake_hour: int = 7
    """Night is [sleep_hour, wake_hour) local time; by default the day limit counts from the
    wake hour, so a night's sleep does not eat into the morning's allowance."""
    bin_hours: int = 2
    min_silences: int = 10
    limit_rule: str = "return_level"
    """How a day bin's silences set its limit: ``"return_level"`` (:func:`return_level`, with
    ``false_alarm_days``) or ``"quantile"`` (``margin`` × their 95th percentile, the rule until
    2026-12-06)."""
    false_alarm_days: float = 100.0
    """The return level's period: a resident's ordinary daytime silences pass their learnt
    limits about once in this many days at home (each of the day's bins is given this many
    days times the number of bins). 100 days is ten calls a day for a thousand residents; on
    simulated days it took false inactivity alarms from 0.05 to 0.007 per wearer-day and a
    collapse was found 0.8 h later (bench/inactivity_limits.py, docs/detectors.md)."""
    margin: float = 1.5
    """The quantile rule's multiplier (unused by the return level)."""
    floor: float = 2 * HOUR
    """Never alarm on a daytime silence shorter than this, however regular the resident: a nap,
    a film or a long call is ordinary, and a watch sees steps and brisk movement, not sitting
    still. Under the quantile rule at 1 h, 1.5 × the 95th percentile of simulated wearers'
    pauses (1.0–1.6 h) raised 0.26 false alarms per wearer-day; at 2 h, 0.04
    (bench/welfare_false_alarms.py)."""
    ceiling: float = 14 * HOUR
    """Never wait longer than this, however long the silences learnt."""
    bedtime_margin: float = HOUR
    """How much earlier than the earliest bedtime a resident's nights teach a silence must begin
    to be held to its day limit after the sleep hour (:meth:`InactivityDetector._bedtime_from`):
    a step-only watch sees bed as the evening's last walk, which the few nights learnt
    understate the spread of. Without it, 0.013 false calls per wearer-night on the bench's
    ordinary days; with 1 h, see docs/detectors.md."""
    remembered: int = 60
    """Silences kept per bin (about two months of one a day)."""
    learn_from: float = 10 * 60.0
    """Silences shorter than this are ordinary life, not worth remembering."""
    routine: RoutineConfig = field(default_factory=RoutineConfig)
    unusual_context: float = 12 * HOUR
    """How long an unusual-day report stays attached to inactivity findings."""

    def __post_init__(self) -> None:
        if self.limit_rule not in LIMIT_RULES:
            raise ValueError(f"limit_rule must be one of {', '.join(LIMIT_RULES)}, "
                             f"not {self.limit_rule!r}")
        if not self.false_alarm_days > 0:
            raise ValueError(f"false_alarm_days must be positive, not {self.false_alarm_days!r}")

    def day_bins(self) -> int:
        """How many time-of-day bins the configured day (``wake_hour`` to ``sleep_hour``)
        touches."""
        return Local(tz=self.tz, sleep_hour=self.sleep_hour,
                     wake_hour=self.wake_hour).day_bins(self.bin_hours)


class Local(NamedTuple):
    """Where and when a resident lives: their time zone and their night, [sleep_hour,
    wake_hour) local. (A named tuple: the once-a-second check keys its per-zone work by it,
    and a tuple hashes in C, three times faster than a frozen dataclass over 8,000 residents.)"""

    tz: str
    sleep_hour: int
    wake_hour: int

    def day_bins(self, bin_hours: int) -> int:
        """How many time-of-day bins the day (``wake_hour`` to ``sleep_hour``) touches."""
        return len(self.day_bin_keys(bin_hours))

    def day_bin_keys(self, bin_hours: int) -> set[int]:
        """The time-of-day bins the day touches."""
        hours = range(self.wake_hour, self.sleep_hour if self.sleep_hour > self.wake_hour
                      else self.sleep_hour + 24)
        return {(h % 24) // bin_hours for h in hours}


Cause = int | float | str
"""What an outcome is known by: ingest gives the alarm's id, so that one call's outcome changed
undoes what that call's outcome did and no other's."""


def _holds(silence: tuple[float, float], when: float) -> bool:
    return silence[0] <= when <= silence[1]


@dataclass(slots=True)
class _Taken:
    """A silence an outcome took back (or kept from being learnt), and the outcomes that said so:
    it is learnt again only when every one of them is changed (:meth:`InactivityDetector.
    relearn`)."""

    silence: tuple[float, float]
    causes: set[Cause]


def _causes(saved: object) -> tuple[Cause, ...]:
    """A snapshot's outcomes for the silence in progress (in snapshots taken before the seventh
    session, 2026-12-06, a flag: true kept it from being learnt, with no outcome named)."""
    if isinstance(saved, list):
        return tuple(saved)
    return ("unnamed",) if saved else ()


def valid_night(sleep_hour: int, wake_hour: int) -> bool:
    """Whether a night runs from one local hour (0-23) to another."""
    return 0 <= sleep_hour <= 23 and 0 <= wake_hour <= 23 and sleep_hour != wake_hour


def return_level(silences: np.ndarray, days: int, period: float) -> float:
    """The silence that silences like ``silences`` (seen on ``days`` distinct days) pass about
    once in ``period`` days.

    Peaks over a threshold (Pickands 1975; Coles, *An Introduction to Statistical Modeling of
    Extreme Values*, 2001, ch. 4), with the bin's median as the threshold: the ``k`` excesses
    over it, summing to ``S``, are taken as exponential with an unknown rate. With the
    scale-invariant prior the rate's posterior is Gamma(k, S), and the predictive chance that a
    new excess passes ``y`` is ``(S / (S + y)) ** k`` (a Lomax tail). ``k / days`` excesses come
    a day, so the level passed once in ``period`` days solves ``k / days * period *
    (S / (S + y)) ** k = 1``: ``y = S * ((k / days * period) ** (1 / k) - 1)``. For many
    silences that is the plug-in ``S / k * ln(k / days * period)``; for few it is longer, as
    small samples should make it. Taking the excesses over the median, not over every silence,
    lets a resident whose silences are alike (a bounded tail) keep a tight limit, and one whose
    long silences are longer than an exponential's (a film after lunch) a long one.

    Six pauses of 20 to 70 minutes over two days: their median is 45 minutes, and the three
    longer ones pass it by 5, 15 and 25, so 1.5 such excesses come a day and the level passed
    once in 100 days is 45 + 45 × (150 ** (1/3) − 1) minutes, about four hours:

    >>> minutes = np.array([20.0, 30, 40, 50, 60, 70]) * 60
    >>> round(return_level(minutes, days=2, period=100) / 3600, 2)
    3.98
    """
    median = float(np.median(silences))
    excess = silences[silences > median] - median
    if not len(excess):
        return median  # all alike: nothing longer has been seen
    k = len(excess)
    per_period = max(k / max(days, 1) * period, 1.0)
    return median + float(excess.sum()) * (float(per_period ** (1.0 / k)) - 1.0)


@dataclass(slots=True)
class _Resident:
    last_movement: float
    day: DayShape
    local: Local
    """The resident's time zone (their site's) and night: their day, night and bins."""
    at_home: bool = True
    raised: bool = False
    silences: dict[int, deque[float]] = field(default_factory=dict)
    silence_days: dict[int, deque[int]] = field(default_factory=dict)
    """The local day (proleptic ordinal) each of ``silences`` began on, in the same order."""
    unusual: tuple[float, float] | None = None
    """(time, score) of the latest unusual-day report."""
    limit_memo: tuple[float, float] = (float("nan"), 0.0)
    """(began, limit) of the last limit worked out: it changes only when the silence's start
    does (a movement, which is also when silences are learnt, or a new morning)."""
    night_memo: float | None = None
    """The resident's night limit, worked out again when a night is learnt."""
    morning_memo: float | None = None
    """The resident's morning limit, worked out again when a night is learnt."""
    evening_memo: tuple[float, float] = (float("nan"), math.inf)
    """(last movement, the day limit its silence is held to after the sleep hour), worked out
    again when the last movement changes or a silence is learnt or taken back."""
    bedtime_memo: float | None = None
    """:meth:`InactivityDetector._bedtime_from`, worked out again when a night is learnt."""
    bin_memo: dict[int, tuple[float, bool]] = field(default_factory=dict)
    """Day bins' limits and whether each was learnt, worked out again when a silence is learnt
    into the bin or taken back from it, or the resident's clock moves (a summary asks for every
    bin, once a minute)."""
    alarmed: deque[tuple[float, float]] = field(
        default_factory=lambda: deque(maxlen=ALARMED_KEPT))
    """(began, ended) of the latest silences that raised an alarm and were learnt: what an
    operator's outcome can still unlearn (:meth:`InactivityDetector.forget`)."""
    recent: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=RECENT_KEPT))
    """(began, ended) of the latest silences learnt, alarmed or not: what a genuine fall's or
    SOS call's outcome can still unlearn."""
    forgotten: deque[_Taken] = field(default_factory=lambda: deque(maxlen=ALARMED_KEPT))
    """The latest silences an outcome unlearnt or kept from being learnt: the same outcome given
    again finds them and changes nothing, and a changed one can have them learnt again."""
    forget_current: tuple[Cause, ...] = ()
    """The outcomes that found the silence in progress was no ordinary silence (none: it is
    learnt when it ends, as every silence is)."""
    watched: bool = True
    """Whether the platform can see this resident move (:meth:`InactivityDetector.set_watched`)."""
    rewatched: bool = False
    """Watched again since the last item: their silence restarts at the next one's time."""


@dataclass(slots=True)
class InactivityDetector:
    """Per-resident silence against a learnt, time-of-day-specific limit."""

    config: InactivityConfig = field(default_factory=InactivityConfig)
    _residents: dict[str, _Resident] = field(default_factory=dict)
    _zones: dict[str, str] = field(default_factory=dict)
    """Residents' own time zones (:meth:`set_zones`); the others live in ``config.tz``."""
    _nights: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Residents' own (sleep hour, wake hour) (:meth:`set_nights`); the others, the config's."""
    _watched: frozenset[str] | None = None
    """The residents whose movement can be seen (:meth:`set_watched`); None: everyone."""

    def set_watched(self, subjects: Collection[str] | None) -> None:
        """The residents the platform can see move (a worn device; room sensors later); None:
        everyone (the default). Only they are judged, and only their movements are taken: a
        call button's press says its elder moved, but a button-only elder's days are silent
        whenever they are well, and one press would have them called 4 h into every morning
        after. A resident who stops being watched (their watch taken back) keeps what was
        learnt, and is neither judged nor taught while unwatched; watched again, their silence
        is counted from the first item after (a movement, or the clock), never from a
        movement before the watch came."""
        self._watched = None if subjects is None else frozenset(subjects)
        for subject, r in self._residents.items():
            watched = self._watches(subject)
            if watched and not r.watched:
                r.rewatched = True
            elif not watched and r.watched:
                r.day.away()
            r.watched = watched

    def _watches(self, subject: str) -> bool:
        return self._watched is None or subject in self._watched

    def set_zones(self, zones: dict[str, str]) -> None:
        """Each resident's time zone (their site's), for those not in ``config.tz``. A resident
        whose zone changes (a site's zone corrected) keeps what was learnt, as local times."""
        for tz in set(zones.values()):
            known_zone(tz)  # an unknown zone is refused here, not at the next clock tick
        self._zones = dict(zones)
        self._relocate()

    def set_nights(self, nights: dict[str, tuple[int, int]]) -> None:
        """Each resident's own night, (sleep hour, wake hour) local, for those whose carers
        know it differs from ``config.sleep_hour`` to ``config.wake_hour``: someone asleep by
        19:00 and up at 05:00 is judged by the night limit from 19:00, and by the day's from
        05:00. What was learnt is kept."""
        for subject, (sleep, wake) in nights.items():
            if not valid_night(sleep, wake):
                raise ValueError(f"{subject}: a night runs from one hour (0-23) to another, "
                                 f"not {sleep} to {wake}")
        self._nights = dict(nights)
        self._relocate()

    def _local_for(self, subject: str) -> Local:
        c = self.config
        sleep, wake = self._nights.get(subject, (c.sleep_hour, c.wake_hour))
        return Local(tz=self._zones.get(subject, c.tz), sleep_hour=sleep, wake_hour=wake)

    def _relocate(self) -> None:
        for subject, r in self._residents.items():
            at = self._local_for(subject)
            if r.local != at:
                r.local, r.day.tz = at, at.tz
                r.limit_memo, r.night_memo, r.morning_memo = (float("nan"), 0.0), None, None
                r.evening_memo, r.bedtime_memo = (float("nan"), math.inf), None
                r.bin_memo.clear()

    def update(self, batch: Sequence[Movement | Presence | Clock]) -> list[InactivityFinding]:
        found: list[InactivityFinding] = []
        for item in batch:
            if isinstance(item, Movement | Presence) and not self._watches(item.subject):
                continue  # nothing this detector judges: not even a resident of it
            if isinstance(item, Movement):
                found.extend(self._moved(item.subject, item.timestamp))
            elif isinstance(item, Presence):
                found.extend(self._presence(item))
            else:
                for subject, r in self._residents.items():
                    found.extend(self._day(subject, r, item.timestamp))
                found.extend(self._check(item.timestamp))
        return found

    def _resident(self, subject: str, timestamp: float) -> tuple[_Resident, bool]:
        """The resident's state, and whether it was created just now."""
        resident = self._residents.get(subject)
        if resident is not None:
            return resident, False
        at = self._local_for(subject)
        day = DayShape(self.config.routine, at.tz)
        resident = self._residents[subject] = _Resident(last_movement=timestamp, day=day, local=at)
        return resident, True

    def _day(self, subject: str, r: _Resident, now: float) -> list[InactivityFinding]:
        """Close the hours before ``now`` in the resident's day shape; report the unusual ones.
        A resident watched again since the last item has their silence restart at ``now``."""
        if r.rewatched:
            r.rewatched = False
            r.last_movement = max(r.last_movement, now)
            r.raised = False
            r.forget_current = ()
        found = []
        for u in r.day.advance(now, at_home=r.at_home and r.watched):
            r.unusual = (now, u.score)
            found.append(InactivityFinding(
                timestamp=now, subject=subject, kind="unusual_day", silent_for=now - r.last_movement,
                limit=self._measure(subject, r, now)[1], last_movement=r.last_movement,
                score=u.score,
                detail=f"{u.active} active minutes in the hour from {u.local_hour:02d}:00, "
                       f"usually {u.usual:g}"))
        return found

    def last_movement(self, subject: str) -> float | None:
        """When ``subject`` last moved, as far as this detector knows (None: never seen)."""
        r = self._residents.get(subject)
        return None if r is None else r.last_movement

    def limit(self, subject: str, began: float) -> float:
        """The silence allowed to ``subject`` from ``began`` on: at night the night limit, by
        day what the silences that began in that bin of the day taught (or the default)."""
        c = self.config
        resident = self._residents.get(subject)
        at = self._local_for(subject) if resident is None else resident.local
        if self._is_night(began, at):
            return c.night_limit if resident is None else self._night_limit(resident)
        if resident is None:
            return c.day_limit
        return self._bin_limit(resident, self._bin(began, at))[0]

    def _bin_limit(self, r: _Resident, key: int) -> tuple[float, bool]:
        """A day bin's limit, and whether it was learnt (else the default)."""
        found = r.bin_memo.get(key)
        if found is None:
            c = self.config
            learnt = self._learnt(r, key, c.day_limit,
                                  c.false_alarm_days * r.local.day_bins(c.bin_hours))
            found = r.bin_memo[key] = ((c.day_limit, False) if learnt is None
                                       else (min(max(learnt, c.floor), c.ceiling), True))
        return found

    def summary(self, subject: str) -> InactivitySummary | None:
        """What is held for ``subject``: their last movement, whether they are home, their clock
        and every limit, by day bin and at night (None: never seen)."""
        r = self._residents.get(subject)
        if r is None:
            return None
        at, hours = r.local, self.config.bin_hours
        day = at.day_bin_keys(hours)
        found = [self._bin_limit(r, b) if b in day else (None, False) for b in range(24 // hours)]
        return InactivitySummary(
            last_movement=r.last_movement, at_home=r.at_home, tz=at.tz, sleep_hour=at.sleep_hour,
            wake_hour=at.wake_hour, bin_hours=hours, day_limits=tuple(f[0] for f in found),
            learnt=tuple(f[1] for f in found), night_limit=self._night_limit(r),
            morning_limit=None if math.isinf(morning := self._morning_limit(r)) else morning,
            bedtime_from=None if (bed := self._bedtime_from(r)) < 0 else bed)

    def _night_limit(self, r: _Resident) -> float:
        """The night limit, loosened (never tightened) as far as this resident's nights teach:
        someone who is still from 19:00 and walks again at 06:00 passes 11 h most nights.

        The return level of each night's longest silence (one a night, so ``false_alarm_days``
        is the period), without the longest of them (one night with the watch on the charger,
        or a collapse, teaches nothing), clipped to [``night_limit``, ``ceiling``]. Unlike the
        day bins' there is no cap at what was seen: a night limit at an early sleeper's second
        longest night is passed one night in ten."""
        if r.night_memo is None:
            c = self.config
            nights = sorted(r.silences.get(NIGHT, ()))[:-1]
            learnt = c.night_limit
            if c.limit_rule == "return_level" and len(nights) >= c.min_silences:
                learnt = return_level(np.array(nights), len(nights), c.false_alarm_days)
            r.night_memo = min(max(learnt, c.night_limit), c.ceiling)
        return r.night_memo

    def _morning_limit(self, r: _Resident) -> float:
        """How long a silence that began before this morning's wake hour may last, whole, in the
        morning: the night limit, loosened as far as this resident's whole nights (each night's
        longest silence, to the movement that ended it) teach, by the night limit's rule; inf
        (none) until ``min_silences`` of them are known besides the longest.

        The morning's check holds such a silence to this and to the day's allowance from the
        wake hour, whichever is passed first. Without it, a silence from 20:30 passed the 11 h
        night limit at 07:30, but the night check had stopped at 07:00 and the day's allowance
        called at 11:00, 14.5 h after the last movement. Unlike the night limit it waits for
        the resident's own nights: a step-only watch sees a late or long sleeper still for 11 h
        or more most mornings (from the last walk of the evening to the first of the morning),
        and the 11 h default called the bench's long sleepers (20:30 to 08:00) on 6 or 7 of
        their first 11 mornings; waiting costs a new resident nothing the centre did not do
        before. There is no ceiling: the day's allowance calls anyway."""
        if r.morning_memo is None:
            c = self.config
            nights = sorted(r.silences.get(MORNING, ()))[:-1]
            learnt = math.inf
            if c.limit_rule == "return_level" and len(nights) >= c.min_silences:
                learnt = max(return_level(np.array(nights), len(nights), c.false_alarm_days),
                             self._night_limit(r))
            r.morning_memo = learnt
        return r.morning_memo

    def _bedtime_from(self, r: _Resident) -> float:
        """Seconds after the wake hour before which a silence that began by day is no bedtime
        for this resident: the earliest their silences that reached into the night began, as
        the return level of how much earlier than their latest such start each began (once in
        ``false_alarm_days`` nights, leaving the earliest out: one evening collapse learnt
        teaches nothing), less ``bedtime_margin``; inf if none began by day (they go to bed
        after the sleep hour), -1 (not known) until ``min_silences`` nights are known besides
        the longest.

        Without it the night check held a silence that began by day to the night limit alone:
        someone still from 19:00, whose day limit would have called at 23:00, waited for
        06:00. A first version held such a silence to a limit learnt per day bin from the
        silences from that bin that reached the night; an early sleeper's bedtimes fall in two
        or three bins, too few in each, and it called them on 7 % of nights."""
        if r.bedtime_memo is None:
            r.bedtime_memo = self._bedtime(r)
        return r.bedtime_memo

    def _bedtime(self, r: _Resident) -> float:
        c = self.config
        nights = r.silence_days.get(MORNING)
        if c.limit_rule != "return_level" or nights is None or len(nights) <= c.min_silences:
            return -1.0
        first = nights[0] - 1  # the evening before the first night still kept
        wake = r.local.wake_hour * HOUR
        kept = zip(r.silences.get(BEDTIME, ()), r.silence_days.get(BEDTIME, ()), strict=True)
        began = sorted((clock - wake) % DAY_S for clock, day in kept if day >= first)[1:]
        if not began:
            return math.inf
        latest = began[-1]
        earlier = np.array([latest - b for b in began])
        return latest - return_level(earlier, len(nights), c.false_alarm_days) - c.bedtime_margin

    def _evening_now(self, r: _Resident) -> float:
        """The day limit the silence in progress is still held to after the sleep hour because
        it began by day before the resident's bedtime (inf: none), worked out again when the
        last movement changes or something is learnt."""
        if r.evening_memo[0] != r.last_movement:
            at, last = r.local, r.last_movement
            value = math.inf
            if (not self._is_night(last, at)
                    and _since_wake(self._local(last, at.tz), at.wake_hour) < self._bedtime_from(r)):
                value = self._bin_limit(r, self._bin(last, at))[0]
            r.evening_memo = (last, value)
        return r.evening_memo[1]

    def _learnt(self, r: _Resident, key: int, default: float, period: float) -> float | None:
        """What the silences kept under ``key`` teach, or None until there are enough."""
        c = self.config
        silences = r.silences.get(key)
        if silences is None or len(silences) < c.min_silences:
            return None
        values = np.fromiter(silences, dtype=np.float64)
        if c.limit_rule == "quantile":
            return c.margin * float(np.quantile(values, 0.95))
        days = r.silence_days.get(key, deque())
        learnt = return_level(values, len(set(days)), period)
        # Extrapolated from a few weeks, a long tail can ask for 6-7 h: never longer than the
        # default unless this resident was seen still for longer on two days, and then no
        # longer than the shorter of those (learning tightens the programme's 4 h; it loosens
        # it only as far as the resident has shown, and one day with the watch on the charger
        # shows nothing).
        longest: dict[int, float] = {}
        for day, value in zip(days, silences, strict=False):
            longest[day] = max(longest.get(day, 0.0), value)
        twice = sorted(longest.values())[-2] if len(longest) > 1 else 0.0
        return min(learnt, max(default, twice))

    def _measure(self, subject: str, r: _Resident, now: float) -> tuple[float, float]:
        """(silence, its limit) now: at night the whole silence against the night limit, or its
        day limit if it began before the resident's bedtime and that is shorter; by day the
        silence since the last movement or this morning's wake hour, whichever is later,
        against the day's allowance, or a silence carried over from the night whole against
        the morning limit (or the day limit it was held to at night) if that is passed
        first."""
        if self._is_night(now, r.local):
            return now - r.last_movement, min(self._night_limit(r), self._evening_now(r))
        began = max(r.last_movement, self._woke(now, r.local))
        limit = self.limit(subject, began)
        whole = min(self._morning_limit(r), self._evening_now(r))
        if r.last_movement < began and r.last_movement + whole < began + limit:
            return now - r.last_movement, whole
        return now - began, limit

    def _woke(self, timestamp: float, at: Local) -> float:
        """The latest wake hour at or before ``timestamp`` (local)."""
        local = self._local(timestamp, at.tz)
        woke = local.replace(hour=at.wake_hour, minute=0, second=0, microsecond=0)
        return (woke if woke <= local else woke - timedelta(days=1)).timestamp()

    def _sleeps(self, timestamp: float, at: Local) -> float:
        """The first sleep hour after ``timestamp`` (local)."""
        local = self._local(timestamp, at.tz)
        night = local.replace(hour=at.sleep_hour, minute=0, second=0, microsecond=0)
        return (night if night > local else night + timedelta(days=1)).timestamp()

    def _in_day(self, began: float, ended: float, at: Local) -> bool:
        """Whether a silence lay wholly in the day (no part of it at night)."""
        if self._is_night(began, at) or self._is_night(ended, at):
            return False
        return ended < self._sleeps(began, at)

    def _night_part(self, began: float, ended: float, at: Local) -> tuple[float, float] | None:
        """(how long, when it stopped counting) the night check saw a silence last, if it
        reached into a night: from its start to its end or the wake hour, whichever came
        first."""
        if ended - began >= 24 * HOUR:
            return None
        if not self._is_night(began, at):
            night = self._sleeps(began, at)
            if ended <= night:
                return None
            began_night = night
        else:
            began_night = began
        stopped = min(ended, self._wakes(began_night, at))
        return stopped - began, stopped

    def _wakes(self, timestamp: float, at: Local) -> float:
        """The first wake hour after ``timestamp`` (local)."""
        local = self._local(timestamp, at.tz)
        woke = local.replace(hour=at.wake_hour, minute=0, second=0, microsecond=0)
        return (woke if woke > local else woke + timedelta(days=1)).timestamp()

    def _day_parts(self, began: float, ended: float, at: Local) -> list[tuple[float, float]]:
        """(start, length) of the parts of a silence that lay in the day, each what the check
        would have measured: a silence wholly in one day; else the evening's part up to the
        night (an early bedtime) and the morning's from the wake hour (a late rising). None of
        a silence of a day or more (a watch left off): not a pattern to learn."""
        if ended - began >= 24 * HOUR:
            return []
        if self._in_day(began, ended, at):
            return [(began, ended - began)]
        parts = []
        if not self._is_night(began, at):
            parts.append((began, self._sleeps(began, at) - began))
        if not self._is_night(ended, at):
            woke = self._woke(ended, at)
            parts.append((woke, ended - woke))
        return parts

    def _is_night(self, timestamp: float, at: Local) -> bool:
        return _night_hour(self._local(timestamp, at.tz).hour, at.sleep_hour, at.wake_hour)

    @staticmethod
    def _local(timestamp: float, tz: str) -> datetime:
        return datetime.fromtimestamp(timestamp, UTC).astimezone(ZoneInfo(tz))

    def _moved(self, subject: str, timestamp: float) -> list[InactivityFinding]:
        resident, new = self._resident(subject, timestamp)
        found = self._day(subject, resident, timestamp)
        resident.day.moved(timestamp)
        if new or timestamp <= resident.last_movement:
            return found  # first seen, or late: a newer movement is already known
        began = resident.last_movement
        # most movements end a pause of seconds: nothing to learn, and no time zone to convert
        if resident.at_home and timestamp - began >= self.config.learn_from:
            if resident.forget_current:
                resident.forgotten.append(_Taken((began, timestamp), set(resident.forget_current)))
            else:
                self._learn_silence(resident, began, timestamp)
                if resident.raised:
                    resident.alarmed.append((began, timestamp))
        resident.last_movement = timestamp
        resident.raised = False
        resident.forget_current = ()
        return found

    def _learn_silence(self, r: _Resident, began: float, ended: float) -> None:
        """Learn the silence from ``began`` to ``ended``: its day parts in the bins where they
        began, and its night part."""
        at = r.local
        for start, silence in self._day_parts(began, ended, at):
            if silence >= self.config.learn_from:
                self._learn(r, self._bin(start, at), silence, start)
        night = self._night_part(began, ended, at)
        if night is not None:
            self._learn_night(r, NIGHT, *night)
            self._learn_night(r, MORNING, ended - began, night[1])
            if not self._is_night(began, at):
                self._learn(r, BEDTIME, _clock(self._local(began, at.tz)), began)
        r.recent.append((began, ended))

    def forget(self, subject: str, at: float, *, after: float = 0.0,
               cause: Cause | None = None) -> bool:
        """An operator found that the silence in progress ``after`` seconds after ``at`` was no
        ordinary one (the resident had collapsed; the watch had failed): unlearn what it
        taught, or, while it lasts, never learn it. Whether such a silence was found.

        Without this, the residents who are found on the floor most often are the ones whose
        limits loosen: two genuine four-hour silences on two days lift a bin's cap to four
        hours and feed the tail its return level is drawn from. A false alarm's silence stays
        learnt: it was this resident's ordinary life, and learning it is what stops the next
        call. Forgetting twice changes nothing more, so outcomes may be given again (ingest
        gives the last week's again after a restart).

        An inactivity alarm's time lies in the silence it found (``after`` 0). A fall or an SOS
        call comes at the start of one, and a watch may count a step as its wearer goes down or
        reaches for the button, so its outcome is given with ``after`` a few minutes: the
        silence then in progress is the time on the floor. (A wearer up and walking again by
        then had no long silence to forget, and none is.)

        ``cause`` names the outcome (ingest: the alarm's id; by default ``at``), for
        :meth:`relearn`."""
        r = self._residents.get(subject)
        if r is None:
            return False
        cause = at if cause is None else cause
        when = at + after
        for taken in r.forgotten:
            if _holds(taken.silence, when):  # taken back already: by this outcome, or another
                taken.causes.add(cause)
                return False
        if (r.raised or after > 0) and r.last_movement <= when:
            known = bool(r.forget_current)
            if cause not in r.forget_current:
                r.forget_current += (cause,)
            return not known
        for kept in (r.alarmed, r.recent):
            for silence in kept:
                if _holds(silence, when):
                    for other in (r.alarmed, r.recent):  # an alarmed silence is in both
                        if silence in other:
                            other.remove(silence)
                    r.forgotten.append(_Taken(silence, {cause}))
                    self._unlearn(r, *silence)
                    return True
        return False

    def relearn(self, subject: str, at: float, *, after: float = 0.0,
                cause: Cause | None = None) -> bool:
        """Undo what :meth:`forget` did for ``cause``: the operator's outcome was changed (the
        incident was reopened and resolved as a false alarm, say), so the silence that outcome
        took back was ordinary life after all, and is learnt again (or, while it lasts, will
        be) unless another outcome still says otherwise (a fall and its inactivity alarm on the
        same floor). Whether it was; relearning twice changes nothing more."""
        r = self._residents.get(subject)
        if r is None:
            return False
        cause = at if cause is None else cause
        when = at + after
        if r.forget_current and r.last_movement <= when:
            if cause not in r.forget_current:
                return False
            r.forget_current = tuple(c for c in r.forget_current if c != cause)
            return not r.forget_current
        for taken in r.forgotten:
            if _holds(taken.silence, when) and cause in taken.causes:
                taken.causes.discard(cause)
                if taken.causes:
                    return False
                r.forgotten.remove(taken)
                self._learn_silence(r, *taken.silence)
                r.limit_memo = (float("nan"), 0.0)
                r.night_memo = r.morning_memo = None
                return True
        return False

    def _unlearn(self, r: _Resident, began: float, ended: float) -> None:
        """Take back what the silence from ``began`` to ``ended`` taught (as :meth:`_moved`
        learnt it, so the same values): its day parts, and the whole of any night it reached
        into (that night is no pattern, whatever else it held)."""
        at = r.local
        for start, silence in self._day_parts(began, ended, at):
            self._drop(r, self._bin(start, at), self._local(start, at.tz).toordinal(), silence)
        night = self._night_part(began, ended, at)
        if night is not None:
            morning = self._local(self._wakes(night[1] - 1.0, at), at.tz).toordinal()
            self._drop(r, NIGHT, morning, None)
            self._drop(r, MORNING, morning, None)
            if not self._is_night(began, at):
                local = self._local(began, at.tz)
                self._drop(r, BEDTIME, local.toordinal(), _clock(local))
        r.limit_memo = (float("nan"), 0.0)
        r.night_memo = r.morning_memo = None

    @staticmethod
    def _drop(r: _Resident, key: int, day: int, silence: float | None) -> None:
        """Remove the latest silence kept under ``key`` from ``day`` (equal to ``silence``,
        unless None), if any."""
        silences, days = r.silences.get(key), r.silence_days.get(key)
        if not silences or not days:
            return
        r.bin_memo.pop(key, None)
        r.evening_memo, r.bedtime_memo = (float("nan"), math.inf), None
        for i in range(len(silences) - 1, -1, -1):
            if days[i] == day and (silence is None or silences[i] == silence):
                del silences[i]
                del days[i]
                return

    def _learn_night(self, r: _Resident, key: int, silence: float, stopped: float) -> None:
        """Keep each night's longest silence under ``key``: as the night check saw it
        (``NIGHT``), or whole (``MORNING``). ``stopped``: when the night check stopped counting
        it."""
        ends = self._wakes(stopped - 1.0, r.local)  # a night is known by the morning ending it
        days = r.silence_days.get(key)
        if days and days[-1] == self._local(ends, r.local.tz).toordinal():
            r.silences[key][-1] = max(r.silences[key][-1], silence)
        else:
            self._learn(r, key, silence, ends)
        r.night_memo = r.morning_memo = None

    def _learn(self, r: _Resident, key: int, silence: float, day_of: float) -> None:
        r.bin_memo.pop(key, None)
        r.evening_memo, r.bedtime_memo = (float("nan"), math.inf), None
        kept = self.config.remembered
        r.silences.setdefault(key, deque(maxlen=kept)).append(silence)
        r.silence_days.setdefault(key, deque(maxlen=kept)).append(
            self._local(day_of, r.local.tz).toordinal())

    def _presence(self, item: Presence) -> list[InactivityFinding]:
        resident, _ = self._resident(item.subject, item.timestamp)
        found = self._day(item.subject, resident, item.timestamp)
        resident.at_home = item.at_home
        if item.at_home:
            # back home: the silence restarts now, and the time away is not a silence
            resident.last_movement = max(resident.last_movement, item.timestamp)
            resident.raised = False
            resident.forget_current = ()
        else:
            resident.day.away()
        return found

    def _check(self, now: float) -> list[InactivityFinding]:
        # Once a second over every resident: what depends only on ``now`` is worked out once
        # per time zone, and each resident's limit only when its silence began anew (as
        # ``_measure`` would).
        found = []
        zones: dict[Local, float | None] = {}  # -> this morning's wake hour, None at night
        for subject, r in self._residents.items():
            if r.raised or not r.at_home or not r.watched:
                continue
            if r.local not in zones:
                zones[r.local] = None if self._is_night(now, r.local) else self._woke(now, r.local)
            woke = zones[r.local]
            unlearnt: int | None = None
            if woke is None:
                silent, limit = now - r.last_movement, self._night_limit(r)
                evening = self._evening_now(r)  # still since the evening
                known = len(r.silences.get(NIGHT, ()))
                if (limit <= evening and known <= self.config.min_silences
                        and self.config.limit_rule == "return_level"):
                    unlearnt = known  # the default night limit: their nights not yet learnt
                limit = min(limit, evening)
            else:
                began = max(r.last_movement, woke)
                if r.limit_memo[0] != began:
                    r.limit_memo = (began, self.limit(subject, began))
                silent, limit = now - began, r.limit_memo[1]
                if r.last_movement < began:  # still since the night: the morning limit too
                    whole = min(self._morning_limit(r), self._evening_now(r))
                    if r.last_movement + whole < began + limit:
                        silent, limit = now - r.last_movement, whole
            if silent > limit:
                r.raised = True
                recent = r.unusual is not None and now - r.unusual[0] <= self.config.unusual_context
                found.append(InactivityFinding(timestamp=now, subject=subject, kind="inactivity",
                                               silent_for=now - r.last_movement, limit=limit,
                                               last_movement=r.last_movement,
                                               score=r.unusual[1] if r.unusual and recent else None,
                                               nights_known=unlearnt))
        return found

    def _bin(self, timestamp: float, at: Local) -> int:
        return self._local(timestamp, at.tz).hour // self.config.bin_hours

    def snapshot(self) -> dict[str, Any]:
        return {**self.snapshot_head(), "residents": self.snapshot_part(self.snapshot_keys())}

    def snapshot_head(self) -> dict[str, Any]:
        """The snapshot without its residents (:meth:`snapshot_part`): for a snapshot taken
        in parts, between which the caller lets other work run (``ingest.welfare``)."""
        return {"config": asdict(self.config), "silences_by": "start"}

    def snapshot_keys(self) -> list[str]:
        """The keys of the snapshot's ``residents``, as they are now."""
        return list(self._residents)

    def snapshot_part(self, subjects: Iterable[str]) -> dict[str, Any]:
        """The snapshot's ``residents`` for ``subjects`` (those no longer kept are left out)."""
        kept = self._residents
        return {
            s: {"last_movement": r.last_movement, "at_home": r.at_home, "raised": r.raised,
                "silences": {str(b): list(v) for b, v in r.silences.items()},
                "silence_days": {str(b): list(v) for b, v in r.silence_days.items()},
                "day": r.day.snapshot(), "unusual": r.unusual,
                "alarmed": [list(a) for a in r.alarmed],
                "recent": [list(a) for a in r.recent],
                "forgotten": [[*t.silence, sorted(t.causes, key=str)] for t in r.forgotten],
                "forget_current": list(r.forget_current),
                "watched": r.watched, "rewatched": r.rewatched,
                "tz": r.local.tz, "night": [r.local.sleep_hour, r.local.wake_hour]}
            for s in subjects if (r := kept.get(s)) is not None
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> InactivityDetector:
        raw = snap["config"]
        routine = RoutineConfig.from_dict(raw["routine"]) if "routine" in raw else RoutineConfig()
        config = InactivityConfig(**{**raw, "routine": routine})
        detector = cls(config)
        # silences stored by the bin where they ended (snapshots before "silences_by") included
        # whole nights; relearning from the defaults is safer than judging by them. Silences
        # stored without their days (before the return level) cannot say how many come a day:
        # those are relearnt too, under the 4 h default, which the return level then replaces
        # (a configuration saved before ``limit_rule`` existed takes the return level: the
        # quantile rule's false alarms are what it replaced).
        keep = snap.get("silences_by") == "start"
        for subject, r in snap["residents"].items():
            days = r.get("silence_days")
            learnt = keep and (days is not None or config.limit_rule == "quantile")
            # snapshots from before the day shape existed start it afresh; those from before
            # residents had their own zones kept everyone in the configured one
            tz = r.get("tz", config.tz)
            sleep, wake = r.get("night", (config.sleep_hour, config.wake_hour))
            day = (DayShape.restore(r["day"], routine, tz) if "day" in r
                   else DayShape(routine, tz))
            unusual = r.get("unusual")
            detector._residents[subject] = _Resident(
                last_movement=r["last_movement"], day=day, at_home=r["at_home"],
                local=Local(tz=tz, sleep_hour=sleep, wake_hour=wake),
                raised=r["raised"],
                silences={int(b): deque(v, maxlen=config.remembered)
                          for b, v in r["silences"].items()} if learnt else {},
                silence_days={int(b): deque(v, maxlen=config.remembered)
                              for b, v in (days or {}).items()} if learnt else {},
                unusual=None if unusual is None else (unusual[0], unusual[1]),
                alarmed=deque(((a[0], a[1]) for a in r.get("alarmed", ()) if learnt),
                              maxlen=ALARMED_KEPT),
                recent=deque(((a[0], a[1]) for a in r.get("recent", ()) if learnt),
                             maxlen=RECENT_KEPT),
                forgotten=deque((_Taken((t[0], t[1]), set(t[2])) for t in r.get("forgotten", ())),
                                maxlen=ALARMED_KEPT),
                forget_current=_causes(r.get("forget_current", ())),
                watched=r.get("watched", True), rewatched=r.get("rewatched", False),
            )
        return detector
