"""The console's FastAPI application: REST under /api/v1, the live WebSocket, the static page.

>>> # app = create_app(settings=..., pool=..., hub=...); served by uvicorn (eldercare console)
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from psycopg_pool import AsyncConnectionPool

from alerts.intake import look as look_at_intake
from console import (
    admin,
    alarms,
    auth,
    devices,
    health,
    incidents,
    intake,
    live,
    me,
    org,
    reports,
    residents,
    sites,
    supervisor,
    tickets,
)
from console.auth import RateLimit
from console.live import Hub
from eldercare.settings import Settings

STATIC = resources.files("console") / "static"


def create_app(*, settings: Settings, pool: AsyncConnectionPool, hub: Hub) -> FastAPI:
    app = FastAPI(title="eldercare console", version="1", docs_url="/api/docs",
                  openapi_url="/api/v1/openapi.json", redoc_url=None)
    app.state.settings = settings
    app.state.pool = pool
    app.state.hub = hub
    app.state.sign_in_limit = RateLimit()
    app.include_router(auth.router)
    app.include_router(alarms.router)
    app.include_router(incidents.router)
    app.include_router(residents.router)
    app.include_router(health.router)
    app.include_router(sites.router)
    app.include_router(supervisor.router)
    app.include_router(admin.router)
    app.include_router(me.router)
    app.include_router(devices.router)
    app.include_router(org.router)
    app.include_router(reports.router)
    app.include_router(tickets.router)
    app.include_router(live.router)
    app.include_router(intake.router)
    app.include_router(intake.links)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"detail": f"invalid request: {problems}"}, status_code=422)

    @app.exception_handler(psycopg.DataError)
    async def unstorable(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # A value PostgreSQL cannot hold (SQLSTATE class 22, or psycopg refusing to send it): a NUL
        # character in any text, found by fuzzing (tests/console/test_openapi_fuzz.py). It is the
        # request's fault, so 400 with the reason rather than 500; the transaction rolled back.
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return JSONResponse({"detail": f"invalid request: {reason}"}, status_code=400)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "listening": hub.listening.is_set(), "clients": hub.clients}

    @app.get("/healthz/alarm-path", include_in_schema=False)
    async def alarm_path_health() -> JSONResponse:
        """For a monitoring system, without signing in: 200 when the alarm path works, 503 with
        each troubled service's name and problem when not (no hosts: the public may ask)."""
        try:
            async with pool.connection(timeout=10) as conn:
                _, found = await look_at_intake(conn)
        except Exception:  # whatever it is, nothing can be stored or judged
            return JSONResponse({"ok": False, "troubled": [
                {"service": "database", "problem": "unreachable"}]}, status_code=503)
        troubled = [{"service": s.name, "problem": s.problem,
                     "since": None if s.since is None else s.since.isoformat()}
                    for s in found.troubled]
        return JSONResponse({"ok": found.ok, "troubled": troubled},
                            status_code=200 if found.ok else 503)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
