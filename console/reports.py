"""GET /api/v1/reports/{node_id}: a grid node's report as JSON (for the console), CSV or a
printable HTML page. For supervisors and administrators (any node, or their ``scope_node``'s
subtree) and for bureau and grid staff (their own subtree); operators answer calls, they do not
read reports. A node outside the reader's scope is "not found". Every export is audited."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse

from alerts import reports as report_rules
from alerts.report_csv import render_csv
from alerts.report_html import render_html
from console.auth import CurrentUser
from console.scope import scope_of
from detection.zones import known_zone
from store import org
from store import reports as store_reports
from store.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["reports"])

READERS = frozenset({"supervisor", "admin", "bureau", "grid_staff"})
DEFAULT_DAYS = 30
NodeId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
When = Annotated[dt.datetime | None, Query(description="ISO time; without an offset, in tz")]
# The printed page needs no script and loads nothing: forbid both, whatever the data holds.
_HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"


def _zone(tz: str) -> ZoneInfo:
    try:
        return known_zone(tz)
    except ValueError as err:
        raise HTTPException(422, str(err)) from None


def period(start: dt.datetime | None, end: dt.datetime | None, *, zone: ZoneInfo,
           now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[from, to): times without an offset are the reader's local times; by default the last
    30 days; at most 366 days."""
    end = now if end is None else end if end.tzinfo else end.replace(tzinfo=zone)
    start = (end - dt.timedelta(days=DEFAULT_DAYS) if start is None
             else start if start.tzinfo else start.replace(tzinfo=zone))
    if start >= end:
        raise HTTPException(422, "from must be before to")
    if end - start > dt.timedelta(days=report_rules.MAX_DAYS):
        raise HTTPException(422, f"a report covers at most {report_rules.MAX_DAYS} days")
    return start, end


@router.get("/reports/{node_id}", response_model=None)
async def report(request: Request, user: CurrentUser, node_id: NodeId,
                 start: Annotated[When, Query(alias="from")] = None,
                 end: Annotated[When, Query(alias="to")] = None,
                 tz: Annotated[str, Query(max_length=64)] = "Asia/Shanghai",
                 lang: Literal["zh-CN", "en"] | None = None,
                 format: Literal["json", "csv", "html"] = "json") -> Response:
    if user["role"] not in READERS:
        raise HTTPException(403, "reports are for supervisors, administrators and civil-affairs staff")
    zone = _zone(tz)
    now = dt.datetime.now(dt.UTC)
    start, end = period(start, end, zone=zone, now=now)
    words: str = lang or ("en" if user.get("lang") == "en" else "zh-CN")
    scope = scope_of(user)
    async with request.app.state.pool.connection() as conn:
        try:
            node = await store_reports.node(conn, node_id)
        except NotFound:
            raise HTTPException(404, f"no node {node_id}") from None
        if scope.node and not await org.contains(conn, scope.node, node_id):
            raise HTTPException(404, f"no node {node_id}")  # as if it did not exist
        path = node["path"][node["path"].index(scope.node):] if scope.node else node["path"]
        above = await store_reports.path_nodes(conn, path[:-1])
        children = await store_reports.children(conn, node_id)
        raw = await store_reports.figures(conn, targets=[node_id, *(c["id"] for c in children)],
                                          start=start, end=end, now=now, rules=report_rules.RULES)
        silent = await store_reports.silent_devices(conn, node_id=node_id, now=now,
                                                    rules=report_rules.RULES,
                                                    limit=report_rules.NOT_REPORTING_CAP)
        built = report_rules.build(node=node, above=above, children=children, raw=raw,
                                   silent=silent, period_from=start, period_to=end, tz=tz,
                                   generated_at=now)
        if format != "json":
            await store_reports.record_export(
                conn, actor=user["username"], node_id=node_id,
                details={"from": start.isoformat(), "to": end.isoformat(), "tz": tz,
                         "lang": words, "format": format})
    if format == "csv":
        name = f"report-{node_id}-{start.astimezone(zone):%Y%m%d}-{end.astimezone(zone):%Y%m%d}.csv"
        return Response(render_csv(built, lang=words),
                        media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "Cache-Control": "no-store"})
    if format == "html":
        return HTMLResponse(render_html(built, lang=words),
                            headers={"Content-Security-Policy": _HTML_POLICY,
                                     "Cache-Control": "no-store"})
    body: dict[str, Any] = report_rules.as_json(built) | {"lang": words}
    return JSONResponse(jsonable_encoder(body), headers={"Cache-Control": "no-store"})
