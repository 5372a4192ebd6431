"""The web dashboard: a static page (``chain/dashboard/``) served by the chain service at ``/``
and ``/dashboard``. It reads the public API and follows ``/v1/events`` live; nothing here
touches chain state. The page loads only same-origin files (no CDN, no web fonts)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response

STATIC = Path(__file__).with_name("dashboard")
FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    # same-origin only: a page that tried to load anything else would fail loudly
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
}


def _file(name: str) -> Response:
    return FileResponse(STATIC / name, media_type=FILES[name], headers=HEADERS)


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard page at ``/`` and ``/dashboard``, its assets at ``/dashboard/<file>``."""

    @app.get("/", include_in_schema=False)
    @app.get("/dashboard", include_in_schema=False)
    async def dashboard_index() -> Response:
        return _file("index.html")

    @app.get("/dashboard/{name}", include_in_schema=False)
    async def dashboard_asset(name: str) -> Response:
        if name not in FILES:  # the API's JSON error body, like every other 4xx
            return JSONResponse({"error": "NotFound", "message": f"no file {name}"}, 404)
        return _file(name)
