"""The chain's activity cutoff (docs/specs/chain.md, "Activity cutoff"): the subnet's
``activity_cutoff`` hyperparameter in blocks goes to the epoch as it is, whatever the tempo (not
Subtensor's tempo-derived ActivityCutoffFactorMilli); a UID is inactive once
last_update + activity_cutoff < the epoch's block.
"""

from __future__ import annotations

from typing import Any

from subnetes.chain.epoch import build_inputs
from subnetes.chain.units import tao

from .conftest import ALICE, Net, key

OWNER_HK = key("owner-hk")
CUTOFF = 15


def _epoch_results(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "EpochResult" and e["netuid"] == 1]


def test_validator_turns_inactive_one_block_after_the_cutoff(make_net) -> None:
    net: Net = make_net()
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    for name in ("v1", "m1"):
        net.ok(ALICE, "burned_register", netuid=1, hotkey=key(name).ss58_address)
    net.ok(ALICE, "add_stake", hotkey=key("v1").ss58_address, amount=tao(10))
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="activity_cutoff", value=CUTOFF)
    net.run_to(net.block + 11)
    # set weights at a block X such that X + CUTOFF is an epoch block ((b + 2) % 11 == 0)
    while (net.block + 1 + CUTOFF + 2) % 11:
        net.step()
    net.ok(key("v1"), "set_weights", netuid=1, uids=[2], values=[1])
    x = net.st.subnets[1].neurons[1].last_update
    assert x == net.block
    results = _epoch_results(net.run_to(x + CUTOFF + 11))
    active = {ev["block"]: ev["uids"][1]["active"] for ev in results}
    assert active[x + CUTOFF] is True  # last_update + cutoff == block: still active
    assert active[x + CUTOFF + 11] is False


def test_epoch_gets_the_hyperparameter_whatever_the_tempo(make_net) -> None:
    net: Net = make_net()
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="activity_cutoff", value=CUTOFF)
    for tempo in (10, 360):
        net.ok(ALICE, "set_hyperparameter", netuid=1, name="tempo", value=tempo)
        _, params, _ = build_inputs(net.st, [(net.st.subnets[1], 0)], net.block)
        assert int(params.activity_cutoff[0]) == CUTOFF and int(params.tempo[0]) == tempo
