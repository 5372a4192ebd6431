"""Blocks are built on the block thread: a slow epoch does not stall the API, and requests
that read state wait for the commit (they never see a half-built block)."""

from __future__ import annotations

import asyncio
import time

import httpx

from subnetes.chain.api import create_app

from .conftest import slow_epoch_node

EPOCH_SECONDS = 1.0


async def test_slow_epoch_keeps_probes_answering_and_reads_committed() -> None:
    node, in_epoch = slow_epoch_node(EPOCH_SECONDS)
    app = create_app(node)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chain") as client:
        for _ in range(30):  # tempo 10: an epoch block comes within 11 blocks
            before = node.ledger.head.number
            block = asyncio.create_task(node.produce_async())
            while not block.done() and not in_epoch.is_set():
                await asyncio.sleep(0.005)
            if in_epoch.is_set():
                break
            await block
        assert in_epoch.is_set() and not block.done()

        t0 = time.monotonic()
        health = await client.get("/healthz")
        metrics = await client.get("/metrics")
        answered = time.monotonic() - t0
        assert health.status_code == 200 and metrics.status_code == 200
        assert not block.done(), "probes waited for the block"
        assert answered < EPOCH_SECONDS / 2

        latest = await client.get("/v1/blocks/latest")  # waits for the commit
        assert block.done()
        assert latest.json()["number"] == before + 1 == (await block).number
        events = [e["type"] for e in latest.json()["events"]]
        assert "EpochResult" in events
