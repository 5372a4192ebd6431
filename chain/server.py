"""Run the chain service: open the ledger, compile the epoch, start block production, serve the
API (uvicorn)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import uvicorn

from . import failover as failover_mod
from . import snapshot
from .api import create_app
from .http_edge import EdgeH11Protocol
from .ledger import Ledger
from .node import Node
from .params import DEV_SUDO_SS58, ChainConfig
from .warmup import Warmup, consensus_overridden, enable_cache

log = logging.getLogger("subnetes.chain")
SERVICE_NAME = "subnetes-chain"


class DevProfileOnNetwork(ValueError):
    """The dev profile (faucet, the well-known //Alice sudo key) on a non-loopback address."""


def setup_tracing(exporter: str | None, env: Mapping[str, str] | None = None) -> bool:
    """OpenTelemetry traces for block production and epochs: ``exporter`` (``--trace-exporter``:
    none, console or otlp) or else the standard OTEL_* variables; off by default. Raises
    ValueError for an unknown exporter. See :mod:`subnetes.sdk.tracing`."""
    from subnetes.sdk.tracing import setup_tracing as setup

    return setup(SERVICE_NAME, exporter=exporter, env=env)


def is_loopback(host: str) -> bool:
    """True when ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost). Any other
    name or address, the wildcard ones included, counts as reachable from the network."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def dev_features(config: ChainConfig) -> list[str]:
    """What makes a genesis configuration unsafe on a network: anyone can mint TAO (the
    faucet), anyone can act as sudo (the well-known //Alice key)."""
    out = []
    if config.faucet_enabled:
        out.append("a faucet anyone can call")
    if config.sudo_key == DEV_SUDO_SS58:
        out.append("the well-known //Alice sudo key")
    return out


def profile_line(config: ChainConfig) -> str:
    """One line saying which profile runs (logged at start)."""
    dev = dev_features(config)
    if dev:
        return f"profile {config.profile}: DEVELOPMENT ONLY ({', '.join(dev)})"
    return f"profile {config.profile}"


def check_bind(config: ChainConfig, host: str, allow_dev_on_network: bool = False) -> None:
    """Refuse (DevProfileOnNetwork) to serve a dev configuration on a non-loopback address
    unless ``allow_dev_on_network`` says so explicitly. Checked before anything binds."""
    dev = dev_features(config)
    if dev and not allow_dev_on_network and not is_loopback(host):
        raise DevProfileOnNetwork(
            f"refusing to serve the {config.profile!r} profile ({', '.join(dev)}) on {host}, "
            "a non-loopback address: anyone who reaches it can mint TAO and act as sudo. "
            "Use --profile default (and genesis balances), bind to 127.0.0.1, or pass "
            "--allow-dev-on-network for a throwaway development network"
        )


def freeze_loaded_state() -> None:
    """Take every object alive now, the loaded chain state above all, out of the cyclic garbage
    collector's full collections: at 128 subnets x 256 UIDs one walked the whole state (about
    130 ms CPU) in the middle of whichever block set it off. The state lives as long as the
    process; reference counting still frees what a block replaces."""
    gc.collect()
    gc.freeze()


async def serve(
    config: ChainConfig,
    db: str | None,
    host: str = "127.0.0.1",
    port: int = 9944,
    block_time: float | None = None,
    manual: bool = False,
    ready_file: str | None = None,
    allow_dev_on_network: bool = False,
    jax_cache_dir: str | None = None,
    precompile: bool = True,
    body_timeout: float | None = None,
    failover: bool = False,
    takeover_after: float | None = None,
    advertise_url: str | None = None,
    **uvicorn_kw: Any,
) -> None:
    """Serve until cancelled. ``block_time`` defaults to the genesis config's.

    Order: refuse a dev profile on a network address (the requested profile, and again the
    database's own once opened: an existing database keeps its genesis profile), open the
    ledger, start answering HTTP (``/readyz`` 503), compile the epoch for the shapes the state
    needs (JAX persistent cache in ``jax_cache_dir``), then start block production (ready).

    ``failover``: one of two replicas on one PostgreSQL database (chain/failover.py): it leads
    if the leader lock is free, else stands by, serving reads, until the leader is gone (or
    has missed heartbeats for ``takeover_after`` seconds)."""
    check_bind(config, host, allow_dev_on_network)
    # The first block's slot counts from here: start-up work (the state load, the epoch's
    # compile) runs inside the first block time instead of before it.
    first_at = time.monotonic()
    jax_consensus = not consensus_overridden()
    warmup = Warmup() if precompile and jax_consensus else None
    # JAX's import and cache set-up start now, on the warm-up thread, while the state loads.
    jax_ready = warmup.begin(jax_cache_dir) if warmup is not None else None
    try:
        ledger, fence, leads, bound = await _open_ledger(
            config, db, failover, manual, block_time, takeover_after, advertise_url, host, port
        )
    except BaseException:
        if warmup is not None:
            warmup.close()
        raise
    freeze_loaded_state()
    try:
        check_bind(ledger.config, host, allow_dev_on_network)
    except DevProfileOnNetwork:
        if warmup is not None:
            warmup.close()
        if ledger.storage:
            ledger.storage.close()
        raise
    log.info("%s", profile_line(ledger.config))
    bt = block_time if block_time is not None else ledger.config.block_time_ms / 1000
    node = Node(ledger, bt, manual=manual)
    replica = failover_mod.Replica(node, fence, bound, leads) if fence is not None else None
    app = create_app(node, **({"body_timeout": body_timeout} if body_timeout else {}))
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            http=EdgeH11Protocol.with_header_timeout(body_timeout),
            **uvicorn_kw,
        )
    )
    log.info(
        "chain %s at block %d on http://%s:%d", ledger.genesis_hash, ledger.head.number, host, port
    )
    serving = asyncio.create_task(server.serve())
    if ready_file:
        # The file promises a listening server: scripts connect as soon as it appears.
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:
            with open(ready_file + ".tmp", "w") as f:
                f.write(f"http://{host}:{port}\n")
            os.replace(ready_file + ".tmp", ready_file)
    watch: asyncio.Task[None] | None = None
    replicating: asyncio.Task[None] | None = None
    try:
        if replica is not None:  # lead (heartbeats from now) or follow while compiling
            replicating = asyncio.create_task(replica.run())
            node.ready = True  # a replica serves reads from the start
        if jax_ready is not None:
            cache: object = await asyncio.wrap_future(jax_ready)  # type: ignore[arg-type]
            log.info("JAX compilation cache: %s", cache)
        elif jax_consensus:
            log.info("JAX compilation cache: %s", enable_cache(jax_cache_dir))
        if warmup is not None:
            # Compile before the first block, not on the block path (the HTTP API answers
            # meanwhile; /readyz says not ready until block production starts).
            log.info("compiling the epoch before block production")
            compiling = asyncio.ensure_future(warmup.start_up(ledger.state, ledger.head.number + 1))
            await asyncio.wait({serving, compiling}, return_when=asyncio.FIRST_COMPLETED)
            if serving.done():
                compiling.cancel()
                return
            await compiling
            watch = asyncio.create_task(_watch_shapes(node, warmup))
        if replica is not None and replicating is not None:
            replica.warm.set()
            await asyncio.wait({serving, replicating}, return_when=asyncio.FIRST_COMPLETED)
            if replicating.done():
                replicating.result()  # a replica never stops by itself: raise its error
        elif not serving.done():
            node.start(first_at=first_at + node.block_time)
        await serving
    finally:
        for task in (replicating, watch, serving):
            if task and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if warmup is not None:
            warmup.close()
        await node.stop()
        if ledger.storage:
            if fence is None:  # a single chain: the next start reads one value (snapshot.py)
                _save_snapshot(ledger)
            ledger.storage.close()


async def _open_ledger(
    config: ChainConfig,
    db: str | None,
    failover: bool,
    manual: bool,
    block_time: float | None,
    takeover_after: float | None,
    advertise_url: str | None,
    host: str,
    port: int,
) -> tuple[Ledger, failover_mod.Fence | None, bool, float]:
    """The ledger (a single chain: from its clean stop's snapshot when that is the head's),
    and for ``failover`` the fence, whether this replica leads, and the takeover bound."""
    if not failover:
        return Ledger.open(config, db, snapshot=True), None, True, 0.0
    if manual:
        raise ValueError("--failover needs timed block production (not --manual)")
    bt0 = block_time if block_time is not None else config.block_time_ms / 1000
    bound = failover_mod.takeover_bound(bt0, takeover_after)
    fence = failover_mod.Fence(
        failover_mod.failover_target(db),
        failover_mod.new_node_id(),
        advertise_url or f"http://{host}:{port}",
    )
    try:
        ledger, leads = await failover_mod.open_replica_ledger(
            config, str(db), fence, min(bt0, bound / 4, 1.0)
        )
    except BaseException:
        fence.close()
        raise
    return ledger, fence, leads, bound


def _save_snapshot(ledger: Ledger) -> None:
    """Write the committed state's snapshot at a clean stop; a failure only costs the next
    start its speed (it reads the chunks)."""
    assert ledger.storage is not None
    try:
        snapshot.save(ledger.storage, ledger.state, ledger.head)
    except Exception:
        log.exception("state snapshot not written: the next start reads the state chunks")


async def _watch_shapes(node: Node, warmup: Warmup) -> None:
    """After every committed block: compile shapes the grown state now needs, off the block
    path (a new subnet size would otherwise compile during its first epoch)."""
    seen = node.ledger.head.number
    while True:
        await node.wait_block(seen, timeout=60.0)
        await node.committed()
        head = node.ledger.head.number
        if head == seen:
            continue
        seen = head
        try:
            warmup.check(node.ledger.state, head + 1)
        except Exception:  # never let the watcher take the service down
            log.exception("epoch shape check failed")


def run(config: ChainConfig, db: str | None, **kw: Any) -> None:
    """Blocking entry point (the CLI's ``subnetes chain run``)."""
    asyncio.run(serve(config, db, **kw))
