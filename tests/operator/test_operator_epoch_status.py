"""Epoch status fan-out (events.apply_epoch) with a fake Kubernetes: concurrent, bounded, and
not held up by a neuron whose reconcile holds its lock."""

from __future__ import annotations

import asyncio
import time

from subnetes.operator import events
from subnetes.operator.config import Config
from subnetes.operator.runtime import Runtime


class FakeKube:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.inflight = self.peak = 0
        self.patched: list[str] = []

    async def patch_status(self, kind, ns, name, patch) -> None:
        self.inflight += 1
        self.peak = max(self.peak, self.inflight)
        await asyncio.sleep(self.delay)
        self.inflight -= 1
        assert patch["lastEpochBlock"] == 100
        self.patched.append(name)

    async def close(self) -> None:
        pass


def runtime(n: int, kube: FakeKube) -> Runtime:
    rt = Runtime(Config(), kube=kube, chain=object())  # type: ignore[arg-type]
    for i in range(n):
        key = ("Miner", "ns", f"m-{i}")
        rt.indexes.hotkeys[f"hk-{i}"] = key
        rt.indexes.status[key] = {"phase": "Registered", "netuid": 1, "uid": i}
    return rt


def rows(n: int) -> list[dict]:
    return [
        {"hotkey": f"hk-{i}", "uid": i, "incentive": 0, "emission": 10, "total_emission": 30}
        for i in range(n)
    ]


def test_epoch_patches_go_out_concurrently_and_bounded() -> None:
    kube = FakeKube(0.05)
    rt = runtime(64, kube)

    async def go() -> float:
        t = time.monotonic()
        await events.apply_epoch(rt, 1, 100, rows(64), t)
        return time.monotonic() - t

    took = asyncio.run(go())
    assert sorted(kube.patched) == sorted(f"m-{i}" for i in range(64))
    assert kube.peak == events.EPOCH_PATCH_CONCURRENCY
    assert took < 64 * 0.05 / 4  # one at a time would take 3.2 s
    st = rt.indexes.status[("Miner", "ns", "m-3")]
    assert st["lastEpochBlock"] == 100 and st["totalEmission"] == "0.000000030"


def test_a_locked_neuron_does_not_hold_up_the_others() -> None:
    kube = FakeKube(0.0)
    rt = runtime(20, kube)

    async def go() -> list[str]:
        busy = rt.lock(("Miner", "ns", "m-0"))
        await busy.acquire()  # a reconcile waiting for its registration block
        task = asyncio.create_task(events.apply_epoch(rt, 1, 100, rows(20), time.monotonic()))
        await asyncio.sleep(0.2)
        done_before = list(kube.patched)
        busy.release()
        await task
        return done_before

    done_before = asyncio.run(go())
    assert len(done_before) == 19 and "m-0" not in done_before
    assert "m-0" in kube.patched


def test_fold_epochs_mirror_the_newest_epoch() -> None:
    """Rows carry the chain's total: the newest epoch wins (block order, not arrival order),
    and a replayed older epoch never moves status back."""
    old = {"phase": "Registered", "netuid": 1, "uid": 3, "totalEmission": "0.000000100"}
    row = {"hotkey": "hk", "uid": 3, "emission": 10, "total_emission": 110}
    newer = row | {"emission": 20, "total_emission": 130}
    new = events.fold_epochs("Miner", old, 1, [(120, newer), (110, row)])
    assert new is not None
    assert new["lastEpochBlock"] == 120 and new["lastEmission"] == "0.000000020"
    assert new["totalEmission"] == "0.000000130"
    # A replay of blocks already reflected changes nothing.
    again = events.fold_epochs("Miner", new, 1, [(110, row), (120, newer)])
    assert again == new
    assert events.fold_epochs("Miner", new, 1, [(110, row)]) is None


def test_fold_epochs_ignores_other_registrations() -> None:
    row = {"hotkey": "hk", "uid": 3, "emission": 10}
    assert events.fold_epochs("Miner", {"phase": "Registered", "netuid": 2}, 1, [(5, row)]) is None
    assert (
        events.fold_epochs("Miner", {"phase": "Deregistered", "netuid": 1}, 1, [(5, row)]) is None
    )
    pruned = {"phase": "Registered", "netuid": 1, "uid": 4}
    assert events.fold_epochs("Miner", pruned, 1, [(5, row)]) is None


class RecordingKube:
    def __init__(self) -> None:
        self.patches: list[tuple[str, dict]] = []

    async def patch_status(self, kind, ns, name, patch) -> None:
        await asyncio.sleep(0)
        self.patches.append((name, patch))

    async def close(self) -> None:
        pass


def test_epoch_write_reads_status_under_the_lock_and_merges_what_waited() -> None:
    """An epoch queued while the neuron's reconcile holds the lock is folded into the status
    that reconcile left (not the one read when the epoch arrived), and epochs that arrived
    meanwhile go out as one patch carrying the newest epoch's total."""
    kube = RecordingKube()
    rt = Runtime(Config(), kube=kube, chain=object())  # type: ignore[arg-type]
    key = ("Miner", "ns", "m-0")
    rt.indexes.hotkeys["hk-0"] = key
    rt.indexes.status[key] = {"phase": "Registered", "netuid": 1, "uid": 0, "podPhase": "Pending"}
    row = {"hotkey": "hk-0", "uid": 0, "emission": 10}

    async def go() -> float:
        writer = events.EpochWriter(rt)
        lock = rt.lock(key)
        await lock.acquire()  # the reconcile
        t = time.monotonic()
        writer.submit(1, 100, [row | {"total_emission": 10}], t)
        writer.submit(1, 140, [row | {"total_emission": 20}], t)
        took = time.monotonic() - t
        await asyncio.sleep(0.05)
        assert kube.patches == []
        # The reconcile writes the pod's new state, then lets go.
        rt.indexes.status[key] = dict(rt.indexes.status[key], podPhase="Running")
        lock.release()
        await writer.drain()
        return took

    took = asyncio.run(go())
    assert took < 0.01  # submit never waits
    assert len(kube.patches) == 1
    _name, patch = kube.patches[0]
    assert patch["lastEpochBlock"] == 140 and patch["totalEmission"] == "0.000000020"
    assert "podPhase" not in patch  # only epoch fields are sent
    st = rt.indexes.status[key]
    assert st["podPhase"] == "Running" and st["lastEpochBlock"] == 140


def test_a_slow_subnet_does_not_hold_up_the_event_consumer() -> None:
    """handle() with a writer returns at once, however slow the patches are."""
    kube = FakeKube(0.5)
    rt = runtime(4, kube)

    async def go() -> float:
        writer = events.EpochWriter(rt)
        t = time.monotonic()
        await events.handle(
            rt, {"type": "EpochResult", "netuid": 1, "block": 100, "uids": rows(4)}, t, writer
        )
        took = time.monotonic() - t
        await writer.drain()
        return took

    assert asyncio.run(go()) < 0.1
    assert sorted(kube.patched) == [f"m-{i}" for i in range(4)]


class FakeChain:
    """A chain at block 200 whose subnet 1 ran its last epoch at 198."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows
        self.calls: list[str] = []

    async def head(self) -> int:
        self.calls.append("head")
        return 200

    async def subnet(self, netuid: int) -> dict:
        self.calls.append("subnet")
        return {"netuid": netuid, "last_epoch_block": 198, "emission_share": 0}

    async def metagraph(self, netuid: int) -> dict:
        self.calls.append("metagraph")
        return {"netuid": netuid, "block": 200, "neurons": self.rows}


def test_repair_rebuilds_status_the_watch_reports_after_the_connection() -> None:
    """At start-up the stream connects before the watch lists the objects: a neuron registered
    before the connection and reported later is repaired from the metagraph (the chain's total,
    epochs missed while the operator was down included), once; one registered after the
    connection is left to the stream."""
    kube = RecordingKube()
    row = {"hotkey": "hk-0", "uid": 0, "emission": 7, "total_emission": 777, "weights_block": 150}
    chain = FakeChain([row])
    rt = Runtime(Config(), kube=kube, chain=chain)  # type: ignore[arg-type]
    key = ("Validator", "ns", "v-0")

    async def go() -> events.Repair:
        repair = events.Repair(rt)
        assert await repair.connect() == 200
        assert chain.calls == ["head"] and kube.patches == []  # nothing known yet
        # The watch reports the validator: registered at 50, status from before the outage.
        rt.indexes.hotkeys["hk-0"] = key
        rt.indexes.status[key] = {
            "phase": "Registered",
            "netuid": 1,
            "uid": 0,
            "registeredBlock": 50,
            "lastEpochBlock": 99,
            "totalEmission": "0.000000100",
        }
        await repair.catch_up()
        await repair.catch_up()  # covered: no second listing
        # Registered after the connection: its epochs come from the stream.
        rt.indexes.hotkeys["hk-1"] = ("Miner", "ns", "m-1")
        rt.indexes.status[("Miner", "ns", "m-1")] = {
            "phase": "Registered",
            "netuid": 1,
            "uid": 1,
            "registeredBlock": 205,
        }
        await repair.catch_up()
        return repair

    asyncio.run(go())
    assert chain.calls == ["head", "subnet", "metagraph"]
    assert [name for name, _ in kube.patches] == ["v-0"]
    st = rt.indexes.status[key]
    assert st["totalEmission"] == "0.000000777" and st["lastEpochBlock"] == 198
    assert st["lastWeightsBlock"] == 150 and st["lastEmission"] == "0.000000007"


def test_repair_of_a_subnet_gone_from_the_chain_is_not_repeated_every_block() -> None:
    """A neuron whose subnet the chain no longer has is covered (its reconcile and the Subnet's
    handle it): catch_up does not ask the chain again on every block."""

    class GoneChain(FakeChain):
        async def subnet(self, netuid: int) -> None:  # type: ignore[override]
            self.calls.append("subnet")
            return None

    chain = GoneChain([])
    rt = Runtime(Config(), kube=RecordingKube(), chain=chain)  # type: ignore[arg-type]
    key = ("Miner", "ns", "m-0")

    async def go() -> None:
        repair = events.Repair(rt)
        await repair.connect()
        rt.indexes.hotkeys["hk-0"] = key
        rt.indexes.status[key] = {
            "phase": "Registered",
            "netuid": 1,
            "uid": 0,
            "registeredBlock": 50,
        }
        for _ in range(3):
            await repair.catch_up()

    asyncio.run(go())
    assert chain.calls == ["head", "subnet"]


def test_a_slow_repair_does_not_stop_the_event_consumer() -> None:
    """Scale (issue 19): after a failover mid-rollout (2,000 neurons) the repair of neurons the
    watch reported late ran on every block inside the consumer, reading the chain and waiting
    for its patches: the consumer fell 200 s behind the chain. It runs beside it now."""
    from subnetes.operator import metrics

    released = asyncio.Event()

    class SlowChain(FakeChain):
        async def metagraph(self, netuid: int) -> dict:
            self.calls.append("metagraph")
            await released.wait()  # a chain (or API server) slow under load
            return {"netuid": netuid, "block": 200, "neurons": self.rows}

    chain = SlowChain([])
    stop = asyncio.Event()

    async def stream(from_block: int, reconnect: bool):  # type: ignore[no-untyped-def]
        for block in range(from_block, from_block + 20):
            if block == from_block + 19:
                stop.set()
            await asyncio.sleep(0.001)  # blocks arrive over time; the repair starts meanwhile
            yield {"type": "Block", "block": block}

    chain.client = type("C", (), {"events": staticmethod(stream)})()  # type: ignore[attr-defined]
    rt = Runtime(Config(), kube=RecordingKube(), chain=chain)  # type: ignore[arg-type]
    key = ("Miner", "ns", "m-0")
    rt.indexes.hotkeys["hk-0"] = key
    rt.indexes.status[key] = {"phase": "Registered", "netuid": 1, "uid": 0, "registeredBlock": 50}

    async def go() -> None:
        await asyncio.wait_for(events.follow(rt, stop), 2)

    asyncio.run(go())
    assert metrics.CHAIN_HEAD._value.get() == 220  # every block handled
    assert chain.calls.count("metagraph") == 1  # one repair at a time, not one per block
