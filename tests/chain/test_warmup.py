"""Issue 13 #1, the parts below the service test: the shapes compiled at start-up are exactly
the shapes of the consensus calls the chain then makes, a precompiled shape is not compiled
again on the block path, and a grown state compiles on the warm-up thread."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from subnetes.chain import warmup
from subnetes.chain.params import dev_config
from subnetes.consensus import reference_epochs

from .conftest import ALICE, Net, key


class Recorder:
    """A consensus that records the padded (S, V, N) of every call (then runs the reference)."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, int, int]] = []

    def __call__(self, inputs: Any, params: Any, **kw: Any) -> Any:
        s, v, n = np.asarray(inputs.weights).shape
        self.shapes.append((s, v, n))
        return reference_epochs(inputs, params, **kw)


def grown_net(rec: Recorder) -> Net:
    """Three subnets of different sizes; subnets 1 and 3 share an epoch block (tempo 1)."""
    net = Net(dev_config(), rec)
    for i in range(3):
        net.ok(ALICE, "register_network", hotkey=key(f"w-owner{i}").ss58_address)
    for i in range(9):  # subnet 2: 10 neurons (N bucket 16)
        net.ok(ALICE, "burned_register", netuid=2, hotkey=key(f"w-m{i}").ss58_address)
    for netuid in (1, 3):
        net.ok(ALICE, "sudo_set_hyperparameter", netuid=netuid, name="tempo", value=1)
    return net


def test_needed_shapes_are_the_chains_calls() -> None:
    rec = Recorder()
    net = grown_net(rec)
    sig = warmup.signature(net.st)
    assert [x[:3] for x in sig] == [(1, 1, 1), (2, 10, 10), (3, 1, 1)]
    need = warmup.needed_shapes(sig, net.block + 1)
    rec.shapes.clear()
    net.run_to(net.block + 2 * 11)  # every due set of the present state, twice
    assert set(rec.shapes) == need
    # subnets 1+3 batched; subnet 2 alone (10 rows: every neuron may validate); all three
    assert need == {(2, 8, 8), (1, 16, 16), (4, 16, 16)}


def test_no_subnet_with_neurons_needs_nothing() -> None:
    net = Net(dev_config(), Recorder())
    assert warmup.needed_shapes(warmup.signature(net.st), 1) == set()


def test_check_compiles_a_grown_state_on_the_warmup_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    import subnetes.consensus as consensus

    compiled: list[tuple[tuple[int, int, int], str]] = []
    monkeypatch.setattr(
        consensus,
        "precompile",
        lambda shapes: compiled.extend((s, threading.current_thread().name) for s in shapes),
    )
    net = grown_net(Recorder())
    w = warmup.Warmup()
    try:
        fut = w.check(net.st, net.block + 1)
        assert fut is not None
        first = set(fut.result(30))
        assert first == warmup.needed_shapes(warmup.signature(net.st), net.block + 1)
        assert all(name.startswith("warmup") for _, name in compiled)
        assert w.check(net.st, net.block + 1) is None  # nothing changed: nothing to do
        for i in range(9, 17):  # subnet 2 grows past 16 neurons: a new N bucket
            net.ok(ALICE, "burned_register", netuid=2, hotkey=key(f"w-m{i}").ss58_address)
        fut = w.check(net.st, net.block + 1)
        assert fut is not None
        assert (1, 32, 32) in fut.result(30)
        assert len(compiled) == len({s for s, _ in compiled})  # each shape compiled once
    finally:
        w.close()


def test_a_precompiled_shape_is_not_compiled_again_by_the_chain() -> None:
    """The start-up compile uses empty batches; the chain's real inputs must hit the same
    compiled program (same shapes and dtypes), or the block path would compile after all."""
    from subnetes.consensus import precompile, run_epochs
    from subnetes.consensus.epoch import epoch_batched

    rec = Recorder()
    net = grown_net(rec)
    need = warmup.needed_shapes(warmup.signature(net.st), net.block + 1)
    precompile(sorted(need))
    size = epoch_batched._cache_size()
    net.ledger.consensus = run_epochs
    net.run_to(net.block + 2 * 11)
    assert epoch_batched._cache_size() == size


def test_start_up_hint_compiles_the_last_states_shapes_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """A start records the shapes its state needs beside the compilation cache; the next
    start's begin() compiles them on the warm-up thread while its state still loads, and
    start_up then compiles only what is missing (a stale hint costs time, not a shape)."""
    import asyncio

    import subnetes.consensus as consensus

    compiled: list[tuple[int, int, int]] = []
    monkeypatch.setattr(consensus, "precompile", lambda shapes: compiled.extend(shapes))
    monkeypatch.setattr(warmup, "enable_cache", lambda d: tmp_path)
    net = grown_net(Recorder())
    need = warmup.needed_shapes(warmup.signature(net.st), net.block + 1)

    async def start() -> tuple[list[Any], list[Any]]:
        w = warmup.Warmup()
        try:
            await asyncio.wrap_future(w.begin(None))
            hinted = list(compiled)
            compiled.clear()
            await w.start_up(net.st, net.block + 1)
            return hinted, list(compiled)
        finally:
            w.close()

    assert asyncio.run(start()) == ([], sorted(need))  # no hint yet: all after the state
    assert set(warmup.read_hint(tmp_path)) == need
    compiled.clear()
    hinted, after = asyncio.run(start())
    assert set(hinted) == need and after == []  # all before the state was even needed
    (tmp_path / warmup.SHAPES_HINT).write_text("[[1, 2]]")  # damaged: ignored
    compiled.clear()
    assert asyncio.run(start()) == ([], sorted(need))
