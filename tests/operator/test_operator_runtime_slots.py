"""Runtime concurrency bound: a reconcile waiting in ``unslotted`` (for its coldkey's turn to
sign) does not hold a slot, and slots are accounted exactly, also on cancellation."""

from __future__ import annotations

import asyncio

from subnetes.operator.config import Config
from subnetes.operator.runtime import Runtime


def runtime(slots: int) -> Runtime:
    return Runtime(Config(max_concurrent_reconciles=slots), kube=object(), chain=object())  # type: ignore[arg-type]


def test_a_reconcile_waiting_unslotted_lets_others_run() -> None:
    rt = runtime(1)
    order: list[str] = []
    signer = asyncio.Event()

    async def registering(rt: Runtime, ns: str, name: str) -> None:
        order.append(f"{name} start")
        async with rt.unslotted():
            await signer.wait()  # queued behind its coldkey
        order.append(f"{name} registered")

    async def registered(rt: Runtime, ns: str, name: str) -> None:
        order.append(f"{name} done")
        signer.set()

    rt.reconcilers = {"Miner": registering, "Validator": registered}

    async def go() -> None:
        a = asyncio.create_task(rt.run(("Miner", "ns", "a")))
        await asyncio.sleep(0.01)
        b = asyncio.create_task(rt.run(("Validator", "ns", "b")))
        await asyncio.wait_for(asyncio.gather(a, b), 2)
        assert rt.sem._value == 1  # every slot back

    asyncio.run(go())
    assert order == ["a start", "b done", "a registered"]


def test_unslotted_outside_a_reconcile_is_a_no_op() -> None:
    rt = runtime(2)

    async def go() -> None:
        async with rt.unslotted():
            pass
        assert rt.sem._value == 2

    asyncio.run(go())


def test_cancelled_while_taking_the_slot_back_leaks_nothing() -> None:
    rt = runtime(1)
    hold = asyncio.Event()

    async def waiting(rt: Runtime, ns: str, name: str) -> None:
        async with rt.unslotted():
            await asyncio.sleep(0.05)

    async def busy(rt: Runtime, ns: str, name: str) -> None:
        await hold.wait()

    rt.reconcilers = {"Miner": waiting, "Validator": busy}

    async def go() -> None:
        a = asyncio.create_task(rt.run(("Miner", "ns", "a")))
        await asyncio.sleep(0.01)  # a is unslotted now
        b = asyncio.create_task(rt.run(("Validator", "ns", "b")))  # takes the only slot
        await asyncio.sleep(0.1)  # a waits to take a slot back
        a.cancel()
        await asyncio.gather(a, return_exceptions=True)
        hold.set()
        await b
        assert rt.sem._value == 1

    asyncio.run(go())


def test_runs_of_a_key_waiting_unslotted_do_not_take_every_slot() -> None:
    """Kicks of a key whose reconcile waits unslotted wait for the key's lock without a slot,
    so the waiting reconcile can take a slot back (no deadlock)."""
    rt = runtime(2)
    done: list[str] = []

    async def reconcile(rt: Runtime, ns: str, name: str) -> None:
        async with rt.unslotted():
            await asyncio.sleep(0.05)
        done.append(name)

    rt.reconcilers = {"Miner": reconcile}

    async def go() -> None:
        runs = [asyncio.create_task(rt.run(("Miner", "ns", "a")))]
        await asyncio.sleep(0.01)  # a is unslotted, holding its lock
        runs += [asyncio.create_task(rt.run(("Miner", "ns", "a"))) for _ in range(4)]
        await asyncio.wait_for(asyncio.gather(*runs), 2)
        assert rt.sem._value == 2

    asyncio.run(go())
    assert done == ["a"] * 5


def test_reconciles_queued_for_a_slot_leave_their_keys_unlocked() -> None:
    """Scale (issue 19): at a start or a failover every neuron is reconciled at once. Runs
    queued for a slot held their key's lock, so the epoch writer (which takes it) could not
    write a neuron's status until that neuron's turn came: minutes at 5,000 neurons."""
    rt = runtime(1)
    busy = asyncio.Event()

    async def reconcile(rt: Runtime, ns: str, name: str) -> None:
        if name == "a":
            await busy.wait()

    rt.reconcilers = {"Miner": reconcile}

    async def go() -> None:
        runs = [asyncio.create_task(rt.run(("Miner", "ns", n))) for n in "abcde"]
        await asyncio.sleep(0.01)  # a holds the only slot; b..e are queued
        async with asyncio.timeout(0.5):
            async with rt.lock(("Miner", "ns", "c")):  # the epoch writer's turn: at once
                pass
        busy.set()
        await asyncio.wait_for(asyncio.gather(*runs), 2)
        assert rt.sem._value == 1
        assert not any(lock.locked() for lock in rt.locks.values())

    asyncio.run(go())


def test_runs_of_one_key_stay_serialised() -> None:
    rt = runtime(4)
    inside: list[int] = []
    peak: list[int] = []

    async def reconcile(rt: Runtime, ns: str, name: str) -> None:
        inside.append(1)
        peak.append(len(inside))
        await asyncio.sleep(0.01)
        inside.pop()

    rt.reconcilers = {"Miner": reconcile}

    async def go() -> None:
        runs = [asyncio.create_task(rt.run(("Miner", "ns", "a"))) for _ in range(6)]
        await asyncio.wait_for(asyncio.gather(*runs), 2)
        assert rt.sem._value == 4

    asyncio.run(go())
    assert len(peak) == 6 and max(peak) == 1
