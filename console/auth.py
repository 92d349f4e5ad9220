"""Sign-in: argon2id password hashes, server-side sessions in an HttpOnly cookie, a per-account and
per-address rate limit, and the CSRF rule for cookie sessions.

The cookie holds a random token; the database holds only its SHA-256, so a leaked table does not
hand out sessions. Cookies are ``SameSite=Strict`` and, outside development, ``Secure``. Every
state-changing request must carry ``X-Requested-With: eldercare``: a cross-site form cannot set
that header, and a cross-site script cannot send it without a CORS preflight we never approve.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections import deque
from typing import Annotated, Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Depends, HTTPException, Request, Response, WebSocket
from pydantic import BaseModel, Field

from store import users

COOKIE = "eldercare_session"
SESSION_TTL = dt.timedelta(hours=12)
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "eldercare"

_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so that timing does not tell
# whether a username is valid.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RateLimit:
    """At most ``attempts`` failed sign-ins per key in ``window`` seconds."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self._attempts, self._window = attempts, window
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, key: str) -> bool:
        failures = self._failures.get(key)
        if not failures:
            return False
        while failures and failures[0] < time.monotonic() - self._window:
            failures.popleft()
        return len(failures) >= self._attempts

    def fail(self, key: str) -> None:
        self._failures.setdefault(key, deque()).append(time.monotonic())

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def public_user(user: dict[str, Any]) -> dict[str, Any]:
    return {k: user.get(k) for k in ("username", "display_name", "role", "lang", "scope_site",
                                     "scope_resident", "scope_node", "provider_id")}


async def _user_from_cookie(app_state: Any, cookie: str | None) -> dict[str, Any] | None:
    if not cookie:
        return None
    async with app_state.pool.connection() as conn:
        return await users.session_user(conn, token_hash(cookie))


async def current_user(request: Request) -> dict[str, Any]:
    user = await _user_from_cookie(request.app.state, request.cookies.get(COOKIE))
    if user is None:
        raise HTTPException(401, "not signed in")
    if request.method not in ("GET", "HEAD", "OPTIONS") and (
        request.headers.get(CSRF_HEADER) != CSRF_VALUE
    ):
        raise HTTPException(403, f"missing {CSRF_HEADER} header")
    return user


async def websocket_user(websocket: WebSocket) -> dict[str, Any] | None:
    return await _user_from_cookie(websocket.app.state, websocket.cookies.get(COOKIE))


CurrentUser = Annotated[dict[str, Any], Depends(current_user)]

router = APIRouter(prefix="/api/v1")


@router.post("/session")
async def sign_in(body: SignIn, request: Request, response: Response) -> dict[str, Any]:
    if request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise HTTPException(403, f"missing {CSRF_HEADER} header")
    limiter: RateLimit = request.app.state.sign_in_limit
    address = request.client.host if request.client else "?"
    keys = (f"user:{body.username}", f"addr:{address}")
    if any(limiter.blocked(k) for k in keys):
        raise HTTPException(429, "too many failed sign-ins; wait a few minutes")
    async with request.app.state.pool.connection() as conn:
        user = await users.by_username(conn, body.username)
    try:
        _hasher.verify(user["password_hash"] if user else _DUMMY_HASH, body.password)
        ok = user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        for key in keys:
            limiter.fail(key)
        raise HTTPException(401, "wrong username or password")
    limiter.clear(keys[0])
    token = secrets.token_urlsafe(32)
    async with request.app.state.pool.connection() as conn:
        await users.open_session(conn, user_id=user["id"], token_hash=token_hash(token),
                                 ttl=SESSION_TTL)
        if _hasher.check_needs_rehash(user["password_hash"]):
            await users.set_password_hash(conn, user["username"], hash_password(body.password))
    response.set_cookie(COOKIE, token, max_age=int(SESSION_TTL.total_seconds()), httponly=True,
                        samesite="strict", secure=request.app.state.settings.cookie_secure,
                        path="/")
    return {"user": public_user(user)}


@router.delete("/session", status_code=204)
async def sign_out(request: Request, response: Response, user: CurrentUser) -> None:
    cookie = request.cookies.get(COOKIE)
    if cookie:
        async with request.app.state.pool.connection() as conn:
            await users.close_session(conn, token_hash(cookie))
    response.delete_cookie(COOKIE, path="/")


@router.get("/me")
async def me(user: CurrentUser) -> dict[str, Any]:
    return {"user": public_user(user)}


class MeChange(BaseModel):
    lang: Literal["zh-CN", "en"]


@router.put("/me")
async def change_me(body: MeChange, request: Request, user: CurrentUser) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        await users.set_lang(conn, user["username"], body.lang)
    return {"user": public_user({**user, "lang": body.lang})}
