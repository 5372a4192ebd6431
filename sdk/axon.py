"""The miner's axon: an aiohttp server that answers typed, signed requests from validators.

Every route except ``GET /healthz`` requires a request signed by a hotkey that is registered on
the subnet and holds a validator permit (see ``signing``); the permitted set comes from the
metagraph, refreshed in the background. Requests and responses are pydantic models as JSON.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from bittensor_wallet import Keypair
from pydantic import BaseModel, ValidationError

from .backoff import Backoff, sleep_or_stop
from .chain import ChainAPI, ChainError, Metagraph
from .signing import AuthError, ReplayGuard, parse_headers, verify_signature
from .telemetry import AxonMetrics, tracer

log = logging.getLogger("subnetes.sdk.axon")

MAX_REQUEST_BYTES = 1 << 20


@dataclass(frozen=True)
class Caller:
    """The authenticated validator behind a request."""

    hotkey: str
    uid: int
    stake: int


Handler = Callable[[Any, Caller], Awaitable[BaseModel]]


class Refused(Exception):
    """Raised by a handler to refuse a request with a 4xx and a reason (e.g. too large)."""

    def __init__(self, name: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.name, self.message, self.status = name, message, status


@dataclass(frozen=True)
class Route:
    """``POST /<name>``: body parsed as ``request_model``, answered by ``handler``."""

    name: str
    request_model: type[BaseModel]
    handler: Handler


def _error(status: int, name: str, message: str) -> web.Response:
    return web.json_response({"error": name, "message": message}, status=status)


class Axon:
    """A signed-request HTTP server for one miner hotkey on one subnet."""

    def __init__(
        self,
        keypair: Keypair,
        netuid: int,
        chain: ChainAPI,
        *,
        ip: str = "127.0.0.1",
        port: int = 0,
        refresh_s: float = 12.0,
        require_permit: bool = True,
        window_s: float = 30.0,
        metrics: AxonMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hotkey = keypair.ss58_address
        self.netuid = netuid
        self.chain = chain
        self.ip = ip
        self.port = port
        self.refresh_s = refresh_s
        self.require_permit = require_permit
        self.guard = ReplayGuard(window_s)
        self.metrics = metrics or AxonMetrics()
        self.clock = clock
        self.metagraph: Metagraph | None = None
        self.routes: dict[str, Route] = {}
        self._runner: web.AppRunner | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._registered: bool | None = None
        self._last_miss_refresh = float("-inf")

    def route(self, name: str, request_model: type[BaseModel], handler: Handler) -> None:
        """Serve ``handler`` at ``POST /<name>``."""
        self.routes[name] = Route(name, request_model, handler)

    # -- server lifecycle -------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_post("/{route}", self._dispatch)
        return app

    async def start(self) -> None:
        """Load the metagraph (best effort), bind, and start refreshing in the background."""
        await self.refresh()
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.ip, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._refresher = asyncio.create_task(self._refresh_loop())
        log.info(
            "axon serving",
            extra={
                "addr": f"{self.ip}:{self.port}",
                "hotkey": self.hotkey,
                "netuid": self.netuid,
                "routes": sorted(self.routes),
            },
        )

    async def stop(self) -> None:
        """Stop refreshing, finish in-flight requests (up to 5 s), close the socket."""
        self._stop.set()
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        log.info("axon stopped", extra={"hotkey": self.hotkey})

    # -- metagraph --------------------------------------------------------------------------

    async def refresh(self) -> bool:
        """Reload the metagraph; keep the last one when the chain is unreachable."""
        try:
            mg = await self.chain.metagraph(self.netuid)
        except ChainError as e:
            log.warning("metagraph refresh failed", extra={"error": str(e)})
            return False
        self.metagraph = mg
        neuron = mg.by_hotkey(self.hotkey)
        registered = neuron is not None
        if registered != self._registered:  # report changes, not every refresh
            self._registered = registered
            if neuron is not None:
                log.info("registered", extra={"uid": neuron.uid, "block": mg.block})
            else:
                log.warning(
                    "hotkey not registered on the subnet; serving anyway and waiting",
                    extra={"hotkey": self.hotkey, "netuid": self.netuid},
                )
        return True

    async def _refresh_loop(self) -> None:
        failures = 0
        while True:
            delay = (
                self.refresh_s if failures == 0 else Backoff(cap_s=self.refresh_s).delay(failures)
            )
            if await sleep_or_stop(self._stop, delay):
                return
            failures = 0 if await self.refresh() else failures + 1

    # -- requests ---------------------------------------------------------------------------

    async def _healthz(self, _req: web.Request) -> web.Response:
        return web.json_response(
            {
                "ok": True,
                "metagraph": self.metagraph is not None,
                "registered": bool(self._registered),
            }
        )

    async def authenticate(self, req: web.Request, body: bytes) -> Caller:
        """Check signature, caller and freshness of a request; raise AuthError otherwise."""
        h = parse_headers(req.headers)
        if h.netuid != self.netuid:
            raise AuthError("WrongNetuid", f"this axon serves netuid {self.netuid}")
        if h.receiver != self.hotkey:
            raise AuthError("WrongReceiver", "request was signed for another hotkey")
        now = self.clock()
        self.guard.check_time(h.timestamp_ms, now)
        mg = self.metagraph
        if mg is None:
            raise AuthError("MetagraphUnavailable", "metagraph not loaded yet", status=503)
        caller = mg.by_hotkey(h.signer)
        if caller is None and now - self._last_miss_refresh >= self.refresh_s / 4:
            # A validator registered since the last refresh: look again, at most now and then.
            self._last_miss_refresh = now
            if await self.refresh() and self.metagraph is not None:
                caller = self.metagraph.by_hotkey(h.signer)
        if caller is None:  # cheap checks before the signature: unknown keys cost no crypto
            raise AuthError("UnknownHotkey", "signer is not registered on this subnet", 403)
        if self.require_permit and not caller.validator_permit:
            raise AuthError("NoValidatorPermit", "signer has no validator permit", 403)
        verify_signature(h, req.method, req.path, body)
        self.guard.check_and_remember(h.signer, h.nonce, now)  # only after a valid signature
        return Caller(caller.hotkey, caller.uid, caller.stake)

    async def _dispatch(self, req: web.Request) -> web.Response:
        name = req.match_info["route"]
        route = self.routes.get(name)
        if route is None:
            return _error(404, "UnknownRoute", f"no route {name!r}")
        self.metrics.in_flight.inc()
        try:
            resp = await self._handle(req, route)
        finally:
            self.metrics.in_flight.dec()
        self.metrics.requests.labels(name, str(resp.status)).inc()
        return resp

    async def _handle(self, req: web.Request, route: Route) -> web.Response:
        body = await req.read()
        try:
            caller = await self.authenticate(req, body)
        except AuthError as e:
            self.metrics.rejected.labels(e.name).inc()
            log.info(
                "request refused",
                extra={
                    "route": route.name,
                    "reason": e.name,
                    "signer": req.headers.get("X-Subnetes-Signer"),
                },
            )
            return _error(e.status, e.name, e.message)
        try:
            request = route.request_model.model_validate_json(body)
        except ValidationError as e:
            return _error(
                400, "BadRequest", e.errors(include_url=False, include_input=False).__repr__()[:500]
            )
        t0 = time.perf_counter()
        with tracer.start_as_current_span(f"axon {route.name}") as span:
            span.set_attribute("subnetes.caller_uid", caller.uid)
            try:
                response = await route.handler(request, caller)
            except Refused as e:
                return _error(e.status, e.name, e.message)
            except Exception as e:  # a handler bug answers 500; details stay in our logs
                log.exception("handler failed", extra={"route": route.name})
                span.record_exception(e)
                return _error(500, "HandlerError", "the miner failed to answer")
        self.metrics.duration.labels(route.name).observe(time.perf_counter() - t0)
        return web.Response(
            body=response.model_dump_json().encode(), content_type="application/json"
        )
