"""Per-registration emission totals kept by the chain (issue 12 #3).

The chain, not its readers, adds up a UID's epoch emissions: ``total_emission`` on the neuron
record equals the sum of the ``emission`` of every EpochResult row since that hotkey took the UID,
starts again at 0 when a new hotkey takes the UID, and is served in the metagraph and EpochResult
rows next to ``weights_block`` (block of the last set_weights, -1 never).
"""

from __future__ import annotations

from typing import Any

from subnetes.chain import views
from subnetes.chain.state import Neuron
from subnetes.chain.units import tao

from .conftest import ALICE, Net, key

OWNER_HK = key("owner-hk")


def _sum_rows(events: list[dict[str, Any]], uid: int, since: int) -> int:
    """Sum of ``emission`` in EpochResult rows of ``uid`` at blocks after ``since``."""
    return sum(
        row["emission"]
        for ev in events
        if ev["type"] == "EpochResult" and ev["block"] > since
        for row in ev["uids"]
        if row["uid"] == uid
    )


def _ok(net: Net, events: list[dict[str, Any]], kp: Any, call: str, /, **args: Any) -> list:
    """Submit one extrinsic in a new block (it must succeed); every event of that block, an
    epoch's included, goes into ``events``. Returns the extrinsic's own events."""
    rec, outs = net.step(net.xt(kp, call, **args))
    assert outs[0].error is None, outs[0].error
    events += rec.events
    return outs[0].events


def _rows(st: Any) -> dict[int, dict[str, Any]]:
    return {r["uid"]: r for r in views.metagraph(st, st.subnets[1])["neurons"]}


def test_total_emission_is_the_sum_of_the_registrations_epochs(make_net) -> None:
    net: Net = make_net()
    start = net.block
    events: list[dict[str, Any]] = []
    _ok(net, events, ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    _ok(net, events, ALICE, "set_hyperparameter", netuid=1, name="max_allowed_uids", value=4)
    _ok(net, events, ALICE, "set_hyperparameter", netuid=1, name="immunity_period", value=3)
    for name in ("v1", "m1", "m2"):
        _ok(net, events, ALICE, "burned_register", netuid=1, hotkey=key(name).ss58_address)
    _ok(net, events, ALICE, "add_stake", hotkey=key("v1").ss58_address, amount=tao(100))
    events += net.run_to(net.block + 11)  # one epoch: v1 gets its permit
    wev = _ok(net, events, key("v1"), "set_weights", netuid=1, uids=[2, 3], values=[1, 3])
    weights_at = wev[0]["block"]
    events += net.run_to(net.block + 33)  # three more epochs with weights

    st = net.st
    rows = _rows(st)
    for n in st.subnets[1].neurons:
        # Every epoch since genesis: no UID was replaced yet.
        assert n.total_emission == _sum_rows(events, n.uid, start)
        assert rows[n.uid]["total_emission"] == n.total_emission
    assert st.subnets[1].neurons[2].total_emission > 0  # a miner earned in several epochs
    assert rows[1]["weights_block"] == weights_at
    assert rows[2]["weights_block"] == -1 and rows[3]["weights_block"] == -1
    last = [e for e in events if e["type"] == "EpochResult"][-1]
    for row in last["uids"]:  # the stream carries the same totals as the metagraph
        assert row["total_emission"] == rows[row["uid"]]["total_emission"]
        assert row["weights_block"] == rows[row["uid"]]["weights_block"]

    # A new hotkey takes the lowest-scored UID: its total starts again from 0.
    before = {n.uid: n.total_emission for n in st.subnets[1].neurons}
    # An epoch may run in this very block, before the extrinsic: it pays the old hotkey.
    ev = _ok(net, events, ALICE, "burned_register", netuid=1, hotkey=key("m3").ss58_address)
    taken = next(e for e in ev if e["type"] == "NeuronRegistered")
    assert any(e["type"] == "NeuronDeregistered" for e in ev)
    uid, since = taken["uid"], taken["block"]
    assert before[uid] > 0
    assert st.subnets[1].neurons[uid].total_emission == 0
    assert _rows(st)[uid]["total_emission"] == 0
    old_total = _sum_rows(events, uid, start)  # the old hotkey's epochs, this block's included
    assert old_total >= before[uid]
    _ok(net, events, key("v1"), "set_weights", netuid=1, uids=[2, 3], values=[1, 3])  # newcomer
    events += net.run_to(net.block + 33)
    n = st.subnets[1].neurons[uid]
    assert n.hotkey == key("m3").ss58_address
    assert n.total_emission > 0
    assert n.total_emission == _sum_rows(events, uid, since)
    assert n.total_emission == _sum_rows(events, uid, start) - old_total  # old epochs dropped
    for other in st.subnets[1].neurons:
        if other.uid != uid:  # the others keep counting across the replacement
            assert other.total_emission == _sum_rows(events, other.uid, start)


def test_total_emission_survives_the_chunk_codec() -> None:
    n = Neuron(uid=3, hotkey="hk", registered_at=1, last_update=1, total_emission=123)
    assert Neuron.from_json(n.to_json()) == n
    old_chunk = n.to_json()
    old_chunk.pop("total_emission")  # a chunk stored before the field existed
    assert Neuron.from_json(old_chunk).total_emission == 0
