"""Run the chain service: open the ledger, start block production, serve the API (uvicorn)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from typing import Any

import uvicorn

from .api import create_app
from .ledger import Ledger
from .node import Node
from .params import ChainConfig

log = logging.getLogger("subnetes.chain")
SERVICE_NAME = "subnetes-chain"


def setup_tracing(exporter: str | None, env: Mapping[str, str] | None = None) -> bool:
    """OpenTelemetry traces for block production and epochs: ``exporter`` (``--trace-exporter``:
    none, console or otlp) or else the standard OTEL_* variables; off by default. Raises
    ValueError for an unknown exporter. See :mod:`subnetes.sdk.tracing`."""
    from subnetes.sdk.tracing import setup_tracing as setup

    return setup(SERVICE_NAME, exporter=exporter, env=env)


async def serve(
    config: ChainConfig,
    db: str | None,
    host: str = "127.0.0.1",
    port: int = 9944,
    block_time: float | None = None,
    manual: bool = False,
    ready_file: str | None = None,
    **uvicorn_kw: Any,
) -> None:
    """Serve until cancelled. ``block_time`` defaults to the genesis config's."""
    ledger = Ledger.open(config, db)
    bt = block_time if block_time is not None else ledger.config.block_time_ms / 1000
    node = Node(ledger, bt, manual=manual)
    app = create_app(node)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", **uvicorn_kw)
    )
    node.start()
    log.info(
        "chain %s at block %d on http://%s:%d", ledger.genesis_hash, ledger.head.number, host, port
    )
    if ready_file:
        with open(ready_file + ".tmp", "w") as f:
            f.write(f"http://{host}:{port}\n")
        os.replace(ready_file + ".tmp", ready_file)
    try:
        await server.serve()
    finally:
        await node.stop()
        if ledger.storage:
            ledger.storage.close()


def run(config: ChainConfig, db: str | None, **kw: Any) -> None:
    """Blocking entry point (the CLI's ``subnetes chain run``)."""
    asyncio.run(serve(config, db, **kw))
