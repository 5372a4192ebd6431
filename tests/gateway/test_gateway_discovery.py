"""The router's routes from Subnets (pure), and a router that rediscovers them as they change."""

from __future__ import annotations

import asyncio
from typing import Any

from subnetes.gateway.discovery import routes_from_subnets
from subnetes.gateway.router import Route, Router, SubnetTable


def subnet(
    name: str, netuid: int | None, gateway: dict[str, Any] | None, ns: str = "team-a", **status: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {"ownerColdkeySecretRef": {"name": "o"}}
    if gateway is not None:
        spec["gateway"] = gateway
    st = {"phase": "Registered" if netuid is not None else "Pending", "netuid": netuid} | status
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec, "status": st}


def test_registered_subnets_with_a_gateway_become_routes() -> None:
    subs = [
        subnet("compute", 1, {"capabilities": ["matmul"]}),
        subnet("compute", 7, {"port": 9090}, ns="team-b"),  # CRD defaults: matmul
        subnet("nogw", 2, None),
        subnet("pending", None, {"capabilities": ["matmul"]}),
        subnet("dereg", 3, {}, phase="Deregistered"),
    ]
    assert routes_from_subnets(subs) == [
        Route(1, "http://compute-gateway.team-a.svc:8080", ("matmul",)),
        Route(7, "http://compute-gateway.team-b.svc:9090", ("matmul",)),
    ]
    local = routes_from_subnets(subs[:1], "http://127.0.0.1:{port}/{namespace}/{name}")
    assert local == [Route(1, "http://127.0.0.1:8080/team-a/compute", ("matmul",))]


def test_a_netuid_claimed_twice_keeps_the_first_by_namespace_and_name() -> None:
    subs = [subnet("b", 4, {}, ns="z"), subnet("a", 4, {}, ns="z")]
    assert [r.url for r in routes_from_subnets(subs)] == ["http://a-gateway.z.svc:8080"]


async def test_router_rediscovers_routes_and_keeps_health_of_those_that_stay() -> None:
    found = [[Route(1, "http://a:1", ("matmul",))]]

    async def discover() -> list[Route]:
        return found[-1]

    table = SubnetTable([])
    router = Router(table, discover=discover, refresh_s=0.05)
    await router.start()
    try:
        assert table.capabilities() == ["matmul"]
        table.record(1, False, None)
        found.append([Route(1, "http://a:1", ("matmul",)), Route(2, "http://b:1", ("echo",))])
        for _ in range(100):
            if len(table.routes) == 2:
                break
            await asyncio.sleep(0.02)
        assert table.capabilities() == ["echo", "matmul"]
        assert table.health[1].failed == 1  # observed health survives a rediscovery
    finally:
        await router.stop()
