"""The grid report as CSV: one tidy table, a row per figure and node, so a spreadsheet can pivot
it and a program can read it back (``tests/alerts/test_reports.py`` does).

>>> CSV_COLUMNS
('section', 'node_id', 'node', 'level', 'item', 'measure', 'value', 'label')
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from alerts.report_labels import label
from alerts.reports import Figures, Report

CSV_COLUMNS = ("section", "node_id", "node", "level", "item", "measure", "value", "label")


def _value(v: Any, zone: ZoneInfo) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.astimezone(zone).isoformat(timespec="seconds")
    return str(v)


def _figure_rows(f: Figures, lang: str) -> Iterator[tuple[str, str, str, Any, str]]:
    """(section, item, measure, value, label) for one node."""
    tr = partial(label, lang)
    yield from (("incidents", "", m, getattr(f.incidents, m), tr(f"m.incidents.{m}"))
                for m in ("total", "open"))
    for k in f.incidents.by_kind:
        for m, v in (("total", k.total), ("open", k.open), *k.outcomes.items()):
            yield "incidents", k.kind, m, v, f"{tr('kind.' + k.kind)} · {tr('outcome.' + m)}"
    for m in ("incidents", "within_60s", "within_180s", "unanswered", "waiting_60s", "waiting_180s",
              "answered_60s", "answered_180s", "median_answer_s"):
        yield "answer", "", m, getattr(f.answer, m), tr(f"m.answer.{m}")
    for m in ("resolved", "false_alarms", "rate"):
        yield "false_alarms", "", m, getattr(f.false_alarms, m), tr(f"m.false_alarms.{m}")
    for row in f.false_alarms.by_model:
        for m in ("resolved", "false_alarms", "rate"):
            yield ("false_alarms", f"{row.kind}/{row.model}", m, getattr(row, m),
                   f"{tr('device.' + row.kind)} {row.model or tr('model.none')} · "
                   f"{tr('m.false_alarms.' + m)}")
    for m in ("residents", "covered", "share", "not_reporting"):
        yield "coverage", "", m, getattr(f.coverage, m), tr(f"m.coverage.{m}")
    for s in f.care_settings:
        for m in ("residents", "covered", "share"):
            yield ("care_setting", s.care_setting, m, getattr(s, m),
                   f"{tr('setting.' + s.care_setting)} · {tr('m.coverage.' + m)}")
    for need, n in f.needs.items():
        yield "need", need, "residents", n, tr(f"need.{need}")
    for m in ("opened", "done", "cancelled", "visited"):
        yield "tickets", "", m, getattr(f.tickets, m), tr(f"m.tickets.{m}")
    for t in f.tickets.by_type:
        for m in ("opened", "done", "cancelled", "visited", "median_to_visit_s"):
            yield "tickets", t.type, m, getattr(t, m), f"{tr('type.' + t.type)} · {tr('m.tickets.' + m)}"


def render_csv(report: Report, *, lang: str) -> str:
    """One tidy table (a row per figure and node: section, node, item, measure, value, and a
    label in ``lang``), the reader's node first, then its children, then the devices not
    reporting. Times are in the report's zone. Starts with a BOM so spreadsheet programs read
    the Chinese names as UTF-8."""
    zone = ZoneInfo(report.tz)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(CSV_COLUMNS)
    n = report.node
    head = (("period_from", report.period_from), ("period_to", report.period_to),
            ("tz", report.tz), ("generated_at", report.generated_at),
            ("target_60s", report.targets["answered_60s"]),
            ("target_180s", report.targets["answered_180s"]))
    for m, v in head:
        out.writerow(("report", n.id, n.name, n.level, "", m, _value(v, zone),
                      label(lang, f"m.report.{m}")))
    for f in (report.totals, *report.children):
        for section, item, m, v, text in _figure_rows(f, lang):
            out.writerow((section, f.id, f.name, f.level, item, m, _value(v, zone), text))
    out.writerow(("not_reporting", n.id, n.name, n.level, "", "total",
                  report.not_reporting_total, label(lang, "m.not_reporting.total")))
    for d in report.not_reporting:
        fields: tuple[tuple[str, Any], ...] = (
            ("kind", d.kind), ("model", d.model), ("site", d.site_name),
            ("resident", d.resident_name), ("last_checkin", d.last_checkin), ("problem", d.problem))
        for m, v in fields:
            out.writerow(("not_reporting", n.id, n.name, n.level, d.device_id, m, _value(v, zone),
                          label(lang, f"m.not_reporting.{m}")))
    return "\ufeff" + buf.getvalue()
