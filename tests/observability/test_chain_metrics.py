"""The chain's /metrics series that the alerts and dashboards read (charts/subnetes): the last
commit's wall-clock time, the target block time, and per-subnet series from the blocks' events."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from bittensor_wallet import Keypair

from subnetes.chain.extrinsic import sign
from subnetes.chain.ledger import Ledger
from subnetes.chain.node import Node
from subnetes.chain.params import dev_config
from subnetes.consensus import reference_epochs

ALICE = Keypair.create_from_uri("//Alice")


@pytest.fixture(scope="module")
def node() -> Node:
    """A manual in-memory dev node: a subnet, a miner and a staked validator registered through
    the node (so its counters see them), then blocks past two epochs (tempo 10)."""
    ledger = Ledger.open(dev_config(), None, reference_epochs)
    node = Node(ledger, 0.25, manual=True)
    owner, miner, vali = (Keypair.create_from_uri(f"//obs-{n}") for n in ("o", "m", "v"))
    steps = [
        ("register_network", {"hotkey": owner.ss58_address}),
        ("burned_register", {"netuid": 1, "hotkey": miner.ss58_address}),
        ("burned_register", {"netuid": 1, "hotkey": vali.ss58_address}),
        ("add_stake", {"hotkey": vali.ss58_address, "amount": 10**12}),
    ]
    steps.append(("transfer", {"dest": vali.ss58_address, "amount": 10**10}))  # its fees
    for nonce, (call, args) in enumerate(steps):
        _submit(node, sign(ALICE, call, args, nonce, ledger.genesis_hash))
    for _ in range(12):  # an epoch: the validator gets its permit
        node.produce()
    weights = {"netuid": 1, "uids": [1], "values": [65535]}  # all on the miner
    _submit(node, sign(vali, "set_weights", weights, 0, ledger.genesis_hash))
    for _ in range(24):
        node.produce()
    return node


def _submit(node: Node, body: dict) -> None:
    """Queue ``body`` and produce the block that holds it; it must succeed."""
    xt, _ = asyncio.run(node.submit(body, wait=False))
    node.produce()
    status = node.status(xt.hash)
    assert status is not None and status["status"] == "in_block", status


def test_chain_exports_the_series_alerts_and_dashboards_read(node: Node) -> None:
    value = node.metrics.registry.get_sample_value
    assert value("subnetes_chain_block_time_seconds") == 0.25
    assert time.time() - 60 < (value("subnetes_chain_last_block_timestamp_seconds") or 0)
    assert value("subnetes_chain_last_block_timestamp_seconds") <= time.time()
    # the owner's hotkey takes UID 0 with the subnet, then the miner and the validator
    assert value("subnetes_chain_neuron_registrations_total", {"netuid": "1"}) == 3
    assert value("subnetes_chain_subnet_uids", {"netuid": "1"}) == 3
    assert value("subnetes_chain_subnet_tempo_blocks", {"netuid": "1"}) == 10
    assert (value("subnetes_chain_epochs_total", {"netuid": "1"}) or 0) >= 2
    assert (value("subnetes_chain_subnet_emission_rao_total", {"netuid": "1"}) or 0) > 0
    rows = [{"netuid": "1", "uid": str(u)} for u in (0, 1, 2)]
    incentive = [value("subnetes_chain_uid_incentive", r) for r in rows]
    dividends = [value("subnetes_chain_uid_dividends", r) for r in rows]
    emission = [value("subnetes_chain_uid_emission_rao", r) for r in rows]
    assert all(v is not None and 0 <= v <= 1 for v in incentive + dividends)
    assert sum(incentive) > 0 and sum(dividends) > 0  # type: ignore[arg-type]
    assert sum(emission) > 0  # type: ignore[arg-type]
    # A removed subnet's gauges go with it; its counters stay (rates need their history).
    head = node.ledger.head
    gone = replace(head, events=[{"type": "SubnetDeregistered", "netuid": 1}])
    node.metrics.observe_block(gone, {})
    assert value("subnetes_chain_uid_incentive", rows[0]) is None
    assert value("subnetes_chain_subnet_uids", {"netuid": "1"}) is None
    assert value("subnetes_chain_neuron_registrations_total", {"netuid": "1"}) == 3


def test_a_restart_counts_nothing_twice(node: Node) -> None:
    """The head at start-up was counted by the process that committed it: gauges only."""
    again = Node(node.ledger, 0.25, manual=True)
    value = again.metrics.registry.get_sample_value
    assert value("subnetes_chain_block_height") == node.ledger.head.number
    assert value("subnetes_chain_subnet_uids", {"netuid": "1"}) == 3
    assert value("subnetes_chain_neuron_registrations_total", {"netuid": "1"}) is None
