"""OpenTelemetry: block production and epochs produce spans; tracing is off by default."""

from __future__ import annotations

import subprocess
import sys

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from subnetes.chain import node as node_mod
from subnetes.chain.extrinsic import parse, sign
from subnetes.chain.ledger import Ledger
from subnetes.chain.node import Node
from subnetes.chain.params import dev_config

from . import fake_consensus
from .conftest import ALICE, key


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """Spans of the chain's tracer, in memory. The global provider is one-shot per process (and
    other suites set it), so the node module's tracer is pointed at a private provider."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(node_mod, "tracer", provider.get_tracer("subnetes.chain"))
    return exporter


def test_blocks_and_epochs_produce_spans(spans: InMemorySpanExporter) -> None:
    ledger = Ledger.open(dev_config(), None, fake_consensus.run_epochs)
    g = ledger.genesis_hash
    for i, (call, args) in enumerate(
        [
            ("register_network", {"hotkey": key("tr-owner").ss58_address}),
            ("burned_register", {"netuid": 1, "hotkey": key("tr-m").ss58_address}),
        ]
    ):
        _, outs = ledger.step([(parse(sign(ALICE, call, args, i, g)), False)])
        assert outs[0].error is None
    node = Node(ledger, 0.25, manual=True)
    for _ in range(12):  # subnet 1 (tempo 10) has one epoch in any 11 consecutive blocks
        node.produce()
    finished = spans.get_finished_spans()
    blocks = [s for s in finished if s.name == "block"]
    epochs = [s for s in finished if s.name == "epoch"]
    assert [s.attributes["block.number"] for s in blocks] == list(range(3, 15))
    assert all("block.extrinsics" in s.attributes for s in blocks)
    assert epochs, [s.name for s in finished]
    by_id = {s.context.span_id: s for s in blocks}
    for ep in epochs:  # each epoch is a child of the block that ran it, timed inside it
        parent = by_id[ep.parent.span_id]
        assert ep.attributes["block.number"] == parent.attributes["block.number"]
        assert ep.attributes["epoch.subnets"] >= 1
        assert parent.start_time <= ep.start_time and ep.end_time <= parent.end_time


def test_tracing_is_off_by_default() -> None:
    """Without --trace-exporter no provider is installed: spans are non-recording no-ops; with
    ``console`` the node's spans are exported. In a child process: the global provider is
    one-shot."""
    code = """
from subnetes.chain import node
from subnetes.chain.server import setup_tracing

def probe():
    with node.tracer.start_as_current_span("block") as s:
        return "RECORDING" if s.is_recording() else "OFF"

print(probe())                 # the default: no --trace-exporter
setup_tracing("none")
print(probe())
setup_tracing("console")       # installs the (one-shot, global) provider
print(probe())
from opentelemetry import trace
trace.get_tracer_provider().force_flush()
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["OFF", "OFF", "RECORDING"], r.stdout[:500]
    assert '"name": "block"' in r.stdout  # the console exporter printed the span
    with pytest.raises(ValueError, match="unknown trace exporter"):
        from subnetes.chain.server import setup_tracing

        setup_tracing("carrier-pigeon")
