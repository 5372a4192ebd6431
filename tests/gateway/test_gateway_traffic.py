"""The router's traffic view: its per-subnet counts and the per-miner rows read from a
gateway's ``GET /v1/pool`` (pure), and the page's headers (in-process router)."""

from __future__ import annotations

import aiohttp

from subnetes.gateway.router import Route, Router, SubnetTable
from subnetes.gateway.traffic import SubnetTraffic, miner_rows, p50, subnet_row


def test_p50_is_the_median_and_none_when_empty() -> None:
    assert p50([]) is None
    assert p50([3.0, 1.0, 2.0]) == 2.0
    assert p50([4.0, 1.0, 3.0, 2.0]) == 2.0  # the lower middle: a latency that was observed


def test_subnet_traffic_counts_each_attempt_once_by_its_outcome() -> None:
    t = SubnetTraffic()
    for status, lat in ((200, 0.1), (200, 0.3), (200, 0.2), (401, 0.01), (502, 0.5), (None, None)):
        t.record(status, lat)
    assert t.as_dict() == {
        "requests": 6,
        "verified": 3,
        "rejected": 1,
        "errors": 2,
        "latency_p50_s": 0.2,  # verified answers only: a fast 401 is not the subnet's speed
    }


POOL = {
    "netuid": 2,
    "block": 40,
    "miners": [
        {
            "uid": 5,
            "hotkey": "5Fwrong",
            "axon": "http://127.0.0.1:9002",
            "incentive": 0,
            "share": 0.0,
            "latency_ewma_s": 0.02,
            "breaker": "open",
            "counts": {"ok": 0, "wrong": 2, "timeout": 1, "error": 0, "cancelled": 0},
        },
        {
            "uid": 1,
            "hotkey": "5Fgood",
            "axon": "http://127.0.0.1:9001",
            "incentive": 65535,
            "share": 1.0,
            "latency_ewma_s": 0.01,
            "breaker": "closed",
            "counts": {"ok": 7, "wrong": 0, "timeout": 0, "error": 1, "cancelled": 1},
        },
    ],
}


def test_miner_rows_by_uid_with_failures_and_pool_state() -> None:
    rows = miner_rows(POOL)
    assert [r["uid"] for r in rows] == [1, 5]
    good, wrong = rows
    assert (good["requests"], good["verified"], good["failures"], good["in_pool"]) == (
        9,
        7,
        1,
        True,
    )
    assert (wrong["requests"], wrong["verified"], wrong["failures"], wrong["wrong"]) == (3, 0, 3, 2)
    assert wrong["in_pool"] is False and wrong["breaker"] == "open"
    assert all("hotkey" not in r for r in rows)  # named by UID and axon only


def test_subnet_row_joins_the_router_counts_and_the_gateway_pool() -> None:
    t = SubnetTraffic()
    t.record(200, 0.05)
    row = subnet_row(2, "http://gw", ("linsolve",), t, POOL)
    assert row["router"]["verified"] == 1 and row["block"] == 40 and len(row["miners"]) == 2
    down = subnet_row(2, "http://gw", ("linsolve",), t, None, "ClientConnectorError")
    assert down["miners"] == [] and down["pool_error"] == "ClientConnectorError"


async def test_the_page_is_served_same_origin_only_and_traffic_names_an_unreachable_gateway() -> (
    None
):
    router = Router(SubnetTable([Route(3, "http://127.0.0.1:9", ("matmul",))]))
    await router.start()
    url = f"http://127.0.0.1:{router.port}"
    try:
        async with aiohttp.ClientSession() as s:
            for path in ("/", "/dashboard"):
                async with s.get(url + path) as r:
                    assert r.status == 200 and r.content_type == "text/html"
                    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
                    assert '<script src="/dashboard/app.js"' in await r.text()
            for asset, ctype in (("app.js", "text/javascript"), ("style.css", "text/css")):
                async with s.get(f"{url}/dashboard/{asset}") as r:
                    assert (r.status, r.content_type) == (200, ctype)
            async with s.get(url + "/dashboard/secret.txt") as r:
                assert (r.status, (await r.json())["error"]) == (404, "NotFound")
            async with s.get(url + "/v1/traffic") as r:
                doc = await r.json()
        (sub,) = doc["subnets"]
        assert sub["netuid"] == 3 and sub["miners"] == [] and sub["pool_error"]
        assert sub["router"]["requests"] == 0
    finally:
        await router.stop()
