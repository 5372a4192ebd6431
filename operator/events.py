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
from typing import Any

from . import metrics
from .neurons import write_status
from .runtime import Key, Runtime
from .status import REGISTERED, epoch_fields
from .subnets import emission_share_fraction

log = logging.getLogger("subnetes.operator.events")


def plan_epoch(
    rt: Runtime, netuid: int, block: int, rows: list[dict[str, Any]]
) -> list[tuple[Key, dict[str, Any], dict[str, Any]]]:
    """(key, old status, new status) for every indexed neuron in an epoch's rows (pure)."""
    out = []
    for row in rows:
        key = rt.indexes.hotkeys.get(row.get("hotkey", ""))
        if key is None:
            continue
        old = rt.indexes.status.get(key) or {}
        # Only the registration the status describes: a pruned UID's row is someone else's now.
        if old.get("phase") != REGISTERED or old.get("netuid") != netuid:
            continue
        if old.get("uid") is not None and int(old["uid"]) != int(row["uid"]):
            continue
        new = dict(old) | epoch_fields(key[0], row, block, old)
        out.append((key, old, new))
    return out


EPOCH_PATCH_CONCURRENCY = 16  # status patches in flight for one epoch


async def apply_epoch(
    rt: Runtime, netuid: int, block: int, rows: list[dict[str, Any]], t0: float
) -> None:
    """Write epoch outputs into neuron status and the subnet's counts.

    The neurons' patches go out concurrently (bounded): one at a time, a 256-UID subnet's epoch
    took 256 round trips, and one neuron whose lock a long reconcile holds (waiting for its
    registration block) held up every other neuron's status behind it.
    """
    sem = asyncio.Semaphore(EPOCH_PATCH_CONCURRENCY)

    async def write(key: Key, old: dict[str, Any], new: dict[str, Any]) -> None:
        kind, ns, name = key
        async with rt.lock(key), sem:  # a busy key waits without taking a slot
            try:
                if await write_status(rt, kind, ns, name, old, new):
                    metrics.STATUS_LAG.observe(time.monotonic() - t0)
            except Exception as e:  # the object may be gone; the next listing repairs
                log.debug("epoch status of %s/%s/%s not written: %s", *key, e)

    await asyncio.gather(*(write(*plan) for plan in plan_epoch(rt, netuid, block, rows)))
    skey = rt.indexes.netuids.get(netuid)
    if skey is not None:
        old = rt.indexes.status.get(skey) or {}
        new = dict(old)
        counts = dict(old.get("neurons") or {})
        counts["total"] = len(rows)
        counts["validators"] = sum(1 for r in rows if r.get("validator_permit"))
        new["neurons"] = counts
        new["lastEpochBlock"] = block
        try:
            sub = await rt.chain.subnet(netuid)
            if sub and sub.get("emission_share") is not None:
                new["emissionShare"] = emission_share_fraction(sub["emission_share"])
            await write_status(rt, *skey, old, new)
        except Exception as e:
            log.debug("subnet status of netuid %s not written: %s", netuid, e)


async def repair(rt: Runtime) -> int:
    """List the chain state we need and bring status up to date; returns the head block."""
    head = await rt.chain.head()
    for netuid in list(rt.indexes.netuids):
        try:
            mg = await rt.chain.call("metagraph", netuid)
            sub = await rt.chain.subnet(netuid)
        except Exception as e:
            log.debug("repair of netuid %s skipped: %s", netuid, e)
            continue
        if sub is None:
            rt.kick(rt.indexes.netuids[netuid])
            continue
        rows = mg.get("neurons", [])
        on_chain = {r["hotkey"]: int(r["uid"]) for r in rows}
        epoch = int(sub.get("last_epoch_block") or 0)
        if epoch:
            await apply_epoch(rt, netuid, epoch, rows, time.monotonic())
        # Anything registered in status but absent on chain: let the reconcile sort it out.
        for hotkey, key in list(rt.indexes.hotkeys.items()):
            st = rt.indexes.status.get(key) or {}
            if (
                st.get("netuid") == netuid
                and st.get("phase") == REGISTERED
                and on_chain.get(hotkey) != st.get("uid")
            ):
                rt.kick(key)
    return head


async def handle(rt: Runtime, ev: dict[str, Any], t0: float) -> None:
    """Dispatch one chain event."""
    kind = ev.get("type")
    block = int(ev.get("block", 0))
    metrics.CHAIN_HEAD.set(block)
    if kind == "EpochResult":
        await apply_epoch(rt, int(ev["netuid"]), block, ev.get("uids", []), t0)
    elif kind in ("NeuronDeregistered", "NeuronRegistered", "AxonServed", "StakeChanged"):
        key = rt.indexes.hotkeys.get(ev.get("hotkey", ""))
        if key is None:
            return
        if kind == "NeuronDeregistered":
            rt.dereg_hints[key] = (block, "Pruned")
            rt.kick(key)
        elif kind == "NeuronRegistered":
            rt.kick(key)
    elif kind == "SubnetDeregistered":
        netuid = int(ev["netuid"])
        reason = "SubnetDissolved" if ev.get("reason") in (None, "dissolved") else "SubnetPruned"
        for key, st in list(rt.indexes.status.items()):
            if key[0] != "Subnet" and st.get("netuid") == netuid and st.get("phase") == REGISTERED:
                rt.dereg_hints[key] = (block, reason)
                rt.kick(key)
        skey = rt.indexes.netuids.pop(netuid, None)
        if skey is not None:
            rt.kick(skey)


async def follow(rt: Runtime, stop: asyncio.Event | None = None) -> None:
    """Repair, then stream; on any error wait a moment and do both again."""
    while stop is None or not stop.is_set():
        try:
            head = await repair(rt)
            async for ev in rt.chain.client.events(from_block=head + 1, reconnect=False):
                await handle(rt, ev, time.monotonic())
                if stop is not None and stop.is_set():
                    return
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("chain event stream interrupted (%s); repairing and reconnecting", e)
        await asyncio.sleep(1.0)
