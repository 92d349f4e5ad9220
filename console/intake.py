"""``GET /api/v1/intake``: is the alarm path working? For everyone who answers alarms (operators,
supervisors, admins, care-home staff): each service's state from its heartbeat, judged by
alerts/intake.py, so that every screen can say so when alarms may not be getting through; and
whether the on-call engineer was paged about it (alerts/oncall.py): ``page`` is the open
episode (or null), ``pages`` the last ten, ``oncall`` whether this console pages anyone.

``POST /api/v1/intake/pages/{id}/take``: "I'm on it", from an admin (the engineers) or a
supervisor (who may record it for an engineer on the phone): the screens say who is on it, the
on-call engineers are told, and the reminders slow (alerts/oncall.py).

``GET /oncall/take/{id}?to=…&key=…``: the "I'm on it" link of a page's message, for the
engineer it was sent to, without signing in (at 3 a.m., on a phone): what the page is about and
whether it is still open, with an "I'm on it" button that posts the same to, key and id (``POST
/oncall/take/{id}``), taking the page as that address. The key is the link's own
(alerts/oncall.py ``take_token``): a wrong one, or one for another page or address, is 403 and
shows nothing. Fetching the link takes nothing (mail scanners open links). Times are the
centre's, with their UTC offset, as in the message."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse

from alerts import intake
from alerts.lifecycle import CENTRE_ROLES
from alerts.messages import DEFAULT_TZ, utc_offset
from alerts.oncall import describe_problems, token_fits
from console.auth import CurrentUser
from store import intake_pages

router = APIRouter(prefix="/api/v1", tags=["intake"])
links = APIRouter(tags=["intake"])

ANSWERING_ROLES = CENTRE_ROLES | {"care_staff"}


@router.get("/intake")
async def alarm_path(request: Request, user: CurrentUser) -> dict[str, Any]:
    if user["role"] not in ANSWERING_ROLES:
        raise HTTPException(403, "the alarm path's state is for those who answer alarms")
    async with request.app.state.pool.connection() as conn:
        now, found = await intake.look(conn)
        pages = await intake_pages.recent(conn)
    return {"ok": found.ok, "now": jsonable_encoder(now),
            "services": [jsonable_encoder(asdict(s)) for s in found.services],
            "oncall": bool(request.app.state.settings.oncall),
            "page": next((jsonable_encoder(p) for p in pages if p["cleared_at"] is None), None),
            "pages": jsonable_encoder(pages)}


TAKING_ROLES = frozenset({"admin", "supervisor"})
PageId = Annotated[int, Path(ge=1, le=2**62, description="on-call page id")]


@router.post("/intake/pages/{page_id}/take")
async def take_page(page_id: PageId, request: Request, user: CurrentUser) -> dict[str, Any]:
    if user["role"] not in TAKING_ROLES:
        raise HTTPException(403, "taking a page is for the engineers (admins) and supervisors")
    async with request.app.state.pool.connection() as conn, conn.transaction():
        try:
            page = await intake_pages.take(conn, page_id, user["username"])
        except LookupError as err:
            raise HTTPException(404, str(err)) from None
        except ValueError as err:
            raise HTTPException(409, str(err)) from None
    return {"page": jsonable_encoder(page)}


Address = Annotated[str, Query(min_length=3, max_length=254, description="the on-call address")]
Key = Annotated[str, Query(min_length=1, max_length=128, description="the link's key")]
_PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
                " base-uri 'none'; frame-ancestors 'none'")
_STYLE = ("body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}"
          "h1{font-size:1.3rem}p.state{font-weight:600}button{font-size:1.1rem;padding:.6rem 1.4rem}"
          "ul{padding-left:1.2rem}")


def _clock(at: dt.datetime) -> str:
    local = at.astimezone(ZoneInfo(DEFAULT_TZ))
    return f"{local:%Y-%m-%d %H:%M} ({utc_offset(local)})"


def _page_html(status: int, title: str, *parts: str) -> HTMLResponse:
    body = "".join(parts)
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>", status_code=status,
        headers={"Content-Security-Policy": _PAGE_POLICY, "Cache-Control": "no-store",
                 # the address bar holds the key: never sent on, never indexed
                 "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"})


def _p(text: str, cls: str | None = None) -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<p{attr}>{html.escape(text)}</p>"


async def _checked(request: Request, page_id: int, to: str,
                   key: str) -> tuple[dict[str, Any], None] | tuple[None, HTMLResponse]:
    """The page, if ``key`` is the link's for ``to``; else the refusal to show (the same for a
    page that does not exist, so a guess learns nothing)."""
    async with request.app.state.pool.connection() as conn:
        found = await intake_pages.one(conn, page_id)
    if found is None or found[1] is None or not token_fits(found[1], page_id, to, key):
        return None, _page_html(403, "链接无效 / This link is not valid", _p(
            "此链接无效或不完整：请使用告警消息中的链接，或登录控制台。"), _p(
            "This link is not valid or not whole: use the link in the page's message, or sign"
            " in to the console."))
    return found[0], None


def _state(page: dict[str, Any]) -> list[str]:
    zh, en = describe_problems(page["problems"])
    lines = [_p(f"报警链路故障，自 {_clock(page['began_at'])} 起 / Alarm path fault since"
                f" {_clock(page['began_at'])}"),
             "<ul>" + "".join(f"<li>{html.escape(z)}<br>{html.escape(e)}</li>"
                              for z, e in zip(zh, en, strict=True)) + "</ul>"]
    if page["cleared_at"] is not None:
        lines.append(_p(f"已于 {_clock(page['cleared_at'])} 恢复，无需处理。 / Working again since"
                        f" {_clock(page['cleared_at'])}: nothing to take.", "state"))
    elif page["taken_at"] is not None:
        who, at = page["taken_by"], _clock(page["taken_at"])
        lines.append(_p(f"{who} 已于 {at} 确认处理。 / {who} has been on it since {at}.", "state"))
    return lines


@links.get("/oncall/take/{page_id}", response_class=HTMLResponse)
async def take_link_page(page_id: PageId, to: Address, key: Key,
                         request: Request) -> HTMLResponse:
    page, refused = await _checked(request, page_id, to, key)
    if refused is not None:
        return refused
    assert page is not None
    form = ""
    if page["cleared_at"] is None and page["taken_at"] is None:
        # relative: a console served under a path (ELDERCARE_PUBLIC_URL's) posts to itself
        form = (f'<form method="post" action="{page_id}">'
                f'<input type="hidden" name="to" value="{html.escape(to)}">'
                f'<input type="hidden" name="key" value="{html.escape(key)}">'
                f"<button type=\"submit\">我来处理 / I'm on it</button></form>"
                + _p(f"将以 {to} 的名义确认，并通知其他值班工程师无需前往。 / You take it as {to};"
                     " the other on-call engineers are told they need not come."))
    return _page_html(200, f"值班呼叫 #{page_id} / On-call page #{page_id}", *_state(page), form)


async def _form(request: Request) -> tuple[str, str]:
    """The button's ``to`` and ``key`` (an HTML form's urlencoded body; two short fields need no
    multipart parser); 4xx with the reason for anything else."""
    if request.headers.get("content-type", "").split(";")[0].strip() \
            != "application/x-www-form-urlencoded":
        raise HTTPException(415, "the take form is application/x-www-form-urlencoded")
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > 2048:  # said before reading a byte of it
        raise HTTPException(413, "the take form is two short fields")
    body = await request.body()
    if len(body) > 2048:
        raise HTTPException(413, "the take form is two short fields")
    try:
        fields = parse_qs(body.decode(), strict_parsing=True, max_num_fields=4)
    except (UnicodeDecodeError, ValueError) as err:
        raise HTTPException(422, f"invalid request: the take form: {err}") from None
    to, key = fields.get("to", []), fields.get("key", [])
    if len(to) != 1 or len(key) != 1 or not 3 <= len(to[0]) <= 254 or not 1 <= len(key[0]) <= 128:
        raise HTTPException(422, "invalid request: the take form has one 'to' (3-254 characters)"
                                 " and one 'key' (1-128)")
    return to[0], key[0]


@links.post("/oncall/take/{page_id}", response_class=HTMLResponse)
async def take_by_link(page_id: PageId, request: Request) -> HTMLResponse:
    to, key = await _form(request)
    page, refused = await _checked(request, page_id, to, key)
    if refused is not None:
        return refused
    title = f"值班呼叫 #{page_id} / On-call page #{page_id}"
    async with request.app.state.pool.connection() as conn, conn.transaction():
        try:
            page = await intake_pages.take(conn, page_id, to)
        except ValueError:  # over, or taken already: the page as it now stands
            found = await intake_pages.one(conn, page_id)
            assert found is not None
            return _page_html(409, title, *_state(found[0]))
    return _page_html(200, title, *_state(page), _p(
        "已通知其他值班工程师。 / The other on-call engineers are told.", "state"))
