"""A failing consensus call does not halt the chain: the epoch runs on the NumPy reference."""

from __future__ import annotations

import json
from typing import Any

import pytest

from subnetes.consensus import reference_epochs

from .conftest import subnet_node


def broken_consensus(*_: Any, **__: Any) -> Any:
    raise RuntimeError("device lost")


def test_failed_consensus_falls_back_to_the_reference(caplog: pytest.LogCaptureFixture) -> None:
    ok, broken = subnet_node(reference_epochs), subnet_node(broken_consensus)
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
