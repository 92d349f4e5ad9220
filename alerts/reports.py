"""Grid reports (issue 9): what the SQL counted, assembled into figures with shares, rates and
medians, rolled up the civil-affairs tree. Pure: no I/O. Rendered as CSV by
``alerts/report_csv.py`` and as a printable page by ``alerts/report_html.py``.

Definitions (docs/reports.md has them in full):

- incidents: opened in [from, to), not on the maintenance route — the set ``alerts/kpis.py``
  measures, so the report and the supervisor's board agree;
- answered within 60 s / 180 s: first claim − opening ≤ the limit, over those incidents whose
  answer is known against the limit (one unanswered for longer than the limit counts as late;
  one unanswered and younger than the limit at ``now`` is not late yet, and is left out:
  ``waiting_60s``, ``waiting_180s``), targets from :data:`alerts.kpis.TARGETS`;
- false-alarm rate by device model: outcome false_alarm or accidental ÷ resolved, by the model
  of the device whose alarm opened the incident;
- coverage: residents in the node now with at least one working button or wearable (not
  retired, not offline, heard from within its class's check-in limit).

>>> raw = {"answer": [{"incidents": 3, "within_a": 2, "within_b": 3, "unanswered": 0,
...                    "median_answer_s": 50.0}]}
>>> f = assemble({"id": "cm-01", "name": "A", "level": "community"}, raw)
>>> f.answer.answered_60s, f.answer.answered_180s, f.answer.median_answer_s
(0.667, 1.0, 50.0)
>>> counters(f)["answer.within_60s"]
2
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from alerts.kpis import TARGETS
from alerts.lifecycle import OUTCOMES
from detection.device_health import DEVICE_CLASSES
from store.reports import Rules

ANSWER_LIMITS_S = (60.0, 180.0)
FALSE_OUTCOMES = ("false_alarm", "accidental")
"""A call nobody needed: a false alarm, or a button pressed by accident."""
DONE_STATUSES = ("visit_finished", "rated")
TICKET_TYPES = ("meal", "housekeeping", "repair", "companionship", "medical_escort", "other")
CARE_SETTINGS = ("home", "day_care", "care_home")
NEEDS = ("high_age", "empty_nest", "living_alone", "disabled", "partly_disabled", "low_income",
         "five_guarantee")
HIGH_AGE = 80
"""高龄: 80 or older (the civil-affairs category; not stored, derived from the birth year)."""
NOT_REPORTING_CAP = 200
"""Rows of the not-reporting list sent and printed; the count is always whole."""
MAX_DAYS = 366

# Device kind -> device-health class, as ingest/welfare.py maps them: a button in a care home is
# the mains-powered wall button, which reports every few minutes.
_CLASS_OF = {"button": "button", "smoke": "smoke_detector", "wearable": "wearable", "gateway": "hub"}
_GRACE = 1.5
"""The device-health detector's grace: one lost check-in is normal radio, not a dead device."""


def _checkin_limits() -> tuple[tuple[str, str, float], ...]:
    seconds = {c.name: c.checkin_s for c in DEVICE_CLASSES}
    return tuple(
        (kind, site, _GRACE * seconds["wall_button" if (kind, site) == ("button", "care_home")
                                      else cls])
        for kind, cls in _CLASS_OF.items() for site in CARE_SETTINGS)


RULES = Rules(answer_limits_s=ANSWER_LIMITS_S, false_outcomes=FALSE_OUTCOMES,
              done_statuses=DONE_STATUSES, coverage_kinds=("button", "wearable"),
              checkin_limits=_checkin_limits(), high_age=HIGH_AGE)


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeRef:
    id: str
    name: str
    level: str


@dataclass(frozen=True, slots=True, kw_only=True)
class KindRow:
    kind: str
    total: int
    open: int
    outcomes: dict[str, int]
    """Every outcome of ``alerts.lifecycle.OUTCOMES``, zeros included."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Incidents:
    total: int = 0
    open: int = 0
    by_kind: tuple[KindRow, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    incidents: int = 0
    within_60s: int = 0
    within_180s: int = 0
    unanswered: int = 0
    waiting_60s: int = 0
    """Unanswered, and opened no more than 60 s before the report's ``now``: not late yet."""
    waiting_180s: int = 0
    answered_60s: float | None = None
    answered_180s: float | None = None
    median_answer_s: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRow:
    kind: str
    model: str
    resolved: int
    false_alarms: int
    rate: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FalseAlarms:
    resolved: int = 0
    false_alarms: int = 0
    rate: float | None = None
    by_model: tuple[ModelRow, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    residents: int = 0
    covered: int = 0
    share: float | None = None
    not_reporting: int = 0
    """Supervised devices (any kind) not heard from in time or offline."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingRow:
    care_setting: str
    residents: int
    covered: int
    share: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketRow:
    type: str
    opened: int
    done: int
    cancelled: int
    visited: int
    median_to_visit_s: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Tickets:
    opened: int = 0
    done: int = 0
    cancelled: int = 0
    visited: int = 0
    by_type: tuple[TicketRow, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    """One node's figures; a node's counters are the sums of its communities'."""

    id: str
    name: str
    level: str
    incidents: Incidents = field(default_factory=Incidents)
    answer: Answer = field(default_factory=Answer)
    false_alarms: FalseAlarms = field(default_factory=FalseAlarms)
    coverage: Coverage = field(default_factory=Coverage)
    care_settings: tuple[SettingRow, ...] = ()
    needs: dict[str, int] = field(default_factory=dict)
    """Residents per need category; one resident may be in several."""
    tickets: Tickets = field(default_factory=Tickets)


@dataclass(frozen=True, slots=True, kw_only=True)
class SilentDevice:
    device_id: str
    kind: str
    model: str
    site_id: str
    site_name: str
    resident_name: str | None
    last_checkin: dt.datetime | None
    problem: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    node: NodeRef
    above: tuple[NodeRef, ...]
    """From the top of the reader's scope down to the node's parent (breadcrumbs)."""
    period_from: dt.datetime
    period_to: dt.datetime
    tz: str
    generated_at: dt.datetime
    totals: Figures
    children: tuple[Figures, ...]
    not_reporting: tuple[SilentDevice, ...]
    not_reporting_total: int
    not_reporting_cap: int = NOT_REPORTING_CAP
    targets: dict[str, float] = field(default_factory=lambda: dict(TARGETS))


def share(part: int, whole: int) -> float | None:
    """As ``alerts/kpis.py`` rounds its shares: three decimals; None when there is no whole."""
    return None if whole == 0 else round(part / whole, 3)


def _median(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def assemble(node: Mapping[str, Any], raw: Mapping[str, list[dict[str, Any]]]) -> Figures:
    """One node's figures from the rows ``store.reports.figures`` returned for it."""
    kinds: dict[str, dict[str, int]] = {}
    for r in raw.get("incidents", []):
        kinds.setdefault(r["kind"], {})[r["outcome"]] = int(r["n"])
    by_kind = tuple(sorted(
        (KindRow(kind=k, total=sum(v.values()), open=v.get("open", 0),
                 outcomes={o: v.get(o, 0) for o in OUTCOMES}) for k, v in kinds.items()),
        key=lambda row: (-row.total, row.kind)))
    incidents = Incidents(total=sum(r.total for r in by_kind),
                          open=sum(r.open for r in by_kind), by_kind=by_kind)

    a = (raw.get("answer") or [{}])[0]
    n = int(a.get("incidents", 0))
    answer = Answer(incidents=n, within_60s=int(a.get("within_a", 0)),
                    within_180s=int(a.get("within_b", 0)), unanswered=int(a.get("unanswered", 0)),
                    waiting_60s=int(a.get("waiting_a", 0)), waiting_180s=int(a.get("waiting_b", 0)),
                    answered_60s=share(int(a.get("within_a", 0)), n - int(a.get("waiting_a", 0))),
                    answered_180s=share(int(a.get("within_b", 0)), n - int(a.get("waiting_b", 0))),
                    median_answer_s=_median(a.get("median_answer_s")))

    models = tuple(sorted(
        (ModelRow(kind=r["kind"], model=r["model"], resolved=int(r["resolved"]),
                  false_alarms=int(r["false_alarms"]),
                  rate=share(int(r["false_alarms"]), int(r["resolved"])))
         for r in raw.get("models", [])), key=lambda m: (m.kind, m.model)))
    resolved, false = sum(m.resolved for m in models), sum(m.false_alarms for m in models)
    false_alarms = FalseAlarms(resolved=resolved, false_alarms=false, rate=share(false, resolved),
                               by_model=models)

    settings = {r["care_setting"]: r for r in raw.get("settings", [])}
    care_settings = tuple(
        SettingRow(care_setting=s, residents=int(settings.get(s, {}).get("residents", 0)),
                   covered=int(settings.get(s, {}).get("covered", 0)),
                   share=share(int(settings.get(s, {}).get("covered", 0)),
                               int(settings.get(s, {}).get("residents", 0))))
        for s in CARE_SETTINGS)
    residents, covered = sum(s.residents for s in care_settings), sum(s.covered for s in care_settings)
    silent = sum(int(r["devices"]) for r in raw.get("silent", []))
    coverage = Coverage(residents=residents, covered=covered, share=share(covered, residents),
                        not_reporting=silent)

    needs_raw = {r["need"]: int(r["residents"]) for r in raw.get("needs", [])}
    needs = {need: needs_raw.get(need, 0) for need in NEEDS}

    types = {r["type"]: r for r in raw.get("tickets", [])}
    by_type = tuple(
        TicketRow(type=t, opened=int(types.get(t, {}).get("opened", 0)),
                  done=int(types.get(t, {}).get("done", 0)),
                  cancelled=int(types.get(t, {}).get("cancelled", 0)),
                  visited=int(types.get(t, {}).get("visited", 0)),
                  median_to_visit_s=_median(types.get(t, {}).get("median_to_visit_s")))
        for t in TICKET_TYPES)
    tickets = Tickets(opened=sum(t.opened for t in by_type), done=sum(t.done for t in by_type),
                      cancelled=sum(t.cancelled for t in by_type),
                      visited=sum(t.visited for t in by_type), by_type=by_type)

    return Figures(id=node["id"], name=node["name"], level=node["level"], incidents=incidents,
                   answer=answer, false_alarms=false_alarms, coverage=coverage,
                   care_settings=care_settings, needs=needs, tickets=tickets)


def counters(f: Figures) -> dict[str, int]:
    """Every additive counter of ``f`` by a flat name: what the roll-up must preserve."""
    out = {"incidents.total": f.incidents.total, "incidents.open": f.incidents.open}
    for k in f.incidents.by_kind:
        out[f"incidents.{k.kind}.open"] = k.open
        out |= {f"incidents.{k.kind}.{o}": n for o, n in k.outcomes.items()}
    out |= {f"answer.{name}": getattr(f.answer, name)
            for name in ("incidents", "within_60s", "within_180s", "unanswered", "waiting_60s",
                         "waiting_180s")}
    out |= {"false_alarms.resolved": f.false_alarms.resolved,
            "false_alarms.false_alarms": f.false_alarms.false_alarms}
    for m in f.false_alarms.by_model:
        out |= {f"false_alarms.{m.kind}/{m.model}.resolved": m.resolved,
                f"false_alarms.{m.kind}/{m.model}.false_alarms": m.false_alarms}
    out |= {f"coverage.{name}": getattr(f.coverage, name)
            for name in ("residents", "covered", "not_reporting")}
    for s in f.care_settings:
        out |= {f"care_setting.{s.care_setting}.residents": s.residents,
                f"care_setting.{s.care_setting}.covered": s.covered}
    out |= {f"need.{need}": n for need, n in f.needs.items()}
    for name in ("opened", "done", "cancelled", "visited"):
        out[f"tickets.{name}"] = getattr(f.tickets, name)
        out |= {f"tickets.{t.type}.{name}": getattr(t, name) for t in f.tickets.by_type}
    return {k: v for k, v in out.items() if v}


def silent_device(row: Mapping[str, Any]) -> SilentDevice:
    return SilentDevice(device_id=row["device_id"], kind=row["kind"], model=row["model"],
                        site_id=row["site_id"], site_name=row["site_name"],
                        resident_name=row["resident_name"], last_checkin=row["last_checkin"],
                        problem=row["problem"])


def build(*, node: Mapping[str, Any], above: Sequence[Mapping[str, Any]],
          children: Sequence[Mapping[str, Any]], raw: Mapping[str, Mapping[str, list[dict[str, Any]]]],
          silent: Sequence[Mapping[str, Any]], period_from: dt.datetime, period_to: dt.datetime,
          tz: str, generated_at: dt.datetime) -> Report:
    """The report on ``node`` from what ``store.reports`` returned (``raw`` holds the node and
    each child); ``silent`` is the capped not-reporting list."""
    totals = assemble(node, raw.get(node["id"], {}))
    return Report(
        node=NodeRef(id=node["id"], name=node["name"], level=node["level"]),
        above=tuple(NodeRef(id=a["id"], name=a["name"], level=a["level"]) for a in above),
        period_from=period_from, period_to=period_to, tz=tz, generated_at=generated_at,
        totals=totals, children=tuple(assemble(c, raw.get(c["id"], {})) for c in children),
        not_reporting=tuple(silent_device(r) for r in silent),
        not_reporting_total=totals.coverage.not_reporting)


def as_json(report: Report) -> dict[str, Any]:
    """The report as plain data (datetimes stay datetimes for the web layer to encode)."""
    return {"node": asdict(report.node), "above": [asdict(a) for a in report.above],
            "period": {"from": report.period_from, "to": report.period_to, "tz": report.tz},
            "generated_at": report.generated_at, "targets": report.targets,
            "totals": asdict(report.totals), "children": [asdict(c) for c in report.children],
            "not_reporting": {"total": report.not_reporting_total, "cap": report.not_reporting_cap,
                              "rows": [asdict(d) for d in report.not_reporting]}}
