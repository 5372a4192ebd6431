"""Health endpoints for workloads that serve nothing else (validators), for kubelet probes.

``GET /healthz`` (liveness) answers 200 whenever the event loop runs: a wedged loop (CPU-bound
code on it, a deadlock) times the probe out and the kubelet restarts the container, while a
chain outage does not (the validator then waits and retries; restarting would not help).
``GET /readyz`` (readiness) answers 200 once ``ready()`` is true, 503 before, with details.
Miners need none of this: their axon serves ``GET /healthz`` on the axon port.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

log = logging.getLogger("subnetes.sdk.health")

DEFAULT_HEALTH_PORT = 8090


class HealthServer:
    """Serves /healthz and /readyz on ``ip:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        ip: str,
        port: int,
        ready: Callable[[], bool],
        details: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.ip = ip
        self.port = port
        self.ready = ready
        self.details = details or dict
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def start(self) -> None:
        """Bind and serve in the running event loop."""
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.ip, self.port).start()
        self.port = self._runner.addresses[0][1]
        log.info("health endpoints served", extra={"addr": f"{self.ip}:{self.port}"})

    async def stop(self) -> None:
        """Close the socket."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _req: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _readyz(self, _req: web.Request) -> web.Response:
        ready = bool(self.ready())
        return web.json_response({"ready": ready, **self.details()}, status=200 if ready else 503)
