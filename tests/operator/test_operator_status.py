"""Condition list helpers and the status documents built from observations."""

from subnetes.chain.units import rao_to_tao, tao_to_rao
from subnetes.operator import conditions as c
from subnetes.operator import events
from subnetes.operator.status import (
    DEREGISTERED,
    PENDING,
    REGISTERED,
    NeuronView,
    PodState,
    SubnetView,
    epoch_fields,
    neuron_status,
    status_patch,
    subnet_status,
)

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"


def cond(status: dict, type_: str) -> dict:
    found = c.get(status["conditions"], type_)
    assert found is not None, type_
    return found


def test_first_visit_is_ready_unknown() -> None:
    conds = c.first_visit(3, T0)
    assert c.get(conds, c.READY)["status"] == c.UNKNOWN
    assert c.get(conds, c.RECONCILING)["status"] == c.TRUE
    assert all(x["observedGeneration"] == 3 for x in conds)


def test_merge_keeps_transition_time_when_status_unchanged() -> None:
    old = [c.make(c.READY, c.FALSE, "A", "a", 1, T0)]
    same = c.merge(old, [c.make(c.READY, c.FALSE, "B", "b", 2, T1)])
    assert same[0]["lastTransitionTime"] == T0 and same[0]["reason"] == "B"
    flipped = c.merge(old, [c.make(c.READY, c.TRUE, "B", "b", 2, T1)])
    assert flipped[0]["lastTransitionTime"] == T1
    assert old[0]["reason"] == "A"  # input untouched


def test_merge_orders_by_type() -> None:
    merged = c.merge(
        None, [c.make(c.STALLED, c.FALSE, "X", "", 1, T0), c.make(c.READY, c.TRUE, "X", "", 1, T0)]
    )
    assert [x["type"] for x in merged] == [c.READY, c.STALLED]


def registered_view(**kw) -> NeuronView:
    base = dict(
        generation=2,
        phase=REGISTERED,
        hotkey="5F" + "x" * 46,
        hotkey_secret="m-hotkey",
        netuid=1,
        uid=4,
        pod=PodState("m-0", node="gpu-node-0", ip="127.64.0.5", running=True),
    )
    base.update(kw)
    return NeuronView(**base)


def test_registered_and_running_is_ready() -> None:
    st = neuron_status(registered_view(), None, T0)
    assert st["phase"] == REGISTERED and st["uid"] == 4 and st["nodeName"] == "gpu-node-0"
    assert st["observedGeneration"] == 2
    assert cond(st, c.READY)["status"] == c.TRUE
    assert cond(st, c.REGISTERED)["status"] == c.TRUE
    assert cond(st, c.SCHEDULED)["status"] == c.TRUE
    assert cond(st, c.RECONCILING)["status"] == c.FALSE
    assert cond(st, c.STALLED)["status"] == c.FALSE


def test_pending_pod_is_reconciling() -> None:
    st = neuron_status(registered_view(pod=PodState("m-0")), None, T0)
    assert cond(st, c.READY)["status"] == c.FALSE
    assert cond(st, c.RECONCILING)["status"] == c.TRUE
    assert cond(st, c.SCHEDULED)["reason"] == "PodPending"


def test_problem_is_stalled() -> None:
    view = NeuronView(generation=1, phase=PENDING, problem=("BurnAboveLimit", "burn 2 > maxBurn 1"))
    st = neuron_status(view, None, T0)
    assert cond(st, c.STALLED)["status"] == c.TRUE
    assert cond(st, c.STALLED)["reason"] == "BurnAboveLimit"
    assert cond(st, c.READY)["status"] == c.FALSE


def test_deregistered_stop_is_stalled_and_reregister_is_reconciling() -> None:
    stopped = NeuronView(
        generation=1,
        phase=DEREGISTERED,
        deregistered_block=99,
        deregistration_reason="Pruned",
        stopped=True,
    )
    st = neuron_status(stopped, None, T0)
    assert cond(st, c.STALLED)["reason"] == "Deregistered"
    assert cond(st, c.DEREGISTERED)["status"] == c.TRUE
    assert cond(st, c.SCHEDULED)["reason"] == "Stopped"
    assert st["deregisteredBlock"] == 99
    again = neuron_status(
        NeuronView(generation=1, phase=DEREGISTERED, deregistered_block=99), None, T0
    )
    assert cond(again, c.RECONCILING)["status"] == c.TRUE
    assert cond(again, c.STALLED)["status"] == c.FALSE
    # Registering again clears the record.
    back = neuron_status(registered_view(), st, T1)
    assert "deregisteredBlock" not in back and cond(back, c.DEREGISTERED)["status"] == c.FALSE


def test_status_patch_only_when_changed() -> None:
    st = neuron_status(registered_view(), None, T0)
    assert status_patch(st, neuron_status(registered_view(), st, T1)) is None
    patch = status_patch(st, neuron_status(registered_view(uid=7), st, T1))
    assert patch is not None and patch["uid"] == 7
    assert status_patch({"a": 1}, {}) == {"a": None}


def test_epoch_fields_mirror_the_chain_total() -> None:
    row = {
        "incentive": 65535,
        "trust": 0,
        "consensus": 32767,
        "rank": 2761,
        "emission": 41_000_000,
        "total_emission": 123_000_000,  # this registration's epochs, summed by the chain
    }
    first = epoch_fields("Miner", row, 100)
    assert first["incentive"] == "1.000000" and first["rank"] == "0.042130"
    assert first["lastEmission"] == "0.041000000" and first["totalEmission"] == "0.123000000"
    assert first["lastEpochBlock"] == 100
    assert epoch_fields("Miner", row, 100) == first  # a replay writes the same
    assert "dividends" not in first and "lastWeightsBlock" not in first


def test_status_after_missed_epochs_equals_the_chain() -> None:
    """The operator sees epochs 1-2, is down for 3-5, repairs from the metagraph (rows as of
    epoch 5), then streams epoch 6: totalEmission equals the chain's total each time. Adding
    up the epochs seen (the old status) lost epochs 3 and 4 for good."""
    emissions = [10, 20, 30, 40, 50, 60]
    blocks = [11 * (i + 1) for i in range(len(emissions))]
    chain_rows = [
        {"hotkey": "hk", "uid": 3, "emission": em, "total_emission": sum(emissions[: i + 1])}
        for i, em in enumerate(emissions)
    ]
    status = {"phase": "Registered", "netuid": 1, "uid": 3}
    for i in (0, 1):  # streamed
        status = events.fold_epochs("Miner", status, 1, [(blocks[i], chain_rows[i])]) or status
    # Restart: repair writes the metagraph rows at the subnet's last_epoch_block.
    status = events.fold_epochs("Miner", status, 1, [(blocks[4], chain_rows[4])]) or status
    assert status["totalEmission"] == rao_to_tao(150) and status["lastEpochBlock"] == blocks[4]
    assert tao_to_rao(status["totalEmission"]) > sum(emissions[i] for i in (0, 1, 4))
    status = events.fold_epochs("Miner", status, 1, [(blocks[5], chain_rows[5])]) or status
    assert status["totalEmission"] == rao_to_tao(sum(emissions))
    assert status["lastEmission"] == rao_to_tao(60)


def test_epoch_fields_validator() -> None:
    row = {
        "incentive": 0,
        "trust": 0,
        "consensus": 0,
        "rank": 0,
        "dividends": 65535,
        "validator_trust": 30000,
        "validator_permit": True,
        "stake": 10**12,
        "emission": 5,
        "total_emission": 15,
        "weights_block": 42,
    }
    out = epoch_fields("Validator", row, 10)
    assert out["dividends"] == "1.000000" and out["validatorPermit"] is True
    assert out["stake"] == "1000.000000000" and out["validatorTrust"] == "0.457771"
    assert out["lastWeightsBlock"] == 42 and out["totalEmission"] == "0.000000015"


def test_last_weights_block_follows_the_chains_weights_block() -> None:
    """lastWeightsBlock is read from the row's weights_block (the key the chain serves); a
    registration that never set weights (-1) has none."""
    old = {"phase": "Registered", "netuid": 1, "uid": 2, "lastWeightsBlock": 40}
    row = {"hotkey": "hk", "uid": 2, "emission": 0, "total_emission": 0, "weights_block": 57}
    new = events.fold_epochs("Validator", old, 1, [(66, row)])
    assert new is not None and new["lastWeightsBlock"] == 57
    fresh = events.fold_epochs("Validator", new, 1, [(77, row | {"weights_block": -1})])
    assert fresh is not None and "lastWeightsBlock" not in fresh


def test_subnet_status() -> None:
    view = SubnetView(
        generation=1,
        phase=REGISTERED,
        netuid=2,
        owner_coldkey="5C",
        lock_cost_paid_rao=10**11,
        neurons_total=3,
        neurons_validators=1,
        max_allowed=64,
    )
    st = subnet_status(view, None, T0)
    assert st["netuid"] == 2 and st["lockCostPaid"] == "100.000000000"
    assert st["neurons"] == {"total": 3, "validators": 1, "maxAllowed": 64}
    assert cond(st, c.READY)["status"] == c.TRUE
    blocked = subnet_status(
        SubnetView(generation=1, phase=PENDING, problem=("LockCostAboveLimit", "x")), None, T0
    )
    assert cond(blocked, c.STALLED)["status"] == c.TRUE
