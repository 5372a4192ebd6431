"""The operator's view of the chain: the shared async client plus metrics and spans.

Every chain call goes through :meth:`Chain.call`, which counts it, times it and wraps it in an
OpenTelemetry span. Keypairs pass straight through to the client; nothing here logs arguments.
"""

from __future__ import annotations

import time
from typing import Any

from subnetes.chain.client import AsyncChainClient
from subnetes.chain.errors import ChainError

from . import metrics
from .tracing import tracer

__all__ = ["Chain", "ChainError"]


class Chain:
    """Instrumented facade over :class:`AsyncChainClient` (one per operator process)."""

    def __init__(self, endpoint: str, client: AsyncChainClient | None = None) -> None:
        self.endpoint = endpoint
        self.client = client or AsyncChainClient(endpoint, timeout=60.0)

    async def close(self) -> None:
        await self.client.aclose()

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``client.<name>(*args, **kwargs)`` with a span and metrics."""
        fn = getattr(self.client, name)
        start = time.perf_counter()
        with tracer.start_as_current_span(f"chain.{name}") as span:
            try:
                out = await fn(*args, **kwargs)
            except ChainError as e:
                metrics.CHAIN_CALLS.labels(name, e.name).inc()
                span.set_attribute("chain.error", e.name)
                raise
            except Exception:
                metrics.CHAIN_CALLS.labels(name, "transport").inc()
                raise
            finally:
                metrics.CHAIN_SECONDS.labels(name).observe(time.perf_counter() - start)
        metrics.CHAIN_CALLS.labels(name, "ok").inc()
        return out

    # Reads used by the reconcilers -------------------------------------------------------------

    async def head(self) -> int:
        return int((await self.call("network"))["block"])

    async def subnet(self, netuid: int) -> dict[str, Any] | None:
        try:
            return await self.call("subnet", netuid)
        except ChainError as e:
            if e.name in ("NotFound", "SubNetworkDoesNotExist"):
                return None
            raise

    async def registrations(self, hotkey: str) -> dict[int, int]:
        """netuid -> uid for every subnet the hotkey is registered on."""
        hk = await self.call("hotkey", hotkey)
        return {int(r["netuid"]): int(r["uid"]) for r in (hk or {}).get("registrations", [])}

    async def neuron(self, netuid: int, uid: int) -> dict[str, Any] | None:
        """One metagraph row (u16 fractions, rao), or None."""
        mg = await self.call("metagraph", netuid)
        for row in mg.get("neurons", []):
            if int(row["uid"]) == uid:
                return row
        return None
