"""Keeps a gateway's pool in step with the chain: one metagraph read at start, then the event
stream (``GET /v1/events``, resumed from the block the read saw), with a full re-read now and
then in case the stream missed something.

- ``NeuronDeregistered`` (a UID pruned and replaced, or its subnet removed): the old hotkey
  leaves the pool at once, in the block that pruned it; the new one comes with the re-read.
- ``EpochResult``: the epoch's incentive and trust are applied from the event itself.
- ``NeuronRegistered`` / ``AxonServed``: the metagraph is re-read (the axon is in the row).
- ``SubnetDeregistered``: the pool empties.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import httpx

from subnetes.chain.client import AsyncChainClient
from subnetes.sdk.backoff import Backoff, sleep_or_stop
from subnetes.wire.errors import ChainError
from subnetes.wire.events import EventKind

from .pool import Pool

log = logging.getLogger("subnetes.gateway.watcher")

_RELOAD = {EventKind.NEURON_REGISTERED, EventKind.AXON_SERVED}


class Watcher:
    """Feeds ``pool`` from the chain at ``client`` for subnet ``netuid``."""

    def __init__(
        self,
        client: AsyncChainClient,
        netuid: int,
        pool: Pool,
        *,
        refresh_s: float = 30.0,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.netuid = netuid
        self.pool = pool
        self.refresh_s = refresh_s
        self.on_change = on_change or (lambda: None)
        self.loaded = False
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def load(self) -> int:
        """Read the metagraph and apply it; returns its block. Raises on chain trouble."""
        mg = await self.client.metagraph(self.netuid)
        gone = self.pool.update(mg["neurons"], int(mg["block"]))
        if gone:
            log.info("miners left the pool", extra={"uids": sorted(gone), "block": mg["block"]})
        self.loaded = True
        self.on_change()
        return int(mg["block"])

    async def load_until_ok(self, stop: asyncio.Event) -> int | None:
        """``load`` with backoff until it works (None: stopped first)."""
        backoff, attempt = Backoff(base_s=0.2, cap_s=5.0), 0
        while not stop.is_set():
            try:
                return await self.load()
            except (ChainError, httpx.HTTPError, KeyError, ValueError) as e:
                log.warning("metagraph read failed", extra={"error": str(e)})
                if await sleep_or_stop(stop, backoff.delay(attempt)):
                    return None
                attempt += 1
        return None

    def apply(self, ev: dict[str, Any]) -> None:
        """Fold one chain event into the pool (events of other subnets are ignored)."""
        kind = ev.get("type")
        if kind == EventKind.BLOCK or ev.get("netuid") != self.netuid:
            return
        if kind == EventKind.NEURON_DEREGISTERED:
            if self.pool.remove(int(ev["uid"]), str(ev["hotkey"])):
                log.info(
                    "miner left the pool (deregistered)",
                    extra={"uid": ev["uid"], "block": ev.get("block")},
                )
                self.on_change()
            self._dirty.set()
        elif kind == EventKind.EPOCH_RESULT:
            self.pool.apply_scores(ev.get("uids", []), int(ev.get("block", -1)))
            self.on_change()
        elif kind in _RELOAD:
            self._dirty.set()
        elif kind == EventKind.SUBNET_DEREGISTERED:
            self.pool.clear()
            self.on_change()

    async def run(self, stop: asyncio.Event) -> None:
        """Load, then follow events and re-read when needed, until ``stop``."""
        block = await self.load_until_ok(stop)
        if block is None:
            return
        self._tasks = [
            asyncio.create_task(self._follow(block + 1)),
            asyncio.create_task(self._reloader(stop)),
        ]
        try:
            await stop.wait()
        finally:
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _follow(self, from_block: int) -> None:
        while True:
            try:
                async for ev in self.client.events(from_block=from_block):
                    self.apply(ev)
            except (ChainError, httpx.HTTPError) as e:
                log.warning("event stream failed; re-reading", extra={"error": str(e)})
                self._dirty.set()
                await asyncio.sleep(1.0)

    async def _reloader(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), self.refresh_s)
            self._dirty.clear()
            with contextlib.suppress(ChainError, httpx.HTTPError, KeyError, ValueError):
                await self.load()
