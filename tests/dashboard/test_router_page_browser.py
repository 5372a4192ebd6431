"""The network router's traffic page (``gateway/dashboard/``) in headless Chromium, against an
in-process router and a stand-in subnet gateway that serves a ``GET /v1/pool`` document: the page
draws one table per subnet with a row per miner, follows new traffic (it polls every 2 s), shows
an unreachable gateway as such, and requests nothing off the router's origin with no console
errors. Never skipped, like the chain dashboard's browser test (whose settings it reuses)."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from subnetes.gateway.router import Route, Router, SubnetTable

from .test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS

POOL = {
    "netuid": 2,
    "block": 40,
    "miners": [
        {"uid": 1, "axon": "http://127.0.0.1:9001", "breaker": "closed", "share": 1.0,
         "latency_ewma_s": 0.01, "counts": {"ok": 7, "wrong": 0, "timeout": 0, "error": 1}},
        {"uid": 5, "axon": "http://127.0.0.1:9002", "breaker": "open", "share": 0.0,
         "latency_ewma_s": 0.02, "counts": {"ok": 0, "wrong": 2, "timeout": 0, "error": 0}},
    ],
}  # fmt: skip


@asynccontextmanager
async def serving() -> AsyncIterator[str]:
    """The router (in this test's event loop) in front of the stand-in gateway."""

    async def pool(_req: web.Request) -> web.Response:
        return web.json_response(POOL)

    async def work(_req: web.Request) -> web.Response:
        return web.json_response({"x": [1.0]})

    app = web.Application()
    app.router.add_get("/v1/pool", pool)
    app.router.add_post("/v1/{capability}", work)
    gw = web.AppRunner(app)
    await gw.setup()
    await web.TCPSite(gw, "127.0.0.1", 0).start()
    routes = [
        Route(2, f"http://127.0.0.1:{gw.addresses[0][1]}", ("linsolve",)),
        Route(3, "http://127.0.0.1:9", ("matmul",)),  # nothing listens on the discard port
    ]
    r = Router(SubnetTable(routes))
    await r.start()
    try:
        yield f"http://127.0.0.1:{r.port}"
    finally:
        await r.stop()
        await gw.cleanup()


async def test_router_traffic_page_in_headless_chromium(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: apt-get install chromium (or set SUBNETES_CHROMIUM)"
        )
    if importlib.util.find_spec("playwright") is None:
        pytest.fail("the page test needs the PyPI package 'playwright' (no browser download)")

    async with serving() as router:
        await _check_page(router, tmp_path)


async def _check_page(router: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    async def send(n: int) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
            for _ in range(n):
                async with s.post(router + "/v1/linsolve", json={}) as resp:
                    assert resp.status == 200

    await send(3)
    errors: list[str] = []
    foreign: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on(
                "request",
                lambda r: None if r.url.startswith((router, "data:")) else foreign.append(r.url),
            )
            await page.goto(router + "/", wait_until="load")
            await page.wait_for_selector("#live.on")
            sections = page.locator("main section")
            assert await sections.count() == 2
            first = sections.nth(0)
            cells = await first.locator("tbody tr").evaluate_all(
                "rs => rs.map(r => [...r.cells].map(c => c.textContent))"
            )
            assert [c[0] for c in cells] == ["1", "5"]
            assert cells[0][-1] == "in pool" and cells[1][-1] == "penalised (open)"
            assert [c[3] for c in cells] == ["7", "0"]  # verified answers per miner
            verified = first.locator(".card .v").nth(1)
            assert await verified.text_content() == "3"
            assert "did not answer" in (await sections.nth(1).inner_text())
            await send(2)  # the next poll shows it
            await page.wait_for_function(
                "() => document.querySelectorAll('main section .card .v')[1].textContent === '5'"
            )
            await page.screenshot(path=str(tmp_path / "router-traffic.png"), full_page=True)
        finally:
            await browser.close()
    assert not errors, f"console errors: {errors}"
    assert not foreign, f"requests off the router's origin: {foreign}"
