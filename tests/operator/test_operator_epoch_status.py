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
    return [{"hotkey": f"hk-{i}", "uid": i, "incentive": 0, "emission": 10} for i in range(n)]


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
    assert st["lastEpochBlock"] == 100 and st["totalEmission"] == "0.000000010"


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
