"""The printable grid report: one self-contained HTML page (inline CSS, inline SVG bar charts, no
script, nothing loaded from elsewhere) with an A4 print stylesheet. A PDF is the browser's
"print → Save as PDF"; no PDF library is needed. Times are shown in the reader's zone, words
in zh-CN or English. Every piece of data goes through ``html.escape``.

>>> svg = bar_chart("t", [("a", 2.0), ("b", 1.0)], fmt=str)
>>> svg.startswith("<svg") and svg.count("<rect") == 2
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial
from html import escape
from zoneinfo import ZoneInfo

from alerts.report_labels import label
from alerts.reports import Figures, Report

_INK, _MUTED, _BAR, _GOOD, _BAD, _GRID = "#1a1a1a", "#5f6b7a", "#0b4f9c", "#12723a", "#b00020", "#d0d4da"

_CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: #1a1a1a; background: #fff;
  font: 14px/1.45 "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
  system-ui, sans-serif; }
main { max-width: 190mm; margin: 0 auto; padding: 12px; }
h1 { font-size: 1.5rem; margin: 0 0 0.2rem; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 0.4rem; border-bottom: 2px solid #0b4f9c; }
.meta { color: #5f6b7a; margin: 0; }
.hint { background: #eef4fb; padding: 0.4rem 0.6rem; border-radius: 4px; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6px; }
.tile { border: 1px solid #d0d4da; border-radius: 4px; padding: 6px 8px; }
.tile .name { display: block; color: #5f6b7a; font-size: 0.8rem; }
.tile .value { font-size: 1.3rem; font-variant-numeric: tabular-nums; }
.tile .target { display: block; color: #5f6b7a; font-size: 0.75rem; }
.tile.bad { border-left: 5px solid #b00020; } .tile.ok { border-left: 5px solid #12723a; }
table { width: 100%; border-collapse: collapse; font-size: 0.85rem; margin: 0.3rem 0; }
th, td { text-align: left; padding: 3px 5px; border-bottom: 1px solid #e3e7ec; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
thead th { color: #5f6b7a; }
svg { width: 100%; max-width: 680px; height: auto; display: block; margin: 0.3rem 0; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .no-print { display: none; }
  section { break-inside: avoid-page; }
  section.long { break-inside: auto; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
}
"""


def _share(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f} %"


def _secs(v: float | None) -> str:
    """A stopwatch, as the console shows ages: 0:42, 12:05, 1:02:09."""
    if v is None:
        return "—"
    total = max(0, round(v))
    h, m, s = total // 3600, total // 60 % 60, total % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _time(t: dt.datetime | None, zone: ZoneInfo) -> str:
    return "—" if t is None else t.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def bar_chart(title: str, rows: Sequence[tuple[str, float]], *, fmt: Callable[[float], str],
              maximum: float | None = None, target: float | None = None) -> str:
    """Horizontal bars, one per row, with the value at the end and an optional target line."""
    width, label_w, row_h, top = 680, 190, 22, 26
    plot_w = width - label_w - 70
    height = top + row_h * max(1, len(rows)) + 8
    top_value = max([maximum or 0.0, *(v for _, v in rows), target or 0.0]) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img"'
             f' aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="0" y="15" font-size="13" font-weight="bold" fill="{_INK}">{escape(title)}</text>']
    for i, (name, value) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * value / top_value
        colour = _BAR if target is None else (_GOOD if value >= target else _BAD)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end"'
                     f' fill="{_INK}">{escape(name[:24])}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}"'
                     f' fill="{colour}"/>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" font-size="12"'
                     f' fill="{_MUTED}">{escape(fmt(value))}</text>')
    if target is not None:
        x = label_w + plot_w * target / top_value
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 4}"'
                     f' stroke="{_INK}" stroke-dasharray="4 3"/>')
    parts.append(f'<line x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{height - 4}"'
                 f' stroke="{_GRID}"/></svg>')
    return "".join(parts)


def _table(heads: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    th = "".join(f'<th{" class=n" if i >= numeric_from else ""}>{escape(h)}</th>'
                 for i, h in enumerate(heads))
    body = "".join(
        "<tr>" + "".join(f'<td{" class=n" if i >= numeric_from else ""}>{escape(c)}</td>'
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _tile(name: str, value: str, *, target: float | None = None,
          actual: float | None = None, lang: str) -> str:
    state = "" if target is None or actual is None else (" ok" if actual >= target else " bad")
    extra = ("" if target is None else
             f'<span class="target">{escape(label(lang, "target", target=_share(target)))}</span>')
    return (f'<div class="tile{state}"><span class="name">{escape(name)}</span>'
            f'<span class="value">{escape(value)}</span>{extra}</div>')


def _kpis(f: Figures, report: Report, lang: str) -> str:
    tr = partial(label, lang)
    t = report.targets
    return '<section><h2>' + escape(tr("h.kpis")) + '</h2><div class="tiles">' + "".join((
        _tile(tr("m.incidents.total"), str(f.incidents.total), lang=lang),
        _tile(tr("m.answer.answered_60s"), _share(f.answer.answered_60s),
              target=t["answered_60s"], actual=f.answer.answered_60s, lang=lang),
        _tile(tr("m.answer.answered_180s"), _share(f.answer.answered_180s),
              target=t["answered_180s"], actual=f.answer.answered_180s, lang=lang),
        _tile(tr("m.answer.median_answer_s"), _secs(f.answer.median_answer_s), lang=lang),
        _tile(tr("m.false_alarms.rate"), _share(f.false_alarms.rate), lang=lang),
        _tile(tr("m.coverage.share"), _share(f.coverage.share), lang=lang),
        _tile(tr("m.coverage.not_reporting"), str(f.coverage.not_reporting), lang=lang),
        _tile(tr("m.tickets.opened"), f"{f.tickets.opened} / {f.tickets.done}", lang=lang),
    )) + "</div></section>"


def _children(report: Report, lang: str) -> str:
    if not report.children:
        return ""
    tr = partial(label, lang)
    heads = [tr("area"), tr("m.incidents.total"), tr("m.incidents.open"), tr("m.answer.answered_60s"),
             tr("m.answer.answered_180s"), tr("m.answer.median_answer_s"), tr("m.false_alarms.rate"),
             tr("m.coverage.residents"), tr("m.coverage.share"), tr("m.coverage.not_reporting"),
             tr("m.tickets.opened"), tr("m.tickets.done")]
    rows = [[c.name, str(c.incidents.total), str(c.incidents.open), _share(c.answer.answered_60s),
             _share(c.answer.answered_180s), _secs(c.answer.median_answer_s),
             _share(c.false_alarms.rate), str(c.coverage.residents), _share(c.coverage.share),
             str(c.coverage.not_reporting), str(c.tickets.opened), str(c.tickets.done)]
            for c in report.children]
    kids = report.children
    charts = (
        bar_chart(tr("h.incidents_by_area"), [(c.name, c.incidents.total) for c in kids], fmt=_int)
        + bar_chart(tr("h.answer"), [(c.name, c.answer.answered_60s or 0.0) for c in kids],
                    fmt=_pct, maximum=1.0, target=report.targets["answered_60s"])
        + bar_chart(tr("h.coverage"), [(c.name, c.coverage.share or 0.0) for c in kids],
                    fmt=_pct, maximum=1.0))
    return (f'<section class="long"><h2>{escape(tr("h.children"))}</h2>'
            f"{_table(heads, rows)}{charts}</section>")


def _int(v: float) -> str:
    return str(round(v))


def _pct(v: float) -> str:
    return _share(v)


def _incidents(f: Figures, lang: str) -> str:
    tr = partial(label, lang)
    outcomes = list(f.incidents.by_kind[0].outcomes) if f.incidents.by_kind else []
    heads = [tr("kind"), tr("outcome.total"), tr("outcome.open"), *(tr(f"outcome.{o}") for o in outcomes)]
    rows = [[tr(f"kind.{k.kind}"), str(k.total), str(k.open), *(str(k.outcomes[o]) for o in outcomes)]
            for k in f.incidents.by_kind]
    chart = bar_chart(tr("h.incidents"), [(tr(f"kind.{k.kind}"), k.total) for k in f.incidents.by_kind],
                      fmt=_int) if rows else ""
    return (f'<section><h2>{escape(tr("h.incidents"))}</h2>'
            f"{_table(heads, rows) if rows else escape(tr('none'))}{chart}</section>")


def _models(f: Figures, lang: str) -> str:
    tr = partial(label, lang)
    heads = [tr("device"), tr("model"), tr("m.false_alarms.resolved"), tr("m.false_alarms.false_alarms"),
             tr("m.false_alarms.rate")]
    rows = [[tr(f"device.{m.kind}"), m.model or tr("model.none"), str(m.resolved), str(m.false_alarms),
             _share(m.rate)] for m in f.false_alarms.by_model]
    return (f'<section><h2>{escape(tr("h.models"))}</h2>'
            f"{_table(heads, rows, numeric_from=2) if rows else escape(tr('none'))}</section>")


def _tickets(f: Figures, lang: str) -> str:
    tr = partial(label, lang)
    heads = [tr("kind"), tr("m.tickets.opened"), tr("m.tickets.done"), tr("m.tickets.cancelled"),
             tr("m.tickets.visited"), tr("m.tickets.median_to_visit_s")]
    rows = [[tr(f"type.{t.type}"), str(t.opened), str(t.done), str(t.cancelled), str(t.visited),
             _secs(t.median_to_visit_s)] for t in f.tickets.by_type]
    chart = bar_chart(tr("h.tickets"), [(tr(f"type.{t.type}"), t.opened) for t in f.tickets.by_type],
                      fmt=_int)
    return f'<section><h2>{escape(tr("h.tickets"))}</h2>{_table(heads, rows)}{chart}</section>'


def _residents(f: Figures, lang: str) -> str:
    tr = partial(label, lang)
    settings = _table([tr("h.settings"), tr("m.coverage.residents"), tr("m.coverage.covered"),
                       tr("m.coverage.share")],
                      [[tr(f"setting.{s.care_setting}"), str(s.residents), str(s.covered),
                        _share(s.share)] for s in f.care_settings])
    needs = _table([tr("h.needs"), tr("m.coverage.residents")],
                   [[tr(f"need.{n}"), str(v)] for n, v in f.needs.items()])
    return (f'<section><h2>{escape(tr("h.settings"))} · {escape(tr("h.needs"))}</h2>'
            f'<div class="two"><div>{settings}</div><div>{needs}</div></div></section>')


def _not_reporting(report: Report, zone: ZoneInfo, lang: str) -> str:
    tr = partial(label, lang)
    heads = [tr("device"), tr("m.not_reporting.kind"), tr("model"), tr("site"), tr("resident"),
             tr("m.not_reporting.last_checkin"), tr("m.not_reporting.problem")]
    rows = [[d.device_id, tr(f"device.{d.kind}"), d.model, d.site_name, d.resident_name or "—",
             _time(d.last_checkin, zone), tr(f"problem.{d.problem}")] for d in report.not_reporting]
    body = _table(heads, rows, numeric_from=99) if rows else escape(tr("not_reporting.none"))
    more = "" if report.not_reporting_total <= len(rows) else '<p class="meta">{}</p>'.format(
        escape(tr("not_reporting.more", shown=len(rows), total=report.not_reporting_total)))
    return (f'<section class="long"><h2>{escape(tr("h.not_reporting"))}'
            f" ({report.not_reporting_total})</h2>{body}{more}</section>")


def render_html(report: Report, *, lang: str) -> str:
    """The whole printable page."""
    zone = ZoneInfo(report.tz)
    tr = partial(label, lang)
    n, f = report.node, report.totals
    trail = " › ".join(escape(a.name) for a in (*report.above, n))
    title = f"{tr('title')} · {n.name}"
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<main class="report" data-node="{escape(n.id)}" data-lang="{escape(lang)}">'
        f"<header><h1>{escape(title)}</h1>"
        f'<p class="meta">{escape(tr(f"level.{n.level}"))} · {trail}</p>'
        f'<p class="meta">{escape(tr("period"))}: {escape(_time(report.period_from, zone))} – '
        f"{escape(_time(report.period_to, zone))} ({escape(report.tz)}) · {escape(tr('generated'))}: "
        f"{escape(_time(report.generated_at, zone))}</p>"
        f'<p class="hint no-print">{escape(tr("print.hint"))}</p></header>'
        + _kpis(f, report, lang) + _children(report, lang) + _incidents(f, lang)
        + _models(f, lang) + _tickets(f, lang) + _residents(f, lang)
        + _not_reporting(report, zone, lang) + "</main></body></html>")
