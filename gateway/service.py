"""The gateway's HTTP service (aiohttp, like the SDK's axon).

- ``POST /v1/<capability>``: an API key (``Authorization: Bearer <key>`` or ``X-API-Key``), a
  JSON body of the capability's request model; answers the verified miner answer, with
  ``X-Subnetes-Uid`` / ``X-Subnetes-Hotkey`` / ``X-Subnetes-Attempts`` headers. Errors are JSON
  ``{"error": <name>, "message": ...}``: 401 MissingKey/BadKey, 429 RateLimited (Retry-After),
  404 UnknownCapability, 413 TooLarge, 400 BadRequest, 403 QuotaExceeded; 503 NoMiners,
  502 NoVerifiedAnswer, 504 DeadlineExceeded. ``X-Subnetes-Deadline-Ms`` may shorten the
  deadline.
- ``GET /v1/capabilities``, ``GET /v1/pool`` (routing state), ``GET /v1/quality`` (organic
  quality per miner, read by validators through ``subnetes.sdk.organic``).
- ``GET /healthz``, ``GET /readyz`` (ready once the metagraph was read), ``GET /metrics``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from bittensor_wallet import Keypair
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from subnetes.chain.client import AsyncChainClient
from subnetes.sdk.dendrite import Dendrite, QueryResult
from subnetes.sdk.telemetry import tracer

from .auth import KeyRing
from .capabilities import Capability
from .dispatch import Attempt, DispatchPolicy, dispatch
from .metrics import GatewayMetrics
from .pool import Miner, Outcome, Pool, RoutingPolicy
from .watcher import Watcher

log = logging.getLogger("subnetes.gateway")

_DISPATCH_STATUS = {"NoMiners": 503, "NoVerifiedAnswer": 502, "DeadlineExceeded": 504}


def _error(
    status: int, name: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": name, "message": message}, status=status, headers=headers)


def presented_key(req: web.Request) -> str | None:
    """The API key a request presents (Bearer token or X-API-Key)."""
    auth = req.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return req.headers.get("X-API-Key") or None


class Gateway:
    """One subnet's gateway: a pool fed by the chain, a keyring, capabilities, a dendrite."""

    def __init__(
        self,
        keypair: Keypair,
        netuid: int,
        chain: AsyncChainClient,
        keyring: KeyRing,
        capabilities: dict[str, Capability],
        *,
        routing: RoutingPolicy | None = None,
        policy: DispatchPolicy | None = None,
        ip: str = "127.0.0.1",
        port: int = 0,
        max_body_bytes: int = 65536,
        refresh_s: float = 30.0,
        metrics: GatewayMetrics | None = None,
        dendrite: Dendrite | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hotkey = keypair.ss58_address
        self.netuid = netuid
        self.chain = chain
        self.keyring = keyring
        self.capabilities = capabilities
        self.policy = policy or DispatchPolicy()
        self.ip, self.port = ip, port
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics or GatewayMetrics()
        self.dendrite = dendrite or Dendrite(keypair, netuid, max_concurrency=256)
        self.clock = clock
        self.pool = Pool(routing or RoutingPolicy(), exclude_hotkey=self.hotkey)
        self.watcher = Watcher(
            chain, netuid, self.pool, refresh_s=refresh_s, on_change=self._pool_changed
        )
        self.rng = random.Random()
        self._stop = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        # The body limit is checked by the handler (a JSON 413); aiohttp's own is a backstop.
        app = web.Application(client_max_size=self.max_body_bytes + 1)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/v1/capabilities", self._list_capabilities)
        app.router.add_get("/v1/pool", self._pool)
        app.router.add_get("/v1/quality", self._quality)
        app.router.add_post("/v1/{capability}", self._work)
        return app

    async def start(self) -> None:
        """Bind, and start following the chain (requests answer 503 until the first read)."""
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.ip, self.port).start()
        self.port = self._runner.addresses[0][1]
        self._watch = asyncio.create_task(self.watcher.run(self._stop))
        log.info(
            "gateway serving",
            extra={
                "addr": f"{self.ip}:{self.port}",
                "netuid": self.netuid,
                "hotkey": self.hotkey,
                "capabilities": sorted(self.capabilities),
            },
        )

    async def stop(self) -> None:
        """Stop following the chain, finish in-flight requests (up to 5 s), close."""
        self._stop.set()
        if self._watch is not None:
            await asyncio.gather(self._watch, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.dendrite.close()
        await self.chain.aclose()

    def _pool_changed(self) -> None:
        self.metrics.pool_size.set(len(self.pool.miners))
        self.metrics.pool_block.set(self.pool.block)

    # -- reads --------------------------------------------------------------------------------

    async def _healthz(self, _req: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _readyz(self, _req: web.Request) -> web.Response:
        ready = self.watcher.loaded
        body = {"ready": ready, "block": self.pool.block, "miners": len(self.pool.miners)}
        return web.json_response(body, status=200 if ready else 503)

    async def _metrics(self, _req: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def _list_capabilities(self, _req: web.Request) -> web.Response:
        caps = [
            {"name": c.name, "route": c.route, "request": c.request_model.model_json_schema()}
            for c in self.capabilities.values()
        ]
        return web.json_response({"netuid": self.netuid, "capabilities": caps})

    async def _pool(self, _req: web.Request) -> web.Response:
        return web.json_response(
            {
                "netuid": self.netuid,
                "block": self.pool.block,
                "miners": self.pool.snapshot(self.clock()),
            }
        )

    async def _quality(self, _req: web.Request) -> web.Response:
        miners = [
            {
                "uid": m.uid,
                "hotkey": m.hotkey,
                "quality": m.quality,
                "verified": m.counts[Outcome.OK.value],
                "wrong": m.counts[Outcome.WRONG.value],
                "failed": m.counts[Outcome.TIMEOUT.value] + m.counts[Outcome.ERROR.value],
                "latency_ewma_s": m.latency_ewma,
            }
            for m in sorted(self.pool.miners.values(), key=lambda m: m.uid)
            if m.quality is not None
        ]
        return web.json_response(
            {"netuid": self.netuid, "block": self.pool.block, "miners": miners}
        )

    # -- work ---------------------------------------------------------------------------------

    def _refuse(self, cap: str, status: int, name: str, message: str, **kw: Any) -> web.Response:
        self.metrics.requests.labels(cap, str(status), name).inc()
        return _error(status, name, message, **kw)

    async def _work(self, req: web.Request) -> web.Response:
        name = req.match_info["capability"]
        label = name if name in self.capabilities else "unknown"
        key = presented_key(req)
        now = self.clock()
        self.keyring.maybe_reload()
        d = self.keyring.admit(key or "", now)
        if not d.ok:
            headers = (
                {"Retry-After": str(max(1, round(d.retry_after_s)))} if d.status == 429 else None
            )
            return self._refuse(label, d.status, d.error, d.message, headers=headers)
        cap = self.capabilities.get(name)
        if cap is None:
            return self._refuse(
                label, 404, "UnknownCapability",
                f"no capability {name!r}; this gateway serves {sorted(self.capabilities)}",
            )  # fmt: skip
        if (req.content_length or 0) > self.max_body_bytes:
            return self._refuse(label, 413, "TooLarge", f"body over {self.max_body_bytes} bytes")
        try:
            body = await req.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(label, 413, "TooLarge", f"body over {self.max_body_bytes} bytes")
        if len(body) > self.max_body_bytes:
            return self._refuse(label, 413, "TooLarge", f"body over {self.max_body_bytes} bytes")
        try:
            request = cap.request_model.model_validate_json(body)
        except ValidationError as e:
            detail = "; ".join(
                f"{'.'.join(map(str, err['loc'])) or 'body'}: {err['msg']}"
                for err in e.errors(include_url=False, include_input=False)[:5]
            )
            return self._refuse(label, 400, "BadRequest", detail[:500])
        if why := cap.too_large(request):
            return self._refuse(label, 413, "TooLarge", why)
        policy = self.policy
        raw_deadline = req.headers.get("X-Subnetes-Deadline-Ms")
        if raw_deadline is not None:
            try:
                ms = int(raw_deadline)
                if ms < 1:
                    raise ValueError
            except ValueError:
                return self._refuse(
                    label, 400, "BadRequest", "X-Subnetes-Deadline-Ms must be a positive integer"
                )
            policy = DispatchPolicy(
                min(policy.deadline_s, ms / 1000), policy.retries, policy.hedge_after_s
            )
        charged = self.keyring.charge(key or "", now)
        if not charged.ok:
            return self._refuse(label, charged.status, charged.error, charged.message)
        if not self.watcher.loaded:
            return self._refuse(label, 503, "NoMiners", "the metagraph is not loaded yet")
        return await self._run(cap, request, policy, d.key)

    async def _run(
        self, cap: Capability, request: Any, policy: DispatchPolicy, key_name: str
    ) -> web.Response:
        body = request.model_dump_json().encode()
        t0 = time.perf_counter()

        async def send(m: Miner, timeout: float) -> QueryResult[Any]:
            return await self.dendrite.query(
                m.neuron, cap.route, request, cap.response_model, timeout, body=body
            )

        async def verify(response: Any) -> bool:
            return await asyncio.to_thread(cap.verify, request, response)

        def on_attempt(a: Attempt) -> None:
            uid = str(a.uid)
            self.metrics.miner_outcomes.labels(uid, a.outcome.value).inc()
            if a.latency_s is not None and a.outcome in (Outcome.OK, Outcome.WRONG):
                self.metrics.miner_latency.labels(uid).observe(a.latency_s)
            if a.outcome is Outcome.WRONG:
                self.metrics.verification_failures.labels(uid).inc()
                log.warning(
                    "miner answer failed verification; penalised",
                    extra={"uid": a.uid, "hotkey": a.hotkey, "capability": cap.name},
                )

        with tracer.start_as_current_span(f"gateway {cap.name}") as span:
            span.set_attribute("subnetes.netuid", self.netuid)
            span.set_attribute("subnetes.api_key", key_name)  # the key's name, never the key
            try:
                # Belt and braces: dispatch stops at the deadline; this bounds the rest too.
                async with asyncio.timeout(policy.deadline_s + 1.0):
                    res = await dispatch(
                        self.pool, send, verify, policy, rng=self.rng, clock=self.clock,
                        on_attempt=on_attempt,
                    )  # fmt: skip
            except TimeoutError:
                return self._refuse(cap.name, 504, "DeadlineExceeded", "no answer in time")
            span.set_attribute("subnetes.attempts", len(res.attempts))
            if res.hedged:
                self.metrics.hedges.inc()
            if res.uid is not None:
                span.set_attribute("subnetes.uid", res.uid)
        self.metrics.duration.labels(cap.name).observe(time.perf_counter() - t0)
        if not res.ok:
            status = _DISPATCH_STATUS.get(res.error or "", 502)
            tried = ", ".join(f"{a.uid}:{a.outcome.value}" for a in res.attempts) or "none"
            return self._refuse(
                cap.name, status, res.error or "NoVerifiedAnswer",
                f"no verified answer (miners tried: {tried})",
            )  # fmt: skip
        self.metrics.requests.labels(cap.name, "200", "").inc()
        return web.Response(
            body=res.answer.model_dump_json().encode(),
            content_type="application/json",
            headers={
                "X-Subnetes-Uid": str(res.uid),
                "X-Subnetes-Hotkey": str(res.hotkey),
                "X-Subnetes-Attempts": str(len(res.attempts)),
            },
        )
