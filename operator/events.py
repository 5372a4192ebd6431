"""One background task turns the chain's event stream into status (no per-object polling).

At (re)connect it repairs from a listing (every known subnet's metagraph), then follows the stream
from the current block. EpochResult rows are mapped onto resources by hotkey through the in-memory
index and patched directly (only changed fields); registration events kick a reconcile of the
resource they concern, which applies the deregistration policy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from subnetes.wire.events import EventKind

from . import metrics
from .neurons import write_status
from .runtime import Key, Runtime
from .status import REGISTERED, epoch_fields, epoch_is_stale
from .subnets import emission_share_fraction

log = logging.getLogger("subnetes.operator.events")


# A UID's row: an EpochResult ``uids`` entry or a metagraph neuron (both carry UidScores).
Row = Mapping[str, Any]
Epoch = tuple[int, Row, float]  # (block, the neuron's row, receipt time)


def fold_epochs(
    kind: str, old: dict[str, Any], netuid: int, epochs: list[tuple[int, Row]]
) -> dict[str, Any] | None:
    """The status after ``epochs`` ((block, row) of one neuron) on top of ``old``, or None.

    Pure. Rows carry the chain's own totals, so folding is mirroring: the newest epoch wins,
    and an epoch older than the one ``old`` reflects (a replayed stream) is skipped so status
    never moves back. Only the registration the status describes: a pruned UID's row is
    someone else's now.
    """
    cur, touched = old, False
    for block, row in sorted(epochs, key=lambda e: e[0]):
        if cur.get("phase") != REGISTERED or cur.get("netuid") != netuid:
            continue
        if cur.get("uid") is not None and int(cur["uid"]) != int(row["uid"]):
            continue
        if epoch_is_stale(cur, block):
            continue
        cur = dict(cur)
        for field, value in epoch_fields(kind, row, block).items():
            if value is None:
                cur.pop(field, None)
            else:
                cur[field] = value
        touched = True
    return cur if touched else None


EPOCH_PATCH_CONCURRENCY = 16  # epoch status patches in flight (all subnets together)


class EpochWriter:
    """Writes epoch outputs into status without holding up the chain event consumer.

    ``submit`` only queues: each neuron has its own pending epochs and at most one writer task,
    which takes the neuron's lock, reads the status the last writer left *under that lock*
    (a reconcile may have written since the epoch arrived), folds in everything pending and
    sends one patch. Epochs that arrive while a neuron's patch is in flight, or while its
    reconcile holds the lock, are merged into its next patch: when the API server is slow the
    operator sends fewer patches instead of falling behind the chain (one patch per neuron per
    epoch, awaited by the consumer, built a backlog that never drained at 516 neurons). A busy
    neuron waits without taking one of the ``EPOCH_PATCH_CONCURRENCY`` slots. The Subnet's
    counts and emission share are written the same way (latest epoch wins).
    """

    def __init__(self, rt: Runtime, concurrency: int = EPOCH_PATCH_CONCURRENCY) -> None:
        self.rt = rt
        self.sem = asyncio.Semaphore(concurrency)
        self.pending: dict[Key, list[tuple[int, Epoch]]] = {}  # key -> (netuid, epoch)
        self.subnet_pending: dict[int, tuple[int, Sequence[Row]]] = {}
        self.tasks: dict[Any, asyncio.Task] = {}

    def submit(self, netuid: int, block: int, rows: Sequence[Row], t0: float) -> None:
        """Queue one EpochResult (returns at once)."""
        for row in rows:
            key = self.rt.indexes.hotkeys.get(row.get("hotkey", ""))
            if key is not None:
                self.pending.setdefault(key, []).append((netuid, (block, row, t0)))
                self._start(key, self._write_neuron)
        prev = self.subnet_pending.get(netuid)
        if prev is None or block >= prev[0]:
            self.subnet_pending[netuid] = (block, rows)
        self._start(("Subnet", netuid), self._write_subnet)

    def _start(self, tag: Any, fn: Any) -> None:
        if tag in self.tasks:
            return  # the running writer picks the new epoch up
        task = asyncio.get_running_loop().create_task(fn(tag))
        self.tasks[tag] = task
        self.rt.tasks.add(task)  # cancelled by Runtime.close
        task.add_done_callback(self.rt.tasks.discard)

    async def drain(self) -> None:
        """Wait until everything submitted so far is written (or given up)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)

    async def _write_neuron(self, key: Key) -> None:
        kind, ns, name = key
        try:
            while self.pending.get(key):
                async with self.rt.lock(key), self.sem:  # a busy key waits without a slot
                    batch = self.pending.pop(key, [])
                    old = self.rt.indexes.status.get(key) or {}
                    # One registration at a time (the status names its netuid).
                    epochs = [(b, row) for n, (b, row, _) in batch if n == old.get("netuid")]
                    new = fold_epochs(kind, old, old.get("netuid", -1), epochs)
                    if new is None:
                        continue
                    try:
                        if await write_status(self.rt, kind, ns, name, old, new):
                            t0 = min(t for _, (_, _, t) in batch)
                            metrics.STATUS_LAG.observe(time.monotonic() - t0)
                    except Exception as e:  # the object may be gone; the next listing repairs
                        log.debug("epoch status of %s/%s/%s not written: %s", *key, e)
        finally:
            self.tasks.pop(key, None)

    async def _write_subnet(self, tag: tuple[str, int]) -> None:
        netuid = tag[1]
        rt = self.rt
        try:
            while netuid in self.subnet_pending:
                block, rows = self.subnet_pending.pop(netuid)
                skey = rt.indexes.netuids.get(netuid)
                if skey is None:
                    continue
                try:
                    sub = await rt.chain.subnet(netuid)
                    old = rt.indexes.status.get(skey) or {}
                    new = dict(old)
                    counts = dict(old.get("neurons") or {})
                    counts["total"] = len(rows)
                    counts["validators"] = sum(1 for r in rows if r.get("validator_permit"))
                    new["neurons"] = counts
                    new["lastEpochBlock"] = max(block, int(old.get("lastEpochBlock") or 0))
                    if sub and sub.get("emission_share") is not None:
                        new["emissionShare"] = emission_share_fraction(sub["emission_share"])
                    await write_status(rt, *skey, old, new)
                except Exception as e:
                    log.debug("subnet status of netuid %s not written: %s", netuid, e)
        finally:
            self.tasks.pop(tag, None)


async def apply_epoch(rt: Runtime, netuid: int, block: int, rows: Sequence[Row], t0: float) -> None:
    """Write one epoch's outputs into neuron status and the subnet's counts, and wait."""
    writer = EpochWriter(rt)
    writer.submit(netuid, block, rows, t0)
    await writer.drain()


async def repair_subnet(rt: Runtime, netuid: int) -> set[Key] | None:
    """Write the chain's metagraph of ``netuid`` into the status of its neurons and the Subnet.

    The rows carry the chain's own totals, so this rebuilds status exactly however many epochs
    the operator missed. Returns the neurons it covered (registered there, per their status),
    or None when the chain could not be read (try again later). A neuron the chain no longer
    holds, or a subnet gone from the chain, is kicked so its reconcile applies the policy.
    """
    try:
        sub = await rt.chain.subnet(netuid)
        # After the subnet: rows at least as new as its last_epoch_block.
        rows = (await rt.chain.metagraph(netuid)).get("neurons", []) if sub is not None else []
    except Exception as e:
        log.debug("repair of netuid %s skipped: %s", netuid, e)
        return None
    mine = {
        hotkey: key
        for hotkey, key in rt.indexes.hotkeys.items()
        if (st := rt.indexes.status.get(key) or {}).get("netuid") == netuid
        and st.get("phase") == REGISTERED
    }
    if sub is None:  # the Subnet's reconcile (and its neurons') handle a subnet gone
        skey = rt.indexes.netuids.get(netuid)
        if skey is not None:
            rt.kick(skey)
        return set(mine.values())
    epoch = int(sub.get("last_epoch_block") or 0)
    if epoch:
        await apply_epoch(rt, netuid, epoch, rows, time.monotonic())
    on_chain = {r["hotkey"]: int(r["uid"]) for r in rows}
    for hotkey, key in mine.items():
        if on_chain.get(hotkey) != (rt.indexes.status.get(key) or {}).get("uid"):
            rt.kick(key)  # pruned (maybe while the operator was down): the reconcile decides
    return set(mine.values())


class Repair:
    """Status rebuilt from the chain once per stream connection.

    :meth:`connect` lists every known subnet. At start-up the stream connects before the watch
    has reported the objects, so :meth:`catch_up` (after each block) repairs what the watch
    reports later: subnets not listed yet, and neurons registered before the connection (their
    earlier epochs were never streamed to us). Neurons registered later get every epoch from
    the stream.
    """

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.head = 0
        self.neurons: set[Key] = set()  # covered since the connection
        self.subnets: set[int] = set()

    async def connect(self) -> int:
        """Forget what was covered, read the head, repair every known subnet; the head."""
        self.neurons, self.subnets = set(), set()
        self.head = await self.rt.chain.head()
        await self._repair(set(self.rt.indexes.netuids))
        return self.head

    def missed(self) -> set[int]:
        """Netuids with a Subnet or a neuron registered by the head that no repair covered."""
        out = set(self.rt.indexes.netuids) - self.subnets
        for key in set(self.rt.indexes.hotkeys.values()) - self.neurons:
            st = self.rt.indexes.status.get(key) or {}
            since = st.get("registeredBlock")
            if (
                st.get("phase") == REGISTERED
                and st.get("netuid") is not None
                and since is not None
                and int(since) <= self.head
            ):
                out.add(int(st["netuid"]))
        return out

    async def catch_up(self) -> None:
        """Repair what :meth:`missed` names (nothing to do, no chain call)."""
        await self._repair(self.missed())

    async def _repair(self, netuids: set[int]) -> None:
        for netuid in sorted(netuids):
            covered = await repair_subnet(self.rt, netuid)
            if covered is not None:
                self.subnets.add(netuid)
                self.neurons |= covered


async def repair(rt: Runtime) -> int:
    """List the chain state we need and bring status up to date; returns the head block."""
    return await Repair(rt).connect()


# SubnetDeregistered ``reason`` -> the neurons' deregistrationReason.
SUBNET_REMOVAL_REASONS = {"dissolved": "SubnetDissolved", "pruned": "SubnetPruned"}


async def handle(
    rt: Runtime, ev: dict[str, Any], t0: float, writer: EpochWriter | None = None
) -> None:
    """Dispatch one chain event (epochs are queued on ``writer``; without one, awaited).

    Three kinds change status: an epoch's results, a managed hotkey's (de)registration (its
    reconcile applies the policy) and a subnet's removal. Every event moves the head metric.
    """
    kind = ev.get("type")
    block = int(ev.get("block", 0))
    metrics.CHAIN_HEAD.set(block)
    if kind == EventKind.EPOCH_RESULT:
        if writer is None:
            await apply_epoch(rt, int(ev["netuid"]), block, ev.get("uids", []), t0)
        else:
            writer.submit(int(ev["netuid"]), block, ev.get("uids", []), t0)
    elif kind in (EventKind.NEURON_REGISTERED, EventKind.NEURON_DEREGISTERED):
        key = rt.indexes.hotkeys.get(ev.get("hotkey", ""))
        if key is None:
            return
        if kind == EventKind.NEURON_DEREGISTERED:
            rt.dereg_hints[key] = (block, "Pruned")
        rt.kick(key)
    elif kind == EventKind.SUBNET_DEREGISTERED:
        netuid = int(ev["netuid"])
        reason = SUBNET_REMOVAL_REASONS.get(ev.get("reason", ""), "SubnetPruned")
        for key, st in list(rt.indexes.status.items()):
            if key[0] != "Subnet" and st.get("netuid") == netuid and st.get("phase") == REGISTERED:
                rt.dereg_hints[key] = (block, reason)
                rt.kick(key)
        skey = rt.indexes.netuids.pop(netuid, None)
        if skey is not None:
            rt.kick(skey)


async def follow(rt: Runtime, stop: asyncio.Event | None = None) -> None:
    """Repair, then stream; on any error wait a moment and do both again."""
    writer = EpochWriter(rt)
    repairer = Repair(rt)
    while stop is None or not stop.is_set():
        catching: asyncio.Task | None = None
        try:
            head = await repairer.connect()
            async for ev in rt.chain.client.events(from_block=head + 1, reconnect=False):
                await handle(rt, ev, time.monotonic(), writer)
                if ev.get("type") == EventKind.BLOCK and (catching is None or catching.done()):
                    # Objects the watch reported since, in the background (one at a time): a
                    # repair reads the chain and waits for its patches. Awaited here on every
                    # block it stopped the consumer: after a failover mid-rollout at 2,000
                    # neurons, it fell 200 s behind the chain and no epoch reached status.
                    catching = asyncio.get_running_loop().create_task(repairer.catch_up())
                    catching.add_done_callback(_log_failure)
                if stop is not None and stop.is_set():
                    return
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("chain event stream interrupted (%s); repairing and reconnecting", e)
        finally:
            if catching is not None and not catching.done():
                catching.cancel()  # the next connection repairs everything again
        await asyncio.sleep(1.0)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("status repair failed (%s); retried on a later block", task.exception())
