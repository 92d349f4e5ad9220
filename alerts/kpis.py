"""Response-time KPIs from incident timestamps.

Answered means claimed by a person. The telecare code of practice (TEC Services Association,
Quality Standards Framework) targets 97.5% of alarm calls answered within 60 s and 99% within
180 s; we report the same shares, plus time to dispatch and time to resolve, overall, per
operator and per shift (08-16, 16-24, 00-08 in the centre's time zone).

The centre's answer is timed from when an incident reached it (``centre_from``: the opening,
or for a family-first alarm the end of the family window or the family's hand-over); one the
family handled never reached it and is not counted. Dispatch and resolution are timed from the
opening: that is how long the elder waited.

A share is over the incidents whose answer is known against that limit: answered (in time or
not), or still unanswered longer than the limit (late). One unanswered and younger than the
limit is not late yet, and is left out until it is (``waiting_60s``, ``waiting_180s``): before,
every alarm that had just arrived counted as missed, and the supervisor's board turned red at
0.0 % the moment a first call of the day came in.

>>> import datetime as dt
>>> t = dt.datetime(2026, 1, 1, 2, tzinfo=dt.UTC)
>>> rows = [{"opened_at": t, "first_claimed_at": t + dt.timedelta(seconds=s), "claimed_by": "op1",
...          "dispatched_at": None, "resolved_at": None} for s in (10, 50, 100)]
>>> k = compute(rows, tz="Asia/Shanghai", now=t + dt.timedelta(hours=1))
>>> k["overall"]["answered_60s"], k["overall"]["answered_180s"]
(0.667, 1.0)
>>> fresh = {"opened_at": t, "first_claimed_at": None, "claimed_by": None,
...          "dispatched_at": None, "resolved_at": None}
>>> k = compute([*rows, fresh], tz="Asia/Shanghai", now=t + dt.timedelta(seconds=90))
>>> k["overall"]["answered_60s"], k["overall"]["answered_180s"], k["overall"]["waiting_180s"]
(0.5, 1.0, 1)
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

SHIFTS = ((0, 8, "00-08"), (8, 16, "08-16"), (16, 24, "16-24"))
TARGETS = {"answered_60s": 0.975, "answered_180s": 0.99}
"""TEC Services Association, Quality Standards Framework: share answered within 60 s and 180 s."""


def _seconds(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds()


def _reached(row: dict[str, Any]) -> dt.datetime | None:
    """When the incident reached the centre (``centre_from``; rows without it: the opening)."""
    reached: dt.datetime | None = row["centre_from"] if "centre_from" in row else row["opened_at"]
    return reached


def _summary(rows: list[dict[str, Any]], now: dt.datetime) -> dict[str, Any]:
    answer = [_seconds(_reached(r), r["first_claimed_at"]) for r in rows]
    waited = [(now - (_reached(r) or now)).total_seconds() for r in rows]
    dispatch = [s for r in rows if (s := _seconds(r["opened_at"], r["dispatched_at"])) is not None]
    resolve = [s for r in rows if (s := _seconds(r["opened_at"], r["resolved_at"])) is not None]
    n = len(rows)

    def waiting(limit: float) -> int:
        """Unanswered, and not yet for longer than ``limit``: not late yet."""
        return sum(1 for s, w in zip(answer, waited, strict=True) if s is None and w <= limit)

    def share(limit: float) -> float | None:
        known = n - waiting(limit)  # an incident unanswered for longer than the limit is late
        return (None if known == 0
                else round(sum(1 for s in answer if s is not None and s <= limit) / known, 3))

    def median(xs: list[float]) -> float | None:
        return round(statistics.median(xs), 1) if xs else None

    return {"incidents": n, "answered_60s": share(60.0), "answered_180s": share(180.0),
            "unanswered": sum(1 for s in answer if s is None),
            "waiting_60s": waiting(60.0), "waiting_180s": waiting(180.0),
            "median_answer_s": median([s for s in answer if s is not None]),
            "median_dispatch_s": median(dispatch), "median_resolve_s": median(resolve)}


def shift_of(t: dt.datetime, tz: str) -> str:
    hour = t.astimezone(ZoneInfo(tz)).hour
    return next(name for start, end, name in SHIFTS if start <= hour < end)


def compute(rows: Iterable[dict[str, Any]], *, tz: str = "Asia/Shanghai",
            now: dt.datetime | None = None) -> dict[str, Any]:
    """The KPIs of the incidents ``rows``, judged at ``now`` (the current time by default): of
    those that reached the centre, the answer time from when they did (a family-first alarm
    from the end of the family window), so the family's accepts and windows are not the
    centre's."""
    rows = [r for r in rows if _reached(r) is not None]
    now = dt.datetime.now(dt.UTC) if now is None else now
    by_operator: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_shift: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["claimed_by"]:
            by_operator[row["claimed_by"]].append(row)
        by_shift[shift_of(row["opened_at"], tz)].append(row)
    return {
        "overall": _summary(rows, now),
        "targets": dict(TARGETS),
        "by_operator": {op: _summary(rs, now) for op, rs in sorted(by_operator.items())},
        "by_shift": {name: _summary(by_shift[name], now) for _, _, name in SHIFTS},
    }
