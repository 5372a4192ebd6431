"""The operator's liveness probe never waits on the chain (found on the real node: the kubelet
killed a healthy operator, in a loop, while the chain pod was unscheduled or restarting)."""

from __future__ import annotations

import asyncio
import time

from subnetes.operator import handlers
from subnetes.operator.chainlink import Chain


class _Runtime:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain


async def _silent_server() -> tuple[asyncio.Server, int]:
    """A real TCP endpoint on loopback that accepts connections and never answers (a chain
    whose Service has no ready endpoint behaves so through kube-proxy)."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_chain_block_probe_is_bounded_when_the_chain_hangs() -> None:
    server, port = await _silent_server()
    chain = Chain(f"http://127.0.0.1:{port}")
    handlers.STATE["runtime"] = _Runtime(chain)
    try:
        started = time.monotonic()
        assert await handlers.chain_block() is None
        assert time.monotonic() - started < handlers.PROBE_TIMEOUT_S + 1.5
    finally:
        handlers.STATE.pop("runtime", None)
        await chain.close()
        server.close()


async def test_chain_block_probe_without_a_runtime_does_not_fail() -> None:
    handlers.STATE.pop("runtime", None)
    assert await handlers.chain_block() is None
