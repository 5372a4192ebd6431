"""The network router: one endpoint for users, each request sent to a subnet able to serve its
capability, then (by that subnet's gateway) to the best miners there; the network as a
mixture of experts. ``python -m subnetes.gateway.router``.

- Routes come from a YAML file (``SUBNETES_ROUTER_ROUTES``): each subnet's gateway URL and the
  capabilities it serves (``spec.gateway.capabilities``)::

      routes:
        - {netuid: 1, url: "http://compute-gateway.team-a:8080", capabilities: [matmul]}
        - {netuid: 7, url: "http://compute-gateway.team-b:8080", capabilities: [matmul]}

- When several subnets serve a capability, traffic is split by policy: ``emission`` (the
  subnets' emission share, read from the chain: the network's own verdict) or ``quality``
  (the router's observed success EWMA times relative speed). Either way a subnet whose gateway
  keeps failing loses its share (success EWMA), and a failed attempt (5xx, unreachable) moves
  on to the next subnet; a subnet gateway's 4xx is the user's and is returned as it is.
- The user's API key is passed through: keys are per gateway (the subnets' key Secrets).
- ``GET /v1/traffic``: per subnet, what the router forwarded (requests, verified answers,
  errors, latency p50) and the subnet gateway's miners (its ``GET /v1/pool``, read here, so a
  browser needs no access to the gateways); ``GET /`` (``/dashboard``) a page that shows it
  (``gateway/dashboard/``, same-origin only).

The table (:class:`SubnetTable`) is pure, as the gateway's pool is.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from .dashboard import mount_dashboard
from .traffic import SubnetTraffic, subnet_row

log = logging.getLogger("subnetes.gateway.router")

_PASS_HEADERS = ("Authorization", "X-API-Key", "X-Subnetes-Deadline-Ms", "Content-Type")


@dataclass(frozen=True)
class Route:
    """A subnet's gateway and what it serves."""

    netuid: int
    url: str
    capabilities: tuple[str, ...]


def parse_routes(doc: Any) -> list[Route]:
    """Routes from a parsed routes file; ValueError naming the bad entry."""
    if not isinstance(doc, dict) or not isinstance(doc.get("routes"), list):
        raise ValueError("the routes file must be a mapping with a 'routes' list")
    out, seen = [], set()
    for i, r in enumerate(doc["routes"]):
        try:
            route = Route(
                int(r["netuid"]),
                str(r["url"]).rstrip("/"),
                tuple(str(c) for c in r["capabilities"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"routes[{i}]: needs netuid, url and capabilities ({e})") from None
        if not route.url.startswith(("http://", "https://")) or not route.capabilities:
            raise ValueError(f"routes[{i}]: url must be http(s) and capabilities non-empty")
        if route.netuid in seen:
            raise ValueError(f"routes[{i}]: netuid {route.netuid} appears twice")
        seen.add(route.netuid)
        out.append(route)
    return out


@dataclass
class SubnetHealth:
    """What the router observed of one subnet's gateway."""

    success_ewma: float = 1.0
    latency_ewma: float | None = None
    ok: int = 0
    failed: int = 0


@dataclass
class SubnetTable:
    """Routes, the chain's emission shares and observed health; chooses a subnet per request."""

    routes: list[Route]
    policy: str = "emission"  # emission | quality
    alpha: float = 0.2
    shares: dict[int, int] = field(default_factory=dict)  # netuid -> emission share (parts)
    health: dict[int, SubnetHealth] = field(default_factory=dict)
    # Latency EWMA per (netuid, capability): tasks differ in cost, so ``quality`` compares
    # subnets on the capability asked for, not on a mix of whatever each one served last.
    cap_latency: dict[tuple[int, str], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.policy not in ("emission", "quality"):
            raise ValueError(f"policy must be emission or quality, got {self.policy!r}")
        for r in self.routes:
            self.health.setdefault(r.netuid, SubnetHealth())

    def set_routes(self, routes: list[Route]) -> None:
        """Replace the routes (discovery); a subnet that stays keeps its observed health."""
        self.routes = list(routes)
        for r in self.routes:
            self.health.setdefault(r.netuid, SubnetHealth())

    def capabilities(self) -> list[str]:
        """Every capability some route serves."""
        return sorted({c for r in self.routes for c in r.capabilities})

    def update_shares(self, subnets: Iterable[Mapping[str, Any]]) -> None:
        """Emission shares from the chain's ``GET /v1/subnets`` rows."""
        self.shares = {int(s["netuid"]): int(s.get("emission_share", 0)) for s in subnets}

    def latency(self, netuid: int, capability: str | None = None) -> float | None:
        """Observed latency EWMA of a subnet, None if unseen: for ``capability`` once any
        latency per capability was recorded for the subnet, else the subnet's overall one."""
        if capability is not None and any(k[0] == netuid for k in self.cap_latency):
            return self.cap_latency.get((netuid, capability))
        return self.health[netuid].latency_ewma

    def weights(self, routes: list[Route], capability: str | None = None) -> list[float]:
        """Each route's relative weight under the policy (latencies of ``capability``)."""
        lats = {r.netuid: self.latency(r.netuid, capability) for r in routes}
        fastest = min((x for x in lats.values() if x is not None), default=None)
        out = []
        total_share = sum(self.shares.get(r.netuid, 0) for r in routes)
        for r in routes:
            h = self.health[r.netuid]
            if self.policy == "emission":
                # No subnet earning yet (or no chain data): split evenly.
                w = self.shares.get(r.netuid, 0) / total_share if total_share else 1.0
            else:
                w = 1.0
                if fastest is not None and (lat := lats[r.netuid]) is not None:
                    w = max(fastest, 1e-3) / max(lat, 1e-3)
            out.append(w * max(h.success_ewma, 1e-3) ** 2)
        return out

    def choose(
        self, capability: str, rng: random.Random, exclude: Iterable[int] = ()
    ) -> Route | None:
        """A subnet for one request (None when no other one serves ``capability``)."""
        skip = set(exclude)
        cands = [r for r in self.routes if capability in r.capabilities and r.netuid not in skip]
        if not cands:
            return None
        weights = self.weights(cands, capability)
        x = rng.random() * sum(weights)
        for r, w in zip(cands, weights, strict=True):
            x -= w
            if x < 0:
                return r
        return cands[-1]

    def record(
        self, netuid: int, ok: bool, latency_s: float | None, capability: str | None = None
    ) -> None:
        """Fold one attempt's outcome into the subnet's health (success is the subnet
        gateway's, whatever was asked; latency also per ``capability`` when given)."""
        h = self.health.setdefault(netuid, SubnetHealth())
        if ok and latency_s is not None and capability is not None:
            old = self.cap_latency.get((netuid, capability))
            self.cap_latency[(netuid, capability)] = (
                latency_s if old is None else self.alpha * latency_s + (1 - self.alpha) * old
            )
        h.success_ewma = self.alpha * (1.0 if ok else 0.0) + (1 - self.alpha) * h.success_ewma
        if ok:
            h.ok += 1
            if latency_s is not None:
                h.latency_ewma = (
                    latency_s
                    if h.latency_ewma is None
                    else self.alpha * latency_s + (1 - self.alpha) * h.latency_ewma
                )
        else:
            h.failed += 1


class Router:
    """The router's HTTP service."""

    def __init__(
        self,
        table: SubnetTable,
        *,
        chain_endpoint: str | None = None,
        ip: str = "127.0.0.1",
        port: int = 0,
        deadline_s: float = 15.0,
        max_body_bytes: int = 65536,
        refresh_s: float = 12.0,
        discover: Callable[[], Awaitable[list[Route]]] | None = None,
    ) -> None:
        self.table = table
        self.discover = discover
        self.chain_endpoint = chain_endpoint
        self.ip, self.port = ip, port
        self.deadline_s = deadline_s
        self.max_body_bytes = max_body_bytes
        self.refresh_s = refresh_s
        self.rng = random.Random()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._refresher: asyncio.Task[None] | None = None
        self.traffic: dict[int, SubnetTraffic] = {}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_bytes + 1)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/v1/routes", self._routes)
        app.router.add_get("/v1/capabilities", self._capabilities)
        app.router.add_get("/v1/traffic", self._traffic)
        mount_dashboard(app)
        app.router.add_post("/v1/{capability}", self._forward)
        return app

    async def start(self) -> None:
        """Bind and start reading emission shares from the chain (when one is given)."""
        self._session = aiohttp.ClientSession(trust_env=False)
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.ip, self.port).start()
        self.port = self._runner.addresses[0][1]
        if self.discover is not None:
            try:  # routes before the first request when the API answers at once
                self.table.set_routes(await self.discover())
            except Exception as e:
                log.warning("routes not discovered yet", extra={"error": str(e)})
        if self.chain_endpoint or self.discover is not None:
            self._refresher = asyncio.create_task(self._refresh_loop())

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        close = getattr(self.discover, "close", None)
        if close is not None:
            await close()

    async def refresh(self) -> None:
        """Read the subnets' emission shares once."""
        from subnetes.chain.client import AsyncChainClient

        assert self.chain_endpoint is not None
        async with AsyncChainClient(self.chain_endpoint, timeout=10.0) as c:
            self.table.update_shares(await c.subnets())

    async def _refresh_loop(self) -> None:
        while True:
            if self.discover is not None:
                try:
                    self.table.set_routes(await self.discover())
                except Exception as e:  # the API's trouble keeps the last routes
                    log.warning("routes not discovered", extra={"error": str(e)})
            if self.chain_endpoint:
                try:
                    await self.refresh()
                except Exception as e:  # the chain's trouble keeps the last shares
                    log.warning("emission shares not read", extra={"error": str(e)})
            await asyncio.sleep(self.refresh_s)

    async def _healthz(self, _req: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _routes(self, _req: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "netuid": r.netuid,
                    "url": r.url,
                    "capabilities": list(r.capabilities),
                    "emission_share": self.table.shares.get(r.netuid, 0),
                    "success_ewma": round(self.table.health[r.netuid].success_ewma, 6),
                    "latency_ewma_s": self.table.health[r.netuid].latency_ewma,
                    "latency_ewma_s_by_capability": {
                        c: self.table.cap_latency[(r.netuid, c)]
                        for c in r.capabilities
                        if (r.netuid, c) in self.table.cap_latency
                    },
                    "ok": self.table.health[r.netuid].ok,
                    "failed": self.table.health[r.netuid].failed,
                }
                for r in self.table.routes
            ]
        )

    async def _capabilities(self, _req: web.Request) -> web.Response:
        """Each capability and the netuids that serve it: what a user may ask for."""
        return web.json_response(
            {
                "policy": self.table.policy,
                "capabilities": {
                    cap: [r.netuid for r in self.table.routes if cap in r.capabilities]
                    for cap in self.table.capabilities()
                },
            }
        )

    async def _pool_of(self, route: Route) -> tuple[dict[str, Any] | None, str | None]:
        """A subnet gateway's ``GET /v1/pool`` (None and why, when it does not answer)."""
        assert self._session is not None
        try:
            async with self._session.get(
                f"{route.url}/v1/pool", timeout=aiohttp.ClientTimeout(total=2.0)
            ) as resp:
                if resp.status != 200:
                    return None, f"HTTP {resp.status}"
                doc = await resp.json()
                return (doc, None) if isinstance(doc, dict) else (None, "not a JSON object")
        except (TimeoutError, aiohttp.ClientError, ValueError) as e:
            return None, type(e).__name__

    async def _traffic(self, _req: web.Request) -> web.Response:
        """Per subnet: the router's counts and the gateway's per-miner traffic."""
        routes = list(self.table.routes)
        pools = await asyncio.gather(*(self._pool_of(r) for r in routes))
        return web.json_response(
            {
                "policy": self.table.policy,
                "subnets": [
                    subnet_row(
                        r.netuid,
                        r.url,
                        r.capabilities,
                        self.traffic.get(r.netuid, SubnetTraffic()),
                        pool,
                        why,
                    )
                    for r, (pool, why) in zip(routes, pools, strict=True)
                ],
            }
        )

    async def _forward(self, req: web.Request) -> web.Response:
        cap = req.match_info["capability"]
        if cap not in self.table.capabilities():
            return web.json_response(
                {
                    "error": "UnknownCapability",
                    "message": f"no subnet serves {cap!r}; served: {self.table.capabilities()}",
                },
                status=404,
            )
        try:
            body = await req.read()
        except web.HTTPRequestEntityTooLarge:
            body = b"x" * (self.max_body_bytes + 1)
        if len(body) > self.max_body_bytes:
            return web.json_response(
                {"error": "TooLarge", "message": f"body over {self.max_body_bytes} bytes"},
                status=413,
            )
        headers = {h: req.headers[h] for h in _PASS_HEADERS if h in req.headers}
        deadline = time.monotonic() + self.deadline_s
        tried: list[int] = []
        assert self._session is not None
        while (route := self.table.choose(cap, self.rng, exclude=tried)) is not None:
            tried.append(route.netuid)
            left = deadline - time.monotonic()
            if left <= 0:
                break
            counts = self.traffic.setdefault(route.netuid, SubnetTraffic())
            t0 = time.perf_counter()
            try:
                async with self._session.post(
                    f"{route.url}/v1/{cap}",
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=left),
                ) as resp:
                    raw = await resp.read()
                    status, ctype = resp.status, resp.headers.get("Content-Type", "")
                    passed = {
                        k: v for k, v in resp.headers.items() if k.lower().startswith("x-subnetes-")
                    }
            except (TimeoutError, aiohttp.ClientError) as e:
                self.table.record(route.netuid, False, None, cap)
                counts.record(None)
                log.info("subnet gateway failed", extra={"netuid": route.netuid, "error": str(e)})
                continue
            latency = time.perf_counter() - t0
            counts.record(status, latency)
            if status >= 500:
                self.table.record(route.netuid, False, None, cap)
                continue
            if status < 400:
                self.table.record(route.netuid, True, latency, cap)
            out = web.Response(body=raw, status=status, headers=passed)
            out.headers["Content-Type"] = ctype or "application/json"
            out.headers["X-Subnetes-Netuid"] = str(route.netuid)
            return out
        return web.json_response(
            {
                "error": "NoSubnetAnswered",
                "message": f"no subnet answered (tried netuids {tried})",
            },
            status=502 if tried else 503,
        )


async def amain(env: Mapping[str, str]) -> int:
    """``python -m subnetes.gateway.router``: SUBNETES_ROUTER_DISCOVERY (``file``: the routes
    file SUBNETES_ROUTER_ROUTES; ``kubernetes``: every Registered Subnet with spec.gateway, in
    SUBNETES_ROUTER_NAMESPACES (comma-separated; empty = all) at the Service URL
    SUBNETES_ROUTER_GATEWAY_URL, a template of name, namespace and port),
    SUBNETES_ROUTER_POLICY (emission | quality), SUBNETES_CHAIN_ENDPOINT (emission shares),
    SUBNETES_ROUTER_IP / _PORT (default 127.0.0.1:8080), SUBNETES_ROUTER_DEADLINE (s)."""
    from subnetes.sdk.config import ConfigError, env_float, env_int
    from subnetes.sdk.lifecycle import install_stop_signals

    mode = env.get("SUBNETES_ROUTER_DISCOVERY", "file")
    discover: Callable[[], Awaitable[list[Route]]] | None = None
    routes: list[Route] = []
    if mode == "kubernetes":
        from .discovery import DEFAULT_URL_TEMPLATE, KubeDiscovery

        namespaces = [n for n in env.get("SUBNETES_ROUTER_NAMESPACES", "").split(",") if n]
        template = env.get("SUBNETES_ROUTER_GATEWAY_URL") or DEFAULT_URL_TEMPLATE
        try:
            template.format(name="n", namespace="ns", port=1)
        except (KeyError, IndexError, ValueError) as e:
            raise ConfigError(f"SUBNETES_ROUTER_GATEWAY_URL {template!r}: {e!r}") from None
        discover = KubeDiscovery(namespaces, template)
    elif mode == "file":
        path = Path(env.get("SUBNETES_ROUTER_ROUTES", "/etc/subnetes/router/routes.yaml"))
        try:
            routes = parse_routes(yaml.safe_load(path.read_text()))
        except (OSError, ValueError, yaml.YAMLError) as e:
            raise ConfigError(f"router routes {path}: {e}") from None
    else:
        raise ConfigError(f"SUBNETES_ROUTER_DISCOVERY must be file or kubernetes, got {mode!r}")
    try:
        table = SubnetTable(routes, policy=env.get("SUBNETES_ROUTER_POLICY", "emission"))
    except ValueError as e:
        raise ConfigError(f"SUBNETES_ROUTER_POLICY: {e}") from None
    router = Router(
        table,
        chain_endpoint=env.get("SUBNETES_CHAIN_ENDPOINT") or None,
        ip=env.get("SUBNETES_ROUTER_IP", "127.0.0.1"),
        port=env_int(env, "SUBNETES_ROUTER_PORT", 8080, 0, 65535),
        deadline_s=env_float(env, "SUBNETES_ROUTER_DEADLINE", 15.0, lo=0.01),
        refresh_s=env_float(env, "SUBNETES_ROUTER_REFRESH", 12.0, lo=0.1),
        discover=discover,
    )
    stop = asyncio.Event()
    install_stop_signals(stop)
    await router.start()
    log.info("router serving", extra={"port": router.port, "routes": len(table.routes)})
    try:
        await stop.wait()
    finally:
        await router.stop()
    return 0


def main(env: Mapping[str, str] | None = None) -> int:
    """Entry point of the router's pod."""
    from subnetes.sdk.lifecycle import run_workload

    return run_workload(amain, dict(os.environ if env is None else env), log.name)


if __name__ == "__main__":
    raise SystemExit(main())
