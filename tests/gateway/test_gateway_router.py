"""The network router: routes file, the split between subnets, fallback past failing gateways
(pure table; the service against in-process stand-ins for subnet gateways)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from subnetes.gateway.router import Route, Router, SubnetTable, parse_routes


def table(policy: str = "emission") -> SubnetTable:
    return SubnetTable(
        [
            Route(1, "http://a", ("matmul",)),
            Route(2, "http://b", ("matmul",)),
            Route(3, "http://c", ("text",)),
        ],
        policy=policy,
    )


def split(t: SubnetTable, n: int = 4000) -> Counter[int]:
    rng = random.Random(3)
    out: Counter[int] = Counter()
    for _ in range(n):
        r = t.choose("matmul", rng)
        assert r is not None
        out[r.netuid] += 1
    return out


def test_routes_file() -> None:
    doc = {"routes": [{"netuid": 1, "url": "http://a:8080/", "capabilities": ["matmul"]}]}
    assert parse_routes(doc) == [Route(1, "http://a:8080", ("matmul",))]
    for bad in (
        {},
        {"routes": [{"netuid": 1, "url": "http://a"}]},
        {"routes": [{"netuid": 1, "url": "ftp://a", "capabilities": ["m"]}]},
        {"routes": [{"netuid": 1, "url": "http://a", "capabilities": []}]},
        {"routes": [{"netuid": 1, "url": "http://a", "capabilities": ["m"]}] * 2},
    ):
        with pytest.raises(ValueError):
            parse_routes(bad)
    with pytest.raises(ValueError):
        SubnetTable([], policy="random")


def test_emission_policy_splits_by_the_subnets_emission_share() -> None:
    t = table()
    c = split(t)
    assert 1700 < c[1] < 2300 and c[3] == 0  # no shares yet: even; text never serves matmul
    t.update_shares([{"netuid": 1, "emission_share": 300}, {"netuid": 2, "emission_share": 100}])
    c = split(t)
    assert 2.5 < c[1] / c[2] < 3.5, c
    assert t.choose("translate", random.Random(0)) is None
    assert t.choose("matmul", random.Random(0), exclude=[1, 2]) is None


def test_a_failing_subnet_loses_its_share_and_quality_prefers_the_faster() -> None:
    t = table()
    for _ in range(10):
        t.record(2, False, None)
        t.record(1, True, 0.01)
    c = split(t)
    assert c[2] < 40, c
    q = table("quality")
    for _ in range(5):
        q.record(1, True, 0.01)
        q.record(2, True, 0.05)
    c = split(q)
    assert 3 < c[1] / c[2] < 7, c  # 5 times as fast: 5 times the traffic


async def _server(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def _gateway(status: int, seen: list[dict[str, str]]) -> web.Application:
    async def handle(req: web.Request) -> web.Response:
        seen.append(dict(req.headers))
        return web.json_response(
            {"error": "X"} if status >= 400 else {"ok": True},
            status=status,
            headers={"X-Subnetes-Uid": "4"},
        )

    app = web.Application()
    app.router.add_post("/v1/{capability}", handle)
    return app


async def test_router_falls_back_past_failing_gateways_and_passes_user_errors() -> None:
    good_seen: list[dict[str, str]] = []
    bad_seen: list[dict[str, str]] = []
    good_gen, bad_gen = _server(_gateway(200, good_seen)), _server(_gateway(502, bad_seen))
    good, bad = await anext(good_gen), await anext(bad_gen)
    t = SubnetTable(
        [
            Route(1, good, ("matmul",)),
            Route(2, bad, ("matmul",)),
            Route(3, "http://127.0.0.1:9", ("matmul",)),
        ]
    )
    router = Router(t)
    await router.start()
    url = f"http://127.0.0.1:{router.port}"
    try:
        async with aiohttp.ClientSession() as s:
            for _ in range(12):
                async with s.post(
                    url + "/v1/matmul", json={}, headers={"Authorization": "Bearer k"}
                ) as r:
                    assert r.status == 200 and r.headers["X-Subnetes-Netuid"] == "1"
                    assert r.headers["X-Subnetes-Uid"] == "4"  # the gateway's headers pass
            async with s.post(url + "/v1/translate", json={}) as r:
                assert (r.status, (await r.json())["error"]) == (404, "UnknownCapability")
            async with s.post(url + "/v1/matmul", data=b"x" * 70000) as r:
                assert r.status == 413
            async with s.get(url + "/v1/routes") as r:
                routes = {x["netuid"]: x for x in await r.json()}
        assert routes[1]["ok"] == 12 and routes[1]["failed"] == 0
        assert routes[2]["failed"] + routes[3]["failed"] >= 1  # tried, failed, moved on
        assert all(h.get("Authorization") == "Bearer k" for h in good_seen)  # key passed through
        # A gateway's 4xx is the user's: returned as it is, not retried elsewhere.
        ue_gen = _server(_gateway(401, []))
        ue = await anext(ue_gen)
        t2 = SubnetTable([Route(7, ue, ("matmul",)), Route(8, good, ("matmul",))])
        t2.update_shares([{"netuid": 7, "emission_share": 1}, {"netuid": 8, "emission_share": 0}])
        r2 = Router(t2)
        await r2.start()
        before = len(good_seen)
        try:
            async with (
                aiohttp.ClientSession() as s,
                s.post(f"http://127.0.0.1:{r2.port}/v1/matmul", json={}) as r,
            ):
                assert (r.status, r.headers["X-Subnetes-Netuid"]) == (401, "7")
            assert len(good_seen) == before
        finally:
            await r2.stop()
            await ue_gen.aclose()
    finally:
        await router.stop()
        await good_gen.aclose()
        await bad_gen.aclose()
