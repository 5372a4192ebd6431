"""Running a miner: serve an axon until SIGTERM, then drain and exit."""

from __future__ import annotations

import asyncio
import logging

from .axon import Axon
from .chain import ChainAPI

log = logging.getLogger("subnetes.sdk.miner")


async def serve_until_stopped(axon: Axon, chain: ChainAPI, stop: asyncio.Event) -> None:
    """Start ``axon``, wait for ``stop``, then stop serving (in-flight requests finish)."""
    await axon.start()
    try:
        await stop.wait()
    finally:
        await axon.stop()
        await chain.close()
