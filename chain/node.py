"""The running chain: a ledger, a queue of submitted extrinsics, the block timer, and the
subscribers of the event stream. The API runs on one asyncio loop; each block is built on one
block thread (a slow epoch does not stall health checks, metrics or submissions), and requests
that read state wait for its commit, so readers always see a committed block's state."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .admission import Pool, PoolLimits, by_priority
from .block import BlockRecord, Outcome
from .errors import ChainError
from .extrinsic import Extrinsic, parse, verify_signature
from .fees import size_of
from .ledger import Ledger
from .state import Subnet
from .storage import FenceLost
from .units import U16_MAX

log = logging.getLogger("subnetes.chain")
tracer = trace.get_tracer("subnetes.chain")
RECENT_BLOCKS = 2048  # block records kept in memory by a node without storage
# With storage, older blocks are read back from it: at 128 subnets x 256 UIDs a block record
# (epoch results, set_weights bodies) takes about 0.8 MB in memory, so 2048 of them were 1.6 GB.
RECENT_BLOCKS_STORED = 64


class Metrics:
    """Prometheus metrics of one node (own registry, so tests can run several nodes)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.height = Gauge("subnetes_chain_block_height", "Latest committed block", registry=r)
        self.block_seconds = Histogram(
            "subnetes_chain_block_production_seconds",
            "Time to produce and commit a block",
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.epoch_seconds = Histogram(
            "subnetes_chain_epoch_seconds",
            "Time of one batched consensus call",
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.extrinsics = Counter(
            "subnetes_chain_extrinsics_total", "Extrinsics by result", ["result"], registry=r
        )
        self.queue = Gauge(
            "subnetes_chain_queue_length", "Extrinsics waiting for a block", registry=r
        )
        self.epoch_fallbacks = Counter(
            "subnetes_chain_epoch_fallbacks_total",
            "Batched consensus calls that failed and ran on the NumPy reference instead",
            registry=r,
        )
        # For alerts and dashboards (charts/subnetes: PrometheusRule, Grafana dashboards): the
        # target block time and the time of the last commit make "no block for N block times"
        # one comparison; the per-subnet series come from the committed blocks' events.
        self.block_time = Gauge(
            "subnetes_chain_block_time_seconds", "Target seconds per block", registry=r
        )
        # 1 on the node that produces blocks: a single chain always, the leader of two replicas
        # (chain/failover.py); "no replica leads" is one alert (SubnetesChainNoLeader).
        self.leader = Gauge(
            "subnetes_chain_leader",
            "1 while this node produces blocks, 0 while it stands by (failover)",
            registry=r,
        )
        # Wall clock, not the block's own timestamp: that one is genesis time + n x block time,
        # hours behind after an outage, though blocks come again.
        self.last_block = Gauge(
            "subnetes_chain_last_block_timestamp_seconds",
            "Unix time this node committed its latest block (or started)",
            registry=r,
        )
        self.subnet_uids = Gauge(
            "subnetes_chain_subnet_uids", "UIDs registered on a subnet", ["netuid"], registry=r
        )
        self.subnet_tempo = Gauge(
            "subnetes_chain_subnet_tempo_blocks",
            "Blocks between a subnet's epochs",
            ["netuid"],
            registry=r,
        )
        self.epochs = Counter(
            "subnetes_chain_epochs_total", "Epochs run, by subnet", ["netuid"], registry=r
        )
        self.subnet_emission = Counter(
            "subnetes_chain_subnet_emission_rao_total",
            "Rao an epoch paid out on a subnet (owner cut and UIDs)",
            ["netuid"],
            registry=r,
        )
        self.registrations = Counter(
            "subnetes_chain_neuron_registrations_total",
            "Neurons registered, by subnet",
            ["netuid"],
            registry=r,
        )
        self.deregistrations = Counter(
            "subnetes_chain_neuron_deregistrations_total",
            "Neurons deregistered (pruned, replaced or their subnet removed), by subnet",
            ["netuid"],
            registry=r,
        )
        # Per UID, as of the subnet's last epoch (u16 fractions as 0..1, rao): one series per
        # UID slot, so a replaced hotkey reuses its slot's series.
        self.uid_incentive = Gauge(
            "subnetes_chain_uid_incentive", "A UID's incentive", ["netuid", "uid"], registry=r
        )
        self.uid_dividends = Gauge(
            "subnetes_chain_uid_dividends", "A UID's dividends", ["netuid", "uid"], registry=r
        )
        self.uid_emission = Gauge(
            "subnetes_chain_uid_emission_rao",
            "Rao a UID earned in its subnet's last epoch",
            ["netuid", "uid"],
            registry=r,
        )
        self._uids: dict[str, set[str]] = {}  # netuid -> UID labels set (to drop with it)

    def observe_block(
        self, record: BlockRecord, subnets: dict[int, Subnet], new: bool = True
    ) -> None:
        """Update the head and per-subnet series from a committed block (on the event loop,
        while no block is being built); ``new=False`` (the head at start-up, counted before a
        restart) sets the gauges only."""
        self.height.set(record.number)
        self.last_block.set_to_current_time()
        for ev in record.events if new else ():
            kind, netuid = ev.get("type"), str(ev.get("netuid"))
            if kind == "NeuronRegistered":
                self.registrations.labels(netuid).inc()
            elif kind == "NeuronDeregistered":
                self.deregistrations.labels(netuid).inc()
            elif kind == "EpochResult":
                self.epochs.labels(netuid).inc()
                self.subnet_emission.labels(netuid).inc(ev["pending"])
                for row in ev["uids"]:
                    uid = str(row["uid"])
                    self._uids.setdefault(netuid, set()).add(uid)
                    self.uid_incentive.labels(netuid, uid).set(row["incentive"] / U16_MAX)
                    self.uid_dividends.labels(netuid, uid).set(row["dividends"] / U16_MAX)
                    self.uid_emission.labels(netuid, uid).set(row["emission"])
            elif kind == "SubnetDeregistered":
                self._forget_subnet(netuid)
        for n, subnet in subnets.items():
            self.subnet_uids.labels(str(n)).set(len(subnet.neurons))
            self.subnet_tempo.labels(str(n)).set(subnet.hp.tempo)

    def _forget_subnet(self, netuid: str) -> None:
        """Drop a removed subnet's gauges (its counters stay: rates need their history)."""
        for gauge in (self.subnet_uids, self.subnet_tempo):
            with contextlib.suppress(KeyError):
                gauge.remove(netuid)
        for uid in self._uids.pop(netuid, set()):
            for gauge in (self.uid_incentive, self.uid_dividends, self.uid_emission):
                with contextlib.suppress(KeyError):
                    gauge.remove(netuid, uid)


@dataclass
class Pending:
    xt: Extrinsic
    future: asyncio.Future[Outcome] | None
    queued_at: float = field(default_factory=time.monotonic)
    size: int = 0  # bytes of the canonical body (the queue is bounded in bytes)
    fee: int = 0  # fee + tip reserved from the signer's balance while it waits


class Node:
    """Owns the ledger; produces blocks on a timer (or on demand) and fans out events."""

    def __init__(
        self,
        ledger: Ledger,
        block_time: float,
        manual: bool = False,
        limits: PoolLimits | None = None,
    ) -> None:
        self.ledger = ledger
        self.pool = Pool(limits or PoolLimits())  # admission and the queue's bounds
        self.block_time = block_time
        self.manual = manual
        self.metrics = Metrics()
        self.queue: collections.deque[Pending] = collections.deque()
        self.results: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        # hash -> queued or in the block being built: a duplicate body answers its status
        self.waiting: dict[str, Pending] = {}
        self.recent: collections.OrderedDict[int, BlockRecord] = collections.OrderedDict()
        self.keep_recent = RECENT_BLOCKS if ledger.storage is None else RECENT_BLOCKS_STORED
        self._tick = asyncio.Event()  # set (and replaced) whenever a block is committed
        self._producing = asyncio.Lock()  # held while a block is taken, built and committed
        self._builder = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="block")
        self.ready = False
        self._task: asyncio.Task[None] | None = None
        self.replica: Any = None  # chain/failover.py's Replica when one of two replicas
        self._remember(ledger.head)
        self.metrics.block_time.set(block_time)
        self.metrics.observe_block(ledger.head, ledger.state.subnets, new=False)
        inner = ledger.consensus

        def timed(*a: Any, **k: Any) -> Any:  # time every batched epoch call
            from .epoch import _load_consensus, _reference_consensus

            fn: Callable[..., Any] = inner or _load_consensus()
            with tracer.start_as_current_span("epoch") as span, self.metrics.epoch_seconds.time():
                n_uids = getattr(a[0], "n_uids", None) if a else None
                if n_uids is not None:
                    span.set_attribute("epoch.subnets", len(n_uids))
                span.set_attribute("block.number", self.ledger.state.g.block)
                try:
                    return fn(*a, **k)
                except Exception as e:
                    # A failed accelerated call (device lost, out of memory, a compile error)
                    # must not halt the chain: the NumPy reference computes the same epoch
                    # (the JAX path agrees with it within 1e-9). Bad inputs fail there too, and
                    # the block fails as before.
                    log.exception("consensus call failed; this epoch runs on the NumPy reference")
                    span.record_exception(e)
                    self.metrics.epoch_fallbacks.inc()
                    return _reference_consensus()(*a, **k)

        ledger.consensus = timed

    # ---- submission ---------------------------------------------------------------------------
    async def submit(self, body: Any, wait: bool = True) -> tuple[Extrinsic, Outcome | None]:
        """Admit (signature, nonce window, arguments, fee, the queue's bounds: admission.py)
        or refuse now, then queue for a block."""
        try:
            xt = parse(body)
            known = self._duplicate(xt)
            if known is not None:  # the same body again: the original's status, not a retry
                return known
            verify_signature(xt, self.ledger.genesis_hash)
            size = size_of(xt)
            fee = self.pool.admit(self.ledger.state, xt, size)
        except ChainError as e:
            self.metrics.extrinsics.labels(result=e.name).inc()
            raise
        fut: asyncio.Future[Outcome] | None = (
            asyncio.get_running_loop().create_future() if wait else None
        )
        pending = Pending(xt, fut, size=size, fee=fee)
        self.queue.append(pending)
        self.pool.add(pending)
        self.waiting[xt.hash] = pending
        self.metrics.queue.set(len(self.queue))
        if not wait:
            return xt, None
        assert fut is not None
        return xt, await fut

    # ---- blocks -------------------------------------------------------------------------------
    def produce(self) -> BlockRecord:
        """Produce and commit one block from the queue now, on the calling thread (tests and
        tools; the running node uses :meth:`produce_async`)."""
        batch = self._take_batch()
        t0 = time.perf_counter()
        try:
            record, outcomes = self._build(batch)
        except Exception as e:
            self._fail(batch, e)
            raise
        return self._finish(batch, record, outcomes, t0)

    async def produce_async(self) -> BlockRecord:
        """Produce and commit one block with the building (and the epoch's consensus call) on
        the block thread, so the event loop keeps answering health checks, metrics and new
        submissions meanwhile. Requests that read chain state wait for the commit
        (:meth:`committed`), so they still only ever see a committed block."""
        async with self._producing:  # one block at a time (concurrent dev/produce calls)
            batch = self._take_batch()
            t0 = time.perf_counter()
            try:
                loop = asyncio.get_running_loop()
                record, outcomes = await loop.run_in_executor(self._builder, self._build, batch)
            except Exception as e:
                self._fail(batch, e)
                raise
            return self._finish(batch, record, outcomes, t0)

    async def committed(self) -> None:
        """Return when no block is being built (state is the last committed block's)."""
        if self._producing.locked():
            async with self._producing:
                pass

    def _take_batch(self) -> list[Pending]:
        limit = self.ledger.config.max_extrinsics_per_block
        if not self.pool.limits.enabled:  # the old first-come order (benchmarks)
            batch = [self.queue.popleft() for _ in range(min(limit, len(self.queue)))]
        elif len(self.queue) <= limit:
            batch = by_priority(self.queue)
            self.queue.clear()
        else:
            batch = by_priority(self.queue)[:limit]
            taken = {id(p) for p in batch}
            self.queue = collections.deque(p for p in self.queue if id(p) not in taken)
        for p in batch:
            self.pool.remove(p)
        return batch

    def _build(self, batch: list[Pending]) -> tuple[BlockRecord, list[Outcome]]:
        with tracer.start_as_current_span("block") as span:
            try:
                record, outcomes = self.ledger.step([(p.xt, True) for p in batch])
            except Exception:
                log.exception("block production failed")
                raise
            span.set_attribute("block.number", record.number)
            span.set_attribute("block.extrinsics", len(record.extrinsics))
        return record, outcomes

    def _fail(self, batch: list[Pending], e: Exception) -> None:
        for p in batch:
            self.waiting.pop(p.xt.hash, None)
            if p.future and not p.future.done():
                p.future.set_exception(ChainError("BlockProductionFailed", str(e)))

    def _finish(
        self, batch: list[Pending], record: BlockRecord, outcomes: list[Outcome], t0: float
    ) -> BlockRecord:
        """On the event loop: metrics, results, waiting submitters, subscribers."""
        self.metrics.block_seconds.observe(time.perf_counter() - t0)
        self.metrics.observe_block(record, self.ledger.state.subnets)
        self.metrics.queue.set(len(self.queue))
        for p, out in zip(batch, outcomes, strict=True):
            self.waiting.pop(p.xt.hash, None)
            self.metrics.extrinsics.labels(result=out.error.name if out.error else "accepted").inc()
            self._store_result(record, out)
            if p.future and not p.future.done():
                p.future.set_result(out)
        self._remember(record)
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()
        return record

    async def wait_block(self, after: int, timeout: float) -> None:
        """Return once a block newer than ``after`` is committed (or after ``timeout``)."""
        if self.ledger.head.number > after:
            return
        tick = self._tick
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tick.wait(), timeout)

    def status(self, xt_hash: str) -> dict[str, Any] | None:
        """What became of an extrinsic: ``in_block`` when a committed block holds it (looked up
        in the ledger's extrinsic index: durable across restarts, and never overwritten by a
        later attempt of the same body), ``queued`` while it waits or its block is being built,
        ``rejected`` (kept in memory only: a rejected extrinsic is in no block), else None."""
        found = self.ledger.find_extrinsic(xt_hash)
        if found is not None:
            number, index = found
            rec = self.block(number)
            events = [e for e in rec.events if e.get("extrinsic") == index] if rec else []
            return {"status": "in_block", "block": number, "index": index, "events": events}
        if xt_hash in self.waiting:
            return {"status": "queued"}
        return self.results.get(xt_hash)

    def _duplicate(self, xt: Extrinsic) -> tuple[Extrinsic, Outcome | None] | None:
        """The answer to a body already queued (None: 202 queued) or committed (its outcome),
        or None for a new one (a body rejected before may be submitted again).

        A committed extrinsic has used its nonce (only a successful one is in a block, and it
        bumps the signer's nonce), so a body whose nonce the signer has not used yet is new
        unless it is waiting: the ledger's index is asked only for a used nonce. That lookup
        was a database query on the event loop for every submission, about 17 % of the loop
        with 128 subnets' validators setting weights."""
        if xt.hash not in self.waiting and xt.nonce >= self.ledger.state.nonce(xt.signer):
            return None
        res = self.status(xt.hash)
        if res is None or res["status"] == "rejected":
            return None
        self.metrics.extrinsics.labels(result="duplicate").inc()
        if res["status"] == "queued":
            return xt, None
        return xt, Outcome(hash=xt.hash, index=res["index"], events=res["events"])

    def _store_result(self, record: BlockRecord, out: Outcome) -> None:
        if out.error:
            res = {"status": "rejected", "block": record.number, **out.error.to_json()}
        else:
            res = {
                "status": "in_block",
                "block": record.number,
                "index": out.index,
                "events": out.events,
            }
        self.results[out.hash] = res
        while len(self.results) > 100_000:
            self.results.popitem(last=False)

    def _remember(self, record: BlockRecord) -> None:
        self.recent[record.number] = record
        while len(self.recent) > self.keep_recent:
            self.recent.popitem(last=False)

    def block(self, number: int) -> BlockRecord | None:
        if not 0 <= number <= self.ledger.head.number:
            return None
        rec = self.recent.get(number)
        if rec is None and self.ledger.storage:
            rec = self.ledger.storage.block(number)
        return rec

    def blocks_from(self, start: int, limit: int = 64) -> list[BlockRecord]:
        head = self.ledger.head.number
        if start in self.recent or not self.ledger.storage:
            return [
                self.recent[n]
                for n in range(start, min(head, start + limit - 1) + 1)
                if n in self.recent
            ]
        return self.ledger.storage.blocks_from(start, limit)

    # ---- timer --------------------------------------------------------------------------------
    async def run(self, first_now: bool = False, first_at: float | None = None) -> None:
        """Produce a block every block_time seconds (wall clock; missed ticks are not replayed);
        ``first_now``: the first one at once (a replica taking over: the slot is overdue);
        ``first_at``: the first one at this ``time.monotonic()`` (at once when it is past)."""
        self.ready = True
        self.metrics.leader.set(1)
        if self.manual:
            return
        if first_at is None:
            first_at = time.monotonic() + (0.0 if first_now else self.block_time)
        next_at = first_at
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at + self.block_time, time.monotonic())
            try:
                await self.produce_async()
            except FenceLost:  # another replica leads now (chain/failover.py): stop producing
                raise
            except Exception:
                if self.ledger.broken:  # in memory, nothing to recover from: stop, not ready
                    self.ready = False
                    log.error("in-memory chain stopped after a failed block")
                    return
                await asyncio.sleep(self.block_time)  # storage trouble: retry on the next tick
            await asyncio.sleep(0)

    def start(self, first_now: bool = False, first_at: float | None = None) -> asyncio.Task[None]:
        self._task = asyncio.get_running_loop().create_task(self.run(first_now, first_at))
        return self._task

    async def pause(self) -> None:
        """Stop the block timer (a block being built finishes first); ``start`` resumes it.
        The API keeps serving (a standby replica: chain/failover.py)."""
        if self._task:
            async with self._producing:  # never cancel a block midway: its submitters wait
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
            self._task = None

    def drop_queue(self, reason: str) -> None:
        """Answer every queued extrinsic BlockProductionFailed (``reason``) and empty the queue
        (a replica that stops leading: its queue would never reach a block)."""
        batch = list(self.queue)
        self.queue.clear()
        for p in batch:
            self.pool.remove(p)
        self._fail(batch, RuntimeError(reason))
        self.metrics.queue.set(0)

    def adopt(self, records: list[BlockRecord]) -> None:
        """Blocks another replica committed (the ledger already holds their state): remember
        them, update metrics and wake event streams and waiters, as for own blocks."""
        for record in records:
            self.metrics.observe_block(record, self.ledger.state.subnets)
            self._remember(record)
        if records:
            tick, self._tick = self._tick, asyncio.Event()
            tick.set()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.ready = False
        # A block being built finishes and commits (cancelling the task does not stop it).
        await asyncio.get_running_loop().run_in_executor(None, self._builder.shutdown)
