"""The router's traffic page: static files (``gateway/dashboard/``) served at ``/`` and
``/dashboard``; the page polls the router's ``GET /v1/traffic`` and loads nothing from any
other origin (the same headers as the chain's dashboard, ``subnetes.chain.dashboard``)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).with_name("dashboard")
FILES = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
}
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # same-origin only: a page that tried to load anything else would fail loudly
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
}


def _file(name: str) -> web.Response:
    return web.Response(
        body=(STATIC / name).read_bytes(),
        content_type=FILES[name],
        charset="utf-8",
        headers=HEADERS,
    )


def mount_dashboard(app: web.Application) -> None:
    """Serve the page at ``/`` and ``/dashboard``, its assets at ``/dashboard/<file>``."""

    async def index(_req: web.Request) -> web.Response:
        return _file("index.html")

    async def asset(req: web.Request) -> web.Response:
        name = req.match_info["name"]
        if name not in FILES:  # a JSON error body, like the router's other 4xx
            return web.json_response(
                {"error": "NotFound", "message": f"no file {name}"}, status=404
            )
        return _file(name)

    app.router.add_get("/", index)
    app.router.add_get("/dashboard", index)
    app.router.add_get("/dashboard/{name}", asset)
