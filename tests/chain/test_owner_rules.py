"""Subnet-owner rules on the chain, as Subtensor has them (docs/specs/chain.md, "Subnet owner"):
the owner's hotkey sets weights without stake or permit, validates below the stake threshold,
holds a validator permit whatever its stake, may weight itself (that miner share is burned),
and its UID is never the prune candidate.
"""

from __future__ import annotations

from typing import Any

from subnetes.chain.epoch import build_inputs
from subnetes.chain.units import tao

from .conftest import ALICE, Net, key

OWNER_HK = key("owner-hk")


def subnet(net: Net, *miners: str) -> None:
    """Subnet 1 owned by Alice (owner hotkey = UID 0) with ``miners`` registered after it."""
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    for m in miners:
        net.ok(ALICE, "burned_register", netuid=1, hotkey=key(m).ss58_address)


def next_epoch(net: Net) -> dict[str, Any]:
    """Run to subnet 1's next epoch and return its EpochResult event."""
    events = net.run_to(net.block + 11)
    return next(e for e in reversed(events) if e["type"] == "EpochResult" and e["netuid"] == 1)


def test_owner_sets_weights_without_stake_or_permit(make_net) -> None:
    net = make_net(stake_threshold=tao(1))
    subnet(net, "m1", "m2")
    net.err(key("m1"), "set_weights", "NotEnoughStakeToSetWeights", netuid=1, uids=[2], values=[1])
    assert not net.st.subnets[1].neurons[0].validator_permit
    net.ok(OWNER_HK, "set_weights", netuid=1, uids=[1, 2], values=[1, 1])
    assert net.st.subnets[1].neurons[0].weights == {1: 65535, 2: 65535}


def test_owner_holds_a_permit_without_stake(make_net) -> None:
    """Nobody has stake: only the owner's UID gets a validator permit."""
    net = make_net()
    subnet(net, "m1")
    next_epoch(net)
    assert [n.validator_permit for n in net.st.subnets[1].neurons] == [True, False]


def test_owner_below_the_stake_threshold_still_validates(make_net) -> None:
    """The owner's stake (below the threshold) counts in the epoch: its weights on a miner give
    that miner the incentive (before, the epoch zeroed the owner's stake: no incentive at all)."""
    net = make_net(stake_threshold=tao(1))
    subnet(net, "m1", "m2")
    net.ok(ALICE, "add_stake", hotkey=OWNER_HK.ss58_address, amount=tao(1) // 2)
    next_epoch(net)
    net.ok(OWNER_HK, "set_weights", netuid=1, uids=[2], values=[1])
    ev = next_epoch(net)
    rows = {r["uid"]: r for r in ev["uids"]}
    assert net.st.subnets[1].neurons[2].incentive == 65535
    assert rows[2]["server_emission"] > 0 and rows[0]["validator_emission"] > 0


def test_owner_self_weight_counts_and_its_miner_share_is_burned(make_net) -> None:
    """The owner weighting only itself: the epoch keeps that self-weight (incentive to the
    owner's UID), and the chain burns that miner share instead of paying the owner's hotkey;
    issuance grows only by what is paid."""
    net = make_net()
    subnet(net, "m1")
    net.ok(ALICE, "add_stake", hotkey=OWNER_HK.ss58_address, amount=tao(10))
    next_epoch(net)
    net.ok(OWNER_HK, "set_weights", netuid=1, uids=[0], values=[1])
    next_epoch(net)  # the weights count from this epoch on
    stake0 = sum(net.st.hotkeys[OWNER_HK.ss58_address].stakes.values())
    issuance0 = net.st.g.issuance
    ev = next_epoch(net)
    owner_row = next(r for r in ev["uids"] if r["uid"] == 0)
    assert net.st.subnets[1].neurons[0].incentive == 65535
    assert owner_row["server_emission"] > 0 and owner_row["validator_emission"] > 0
    stake1 = sum(net.st.hotkeys[OWNER_HK.ss58_address].stakes.values())
    assert stake1 - stake0 == owner_row["validator_emission"]  # dividends only
    assert ev["distributed"] == owner_row["validator_emission"]
    # Issuance: the blocks' accrual is not issuance until paid; the epoch mints the dividends
    # and the owner cut, never the withheld incentive.
    assert net.st.g.issuance - issuance0 == ev["distributed"] + ev["owner_cut"]


def test_owner_uid_is_never_the_prune_candidate(make_net) -> None:
    """A full subnet whose lowest-scoring, oldest, non-immune UID is the owner's: the next
    registration replaces the lowest other UID."""
    net = make_net()
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="max_allowed_uids", value=3)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="immunity_period", value=0)
    for m in ("m1", "m2"):
        net.ok(ALICE, "burned_register", netuid=1, hotkey=key(m).ss58_address)
    n = net.st.subnets[1].neurons
    n[0].pruning_score, n[1].pruning_score, n[2].pruning_score = 0, 7, 5
    ev = net.ok(ALICE, "burned_register", netuid=1, hotkey=key("m3").ss58_address)
    assert (ev[0]["type"], ev[0]["uid"]) == ("NeuronDeregistered", 2)
    assert net.st.subnets[1].neurons[0].hotkey == OWNER_HK.ss58_address


def test_idle_owner_takes_no_validator_row(make_net) -> None:
    """The owner's permit comes on top of the top-k: while the owner's UID has no stake, no
    weights and no bonds its row could change nothing, so the epoch gets no row for it and the
    row axis stays in its bucket (8 validators with max_allowed_validators 8: V = 8, not 16).
    Once the owner sets weights it gets its row."""
    net = make_net()
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="max_allowed_validators", value=8)
    vals = [key(f"v{i}") for i in range(8)]
    _, outs = net.step(
        *[net.xt(ALICE, "burned_register", netuid=1, hotkey=v.ss58_address) for v in vals]
    )
    assert all(o.error is None for o in outs)
    _, outs = net.step(
        *[net.xt(ALICE, "add_stake", hotkey=v.ss58_address, amount=tao(10)) for v in vals]
    )
    assert all(o.error is None for o in outs)
    next_epoch(net)
    assert sum(n.validator_permit for n in net.st.subnets[1].neurons) == 9  # 8 + the owner
    x, _, rows = build_inputs(net.st, [(net.st.subnets[1], 0)], net.block)
    assert rows == [list(range(1, 9))] and x.weights.shape[1] == 8
    net.ok(OWNER_HK, "set_weights", netuid=1, uids=[1], values=[1])
    x, _, rows = build_inputs(net.st, [(net.st.subnets[1], 0)], net.block)
    assert rows == [list(range(0, 9))] and x.weights.shape[1] == 16
