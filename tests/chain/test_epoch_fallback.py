"""A failing consensus call does not halt the chain: the epoch runs on the NumPy reference."""

from __future__ import annotations

import json
from typing import Any

import pytest

from subnetes.chain.extrinsic import parse, sign
from subnetes.chain.ledger import Ledger
from subnetes.chain.node import Node
from subnetes.chain.params import dev_config
from subnetes.consensus import reference_epochs

from .conftest import ALICE, key


def broken_consensus(*_: Any, **__: Any) -> Any:
    raise RuntimeError("device lost")


def network(consensus: Any) -> Node:
    """Dev chain with one subnet, a miner and a staked validator that weights it."""
    ledger = Ledger.open(dev_config(), None, consensus)
    g = ledger.genesis_hash
    owner, miner, vali = key("fb-owner"), key("fb-miner"), key("fb-vali")
    steps = [
        (ALICE, "register_network", {"hotkey": owner.ss58_address}),
        (ALICE, "burned_register", {"netuid": 1, "hotkey": miner.ss58_address}),
        (ALICE, "burned_register", {"netuid": 1, "hotkey": vali.ss58_address}),
        (ALICE, "add_stake", {"hotkey": vali.ss58_address, "amount": 10**12}),
    ]
    for nonce, (kp, call, args) in enumerate(steps):
        _, outs = ledger.step([(parse(sign(kp, call, args, nonce, g)), False)])
        assert outs[0].error is None, outs[0].error
    return Node(ledger, 0.25, manual=True)


def test_failed_consensus_falls_back_to_the_reference(caplog: pytest.LogCaptureFixture) -> None:
    ok, broken = network(reference_epochs), network(broken_consensus)
    epochs = []
    for _ in range(24):  # tempo 10: at least two epochs
        a, b = ok.produce(), broken.produce()
        assert a.number == b.number
        epochs += [e for e in b.events if e["type"] == "EpochResult"]
    assert len(epochs) >= 2 and all(e["distributed"] > 0 for e in epochs)
    assert broken.metrics.epoch_fallbacks._value.get() >= 2
    assert ok.metrics.epoch_fallbacks._value.get() == 0
    # Same state as the chain whose consensus worked: the epochs ran, emission was paid.
    chunks = [json.dumps(n.ledger.state.all_chunks(), sort_keys=True) for n in (ok, broken)]
    assert chunks[0] == chunks[1]
    assert sum(n.emission for n in broken.ledger.state.subnets[1].neurons) > 0
    assert "consensus call failed" in caplog.text
