"""Every extrinsic: its effect and each of its error paths (rejections change nothing)."""

from __future__ import annotations

import pytest

from subnetes.chain.errors import ChainError
from subnetes.chain.rules.weights import weights_commit_hash
from subnetes.chain.units import tao

from .conftest import ALICE, Net, key

OWNER_HK = key("owner-hk")
BOB = key("Bob")


@pytest.fixture
def net(dev: Net) -> Net:
    dev.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    return dev


def reg(net: Net, name: str, coldkey=ALICE, netuid: int = 1) -> int:
    ev = net.ok(coldkey, "burned_register", netuid=netuid, hotkey=key(name).ss58_address)
    return next(e for e in ev if e["type"] == "NeuronRegistered")["uid"]


# ---- signature, nonce, shape -----------------------------------------------------------------


def test_bad_signature_stale_and_future_nonce(net: Net) -> None:
    from subnetes.chain.context import Ctx
    from subnetes.chain.extrinsic import apply_extrinsic, parse, sign

    g = net.ledger.genesis_hash
    body = sign(
        ALICE,
        "transfer",
        {"dest": BOB.ss58_address, "amount": 1},
        net.st.nonce(ALICE.ss58_address),
        g,
    )
    body["args"]["amount"] = 2  # tampered after signing
    with pytest.raises(ChainError, match="BadSignature"):
        apply_extrinsic(net.st, Ctx(net.block + 1), parse(body), g)
    body = sign(ALICE, "transfer", {"dest": BOB.ss58_address, "amount": 1}, 0, g)
    with pytest.raises(ChainError, match="StaleNonce"):
        apply_extrinsic(net.st, Ctx(net.block + 1), parse(body), g)
    body = sign(ALICE, "transfer", {"dest": BOB.ss58_address, "amount": 1}, 99, g)
    with pytest.raises(ChainError, match="FutureNonce"):
        apply_extrinsic(net.st, Ctx(net.block + 1), parse(body), g)
    body = sign(
        ALICE,
        "transfer",
        {"dest": BOB.ss58_address, "amount": 1},
        net.st.nonce(ALICE.ss58_address),
        "0x00",
    )
    with pytest.raises(ChainError, match="WrongGenesis"):
        apply_extrinsic(net.st, Ctx(net.block + 1), parse(body), g)
    for bad in (
        [],
        {"call": "x"},
        {**body, "extra": 1},
        {**body, "nonce": "1"},
        {**body, "nonce": True},
    ):
        with pytest.raises(ChainError, match="MalformedExtrinsic"):
            parse(bad)


def test_args_validation(net: Net) -> None:
    net.err(ALICE, "transfer", "InvalidArguments", dest=BOB.ss58_address)
    net.err(ALICE, "transfer", "InvalidArguments", dest=BOB.ss58_address, amount="1")
    net.err(ALICE, "transfer", "InvalidArguments", dest=BOB.ss58_address, amount=True)
    net.err(ALICE, "transfer", "InvalidArguments", dest=BOB.ss58_address, amount=-1)
    net.err(ALICE, "transfer", "InvalidArguments", dest="nope", amount=1)
    net.err(ALICE, "transfer", "InvalidArguments", dest=BOB.ss58_address, amount=1, memo="x")
    net.err(ALICE, "no_such_call", "UnknownCall")


# ---- balances --------------------------------------------------------------------------------


def test_transfer(net: Net) -> None:
    c = key("c1")
    net.ok(ALICE, "transfer", dest=c.ss58_address, amount=tao(5))
    assert net.st.balance(c.ss58_address) == tao(5)
    net.err(c, "transfer", "InsufficientBalance", dest=BOB.ss58_address, amount=tao(6))
    net.err(c, "transfer", "AmountTooLow", dest=BOB.ss58_address, amount=0)


def test_faucet(net: Net, make_net) -> None:
    c = key("fresh")
    iss = net.st.g.issuance
    net.ok(c, "faucet", amount=tao(10))
    assert net.st.balance(c.ss58_address) == tao(10) and net.st.g.issuance == iss + tao(10)
    net.err(c, "faucet", "FaucetAmountTooHigh", amount=net.st.config.faucet_max + 1)
    off = make_net(faucet_enabled=False)
    off.err(c, "faucet", "FaucetDisabled", amount=1)


def test_sudo_set_balance(net: Net) -> None:
    net.ok(ALICE, "sudo_set_balance", who=BOB.ss58_address, amount=7)
    assert net.st.balance(BOB.ss58_address) == 7
    net.err(BOB, "sudo_set_balance", "NotSudo", who=BOB.ss58_address, amount=7)


# ---- subnets ---------------------------------------------------------------------------------


def test_register_network_lock_and_owner_uid0(dev: Net) -> None:
    bal = dev.st.balance(ALICE.ss58_address)
    ev = dev.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    types = [e["type"] for e in ev]
    assert types[:2] == ["SubnetRegistered", "NeuronRegistered"]
    s = dev.st.subnets[1]
    assert s.owner_coldkey == ALICE.ss58_address and s.neurons[0].hotkey == OWNER_HK.ss58_address
    assert dev.st.balance(ALICE.ss58_address) == bal - tao(10) and s.lock == tao(10)
    # the price doubled
    from subnetes.chain.rules.subnets import current_lock_cost

    assert current_lock_cost(dev.st, dev.block + 1) == 2 * tao(10) - tao(10) // 100
    dev.err(
        ALICE,
        "register_network",
        "LockCostExceedsLimit",
        hotkey=key("o2").ss58_address,
        max_lock_cost=tao(1),
    )
    poor = key("poor")
    dev.ok(poor, "faucet", amount=tao(1))
    dev.err(poor, "register_network", "CannotAffordLockCost", hotkey=key("o3").ss58_address)
    dev.err(BOB, "register_network", "NonAssociatedColdKey", hotkey=OWNER_HK.ss58_address)


def test_network_rate_limit(make_net) -> None:
    net = make_net(network_rate_limit=5)
    net.ok(ALICE, "register_network", hotkey=key("a").ss58_address)
    net.err(ALICE, "register_network", "NetworkTxRateLimitExceeded", hotkey=key("b").ss58_address)
    net.run_to(net.block + 5)
    net.ok(ALICE, "register_network", hotkey=key("b").ss58_address)


def test_subnet_limit_prunes_lowest_and_all_immune(make_net) -> None:
    net = make_net(subnet_limit=2, network_immunity_period=5)
    net.ok(BOB, "register_network", hotkey=key("a").ss58_address)
    net.ok(BOB, "register_network", hotkey=key("b").ss58_address)
    net.err(ALICE, "register_network", "AllNetworksInImmunity", hotkey=key("c").ss58_address)
    net.run_to(net.block + 6)
    payer = key("payer")
    net.ok(payer, "faucet", amount=tao(1000))
    bal = net.st.balance(payer.ss58_address)
    lock1 = net.st.subnets[1].lock
    ev = net.ok(payer, "register_network", hotkey=key("c").ss58_address)
    # equal shares: tie -> the oldest (netuid 1) is pruned and its netuid reused
    dereg = [e for e in ev if e["type"] == "SubnetDeregistered"]
    assert dereg and dereg[0]["netuid"] == 1 and dereg[0]["lock_returned"] == lock1
    assert net.st.subnets[1].owner_hotkey == key("c").ss58_address
    assert net.st.balance(payer.ss58_address) == bal - net.st.subnets[1].lock


def test_dissolve_network(net: Net) -> None:
    net.err(BOB, "dissolve_network", "NotSubnetOwner", netuid=1)
    net.err(ALICE, "dissolve_network", "SubNetworkDoesNotExist", netuid=7)
    net.err(ALICE, "dissolve_network", "RootNetworkNotAllowed", netuid=0)
    bal = net.st.balance(ALICE.ss58_address)
    net.ok(ALICE, "dissolve_network", netuid=1)
    assert 1 not in net.st.subnets and net.st.balance(ALICE.ss58_address) == bal + tao(10)


def test_set_hyperparameter(net: Net, make_net) -> None:
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="tempo", value=20)
    assert net.st.subnets[1].hp.tempo == 20
    net.err(BOB, "set_hyperparameter", "NotSubnetOwner", netuid=1, name="tempo", value=5)
    net.err(ALICE, "set_hyperparameter", "InvalidHyperparameter", netuid=1, name="nope", value=5)
    net.err(
        ALICE, "set_hyperparameter", "InvalidHyperparameter", netuid=1, name="kappa", value=70000
    )
    net.err(
        ALICE, "set_hyperparameter", "InvalidHyperparameter", netuid=1, name="kappa", value=True
    )
    net.err(
        ALICE,
        "set_hyperparameter",
        "InvalidHyperparameter",
        netuid=1,
        name="liquid_alpha_enabled",
        value=1,
    )
    net.err(
        ALICE,
        "set_hyperparameter",
        "InvalidHyperparameter",
        netuid=1,
        name="min_burn",
        value=tao(1000),
    )
    reg(net, "m1")
    net.err(
        ALICE,
        "set_hyperparameter",
        "MaxAllowedUidsLessThanCurrentUids",
        netuid=1,
        name="max_allowed_uids",
        value=1,
    )
    # subtensor authority: root-only params need sudo
    sub = make_net(hyperparameter_authority="subtensor")
    sub.ok(BOB, "register_network", hotkey=key("bo").ss58_address)
    sub.err(BOB, "set_hyperparameter", "NotSudo", netuid=1, name="kappa", value=1)
    sub.ok(BOB, "set_hyperparameter", netuid=1, name="immunity_period", value=3)
    sub.ok(ALICE, "sudo_set_hyperparameter", netuid=1, name="kappa", value=1)
    sub.err(BOB, "sudo_set_hyperparameter", "NotSudo", netuid=1, name="kappa", value=2)


# ---- neurons ---------------------------------------------------------------------------------


def test_burned_register_and_errors(net: Net) -> None:
    iss, burn = net.st.g.issuance, net.st.subnets[1].burn
    uid = reg(net, "m1")
    assert uid == 1 and net.st.g.issuance == iss - burn  # recycled
    net.err(
        ALICE,
        "burned_register",
        "HotKeyAlreadyRegisteredInSubNet",
        netuid=1,
        hotkey=key("m1").ss58_address,
    )
    net.err(
        ALICE, "burned_register", "SubNetworkDoesNotExist", netuid=5, hotkey=key("m2").ss58_address
    )
    net.err(
        ALICE,
        "burned_register",
        "RegistrationNotPermittedOnRootSubnet",
        netuid=0,
        hotkey=key("m2").ss58_address,
    )
    net.ok(BOB, "register_network", hotkey=key("o2").ss58_address)
    net.err(BOB, "burned_register", "NonAssociatedColdKey", netuid=2, hotkey=key("m1").ss58_address)
    net.err(
        ALICE,
        "burned_register",
        "BurnExceedsLimit",
        netuid=1,
        hotkey=key("m2").ss58_address,
        max_burn=0,
    )
    poor = key("poor2")
    net.err(
        poor, "burned_register", "NotEnoughBalanceToStake", netuid=1, hotkey=key("m3").ss58_address
    )
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="registration_allowed", value=False)
    net.err(
        ALICE,
        "burned_register",
        "SubNetRegistrationDisabled",
        netuid=1,
        hotkey=key("m2").ss58_address,
    )


def test_registration_rate_limits(net: Net) -> None:
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="max_registrations_per_block", value=1)
    _, outs = net.step(
        net.xt(ALICE, "burned_register", netuid=1, hotkey=key("a").ss58_address),
        net.xt(ALICE, "burned_register", netuid=1, hotkey=key("b").ss58_address),
    )
    assert outs[0].error is None and outs[1].error.name == "TooManyRegistrationsThisBlock"
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="target_registrations_per_interval", value=1)
    net.ok(ALICE, "burned_register", netuid=1, hotkey=key("b").ss58_address)
    net.ok(ALICE, "burned_register", netuid=1, hotkey=key("c").ss58_address)
    net.err(
        ALICE,
        "burned_register",
        "TooManyRegistrationsThisInterval",
        netuid=1,
        hotkey=key("d").ss58_address,
    )


def test_burn_adjusts_each_interval(make_net) -> None:
    net = make_net()
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="adjustment_interval", value=3)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="target_registrations_per_interval", value=1)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="adjustment_alpha", value=0)
    b0 = net.st.subnets[1].burn
    net.run_to(net.block + 4)
    assert net.st.subnets[1].burn == b0 // 2  # no registrations: halves with alpha 0
    b1 = net.st.subnets[1].burn
    net.ok(ALICE, "burned_register", netuid=1, hotkey=key("x").ss58_address)
    net.ok(ALICE, "burned_register", netuid=1, hotkey=key("y").ss58_address)
    net.ok(ALICE, "burned_register", netuid=1, hotkey=key("z").ss58_address)
    net.run_to(net.block + 3)
    assert net.st.subnets[1].burn > b1


def test_full_subnet_replaces_lowest_non_immune(make_net) -> None:
    net = make_net()
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="max_allowed_uids", value=3)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="immunity_period", value=3)
    reg(net, "m1")
    reg(net, "m2")
    # all immune: lowest among immune (both score 0, earliest = m1)
    net.st.subnets[1].neurons[2].pruning_score = 5
    ev = net.ok(ALICE, "burned_register", netuid=1, hotkey=key("m3").ss58_address)
    assert [(e["type"], e["uid"]) for e in ev][:2] == [
        ("NeuronDeregistered", 1),
        ("NeuronRegistered", 1),
    ]
    net.run_to(net.block + 5)
    n = net.st.subnets[1].neurons
    n[1].pruning_score, n[2].pruning_score = 9, 1
    ev = net.ok(ALICE, "burned_register", netuid=1, hotkey=key("m4").ss58_address)
    assert (
        ev[0]["type"] == "NeuronDeregistered"
        and ev[0]["uid"] == 2
        and ev[0]["hotkey"] == key("m2").ss58_address
    )
    assert net.st.subnets[1].neurons[0].hotkey == OWNER_HK.ss58_address  # owner never pruned


def test_no_neuron_id_available(make_net) -> None:
    net = make_net()
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="max_allowed_uids", value=1)
    net.err(ALICE, "burned_register", "NoNeuronIdAvailable", netuid=1, hotkey=key("m").ss58_address)


def test_root_register(net: Net, make_net) -> None:
    net.ok(ALICE, "root_register", hotkey=key("r1").ss58_address)
    assert key("r1").ss58_address in net.st.subnets[0].uid_of
    net.err(
        ALICE, "root_register", "HotKeyAlreadyRegisteredInSubNet", hotkey=key("r1").ss58_address
    )
    small = make_net(root_max_uids=1)
    small.ok(ALICE, "root_register", hotkey=key("r1").ss58_address)
    small.err(ALICE, "root_register", "StakeTooLowForRoot", hotkey=key("r2").ss58_address)


def test_serve_axon(net: Net) -> None:
    reg(net, "m1")
    m1 = key("m1")
    ev = net.ok(m1, "serve_axon", netuid=1, ip="127.64.0.5", port=8091)
    assert ev[0]["type"] == "AxonServed"
    assert net.st.subnets[1].neurons[1].axon.ip == "127.64.0.5"
    net.err(m1, "serve_axon", "InvalidIpAddress", netuid=1, ip="999.1.1.1", port=1)
    net.err(m1, "serve_axon", "InvalidPort", netuid=1, ip="127.0.0.1", port=0)
    net.err(
        key("stranger"),
        "serve_axon",
        "HotKeyNotRegisteredInSubNet",
        netuid=1,
        ip="127.0.0.1",
        port=1,
    )
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="serving_rate_limit", value=50)
    net.err(m1, "serve_axon", "ServingRateLimitExceeded", netuid=1, ip="127.0.0.1", port=2)


# ---- stake -----------------------------------------------------------------------------------


def test_stake_and_nomination(net: Net) -> None:
    v = key("v1")
    reg(net, "v1")
    net.ok(ALICE, "add_stake", hotkey=v.ss58_address, amount=tao(100))
    net.ok(BOB, "add_stake", hotkey=v.ss58_address, amount=tao(50))  # nominator
    assert net.st.hotkeys[v.ss58_address].stakes == {
        ALICE.ss58_address: tao(100),
        BOB.ss58_address: tao(50),
    }
    net.ok(BOB, "remove_stake", hotkey=v.ss58_address, amount=tao(50))
    assert BOB.ss58_address not in net.st.hotkeys[v.ss58_address].stakes
    net.err(BOB, "remove_stake", "NotEnoughStakeToWithdraw", hotkey=v.ss58_address, amount=1)
    net.err(BOB, "add_stake", "HotKeyAccountNotExists", hotkey=key("nobody").ss58_address, amount=1)
    net.err(
        BOB, "remove_stake", "HotKeyAccountNotExists", hotkey=key("nobody").ss58_address, amount=1
    )
    net.err(key("poor"), "add_stake", "NotEnoughBalanceToStake", hotkey=v.ss58_address, amount=1)
    net.err(BOB, "add_stake", "AmountTooLow", hotkey=v.ss58_address, amount=0)
    net.err(BOB, "remove_stake", "AmountTooLow", hotkey=v.ss58_address, amount=0)


def test_set_take(net: Net, make_net) -> None:
    net.ok(ALICE, "set_take", hotkey=OWNER_HK.ss58_address, take=100)
    assert net.st.hotkeys[OWNER_HK.ss58_address].take == 100
    net.err(BOB, "set_take", "NonAssociatedColdKey", hotkey=OWNER_HK.ss58_address, take=1)
    net.err(ALICE, "set_take", "DelegateTakeTooHigh", hotkey=OWNER_HK.ss58_address, take=20000)
    net.err(ALICE, "set_take", "HotKeyAccountNotExists", hotkey=key("zz").ss58_address, take=1)
    slow = make_net(take_rate_limit=100)
    slow.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    slow.ok(ALICE, "set_take", hotkey=OWNER_HK.ss58_address, take=10)  # decrease: immediate
    slow.err(
        ALICE, "set_take", "DelegateTxRateLimitExceeded", hotkey=OWNER_HK.ss58_address, take=11
    )


# ---- weights ---------------------------------------------------------------------------------


@pytest.fixture
def wnet(net: Net) -> Net:
    """Subnet 1 with validator v1 (permit after one epoch) and miners m1, m2."""
    for n in ("v1", "m1", "m2"):
        reg(net, n)
    net.ok(ALICE, "add_stake", hotkey=key("v1").ss58_address, amount=tao(100))
    net.run_to(net.block + 11)
    assert net.st.subnets[1].neurons[1].validator_permit
    return net


def test_set_weights_ok_and_upscaled(wnet: Net) -> None:
    ev = wnet.ok(key("v1"), "set_weights", netuid=1, uids=[2, 3], values=[1, 2])
    assert ev[0]["type"] == "WeightsSet"
    assert wnet.st.subnets[1].neurons[1].weights == {2: 32767, 3: 65535}


def test_set_weights_errors(wnet: Net) -> None:
    v = key("v1")
    e = wnet.err
    e(v, "set_weights", "WeightVecNotEqualSize", netuid=1, uids=[2], values=[1, 2])
    e(v, "set_weights", "SubNetworkDoesNotExist", netuid=9, uids=[2], values=[1])
    e(
        v,
        "set_weights",
        "UidsLengthExceedUidsInSubNet",
        netuid=1,
        uids=list(range(5)),
        values=[1] * 5,
    )
    e(key("out"), "set_weights", "HotKeyNotRegisteredInSubNet", netuid=1, uids=[2], values=[1])
    e(key("m1"), "set_weights", "NeuronNoValidatorPermit", netuid=1, uids=[3], values=[1])
    e(v, "set_weights", "DuplicateUids", netuid=1, uids=[2, 2], values=[1, 1])
    e(v, "set_weights", "UidVecContainInvalidOne", netuid=1, uids=[2, 3, 9], values=[1, 1, 1])
    wnet.ok(ALICE, "set_hyperparameter", netuid=1, name="min_allowed_weights", value=2)
    e(v, "set_weights", "WeightVecLengthIsLow", netuid=1, uids=[2], values=[1])
    wnet.ok(ALICE, "set_hyperparameter", netuid=1, name="max_weight_limit", value=40000)
    e(v, "set_weights", "MaxWeightExceeded", netuid=1, uids=[2, 3], values=[1, 1])
    wnet.ok(ALICE, "set_hyperparameter", netuid=1, name="max_weight_limit", value=65535)
    wnet.ok(ALICE, "set_hyperparameter", netuid=1, name="weights_version_key", value=5)
    e(
        v,
        "set_weights",
        "IncorrectWeightVersionKey",
        netuid=1,
        uids=[2, 3],
        values=[1, 1],
        version_key=4,
    )
    wnet.ok(v, "set_weights", netuid=1, uids=[2, 3], values=[1, 1], version_key=5)
    wnet.ok(ALICE, "set_hyperparameter", netuid=1, name="weights_rate_limit", value=100)
    e(
        v,
        "set_weights",
        "SettingWeightsTooFast",
        netuid=1,
        uids=[2, 3],
        values=[1, 1],
        version_key=5,
    )
    # self-weight needs no permit
    wnet.ok(key("m1"), "set_weights", netuid=1, uids=[2], values=[1], version_key=5)


def test_stake_threshold(make_net) -> None:
    net = make_net(stake_threshold=tao(1))
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    net.ok(ALICE, "burned_register", netuid=1, hotkey=key("m1").ss58_address)
    net.err(key("m1"), "set_weights", "NotEnoughStakeToSetWeights", netuid=1, uids=[1], values=[1])


def test_commit_reveal(wnet: Net) -> None:
    v = key("v1")
    wnet.err(v, "commit_weights", "CommitRevealDisabled", netuid=1, commit_hash="0x" + "00" * 32)
    wnet.ok(ALICE, "set_hyperparameter", netuid=1, name="commit_reveal_enabled", value=True)
    wnet.err(v, "set_weights", "CommitRevealEnabled", netuid=1, uids=[2], values=[1])
    h = weights_commit_hash(v.ss58_address, 1, [2, 3], [1, 2], [7, 7], 0)
    wnet.ok(v, "commit_weights", netuid=1, commit_hash=h)
    wnet.err(
        v, "reveal_weights", "RevealTooEarly", netuid=1, uids=[2, 3], values=[1, 2], salt=[7, 7]
    )
    wnet.err(
        v,
        "reveal_weights",
        "NoWeightsCommitFound",
        netuid=1,
        uids=[2, 3],
        values=[1, 3],
        salt=[7, 7],
    )
    wnet.run_to(wnet.block + 11)
    wnet.ok(v, "reveal_weights", netuid=1, uids=[2, 3], values=[1, 2], salt=[7, 7])
    assert wnet.st.subnets[1].neurons[1].weights == {2: 32767, 3: 65535}


def test_root_weights_drive_shares(net: Net) -> None:
    net.ok(BOB, "register_network", hotkey=key("o2").ss58_address)
    assert (
        net.st.subnets[1].emission_share == net.st.subnets[2].emission_share
    )  # equal w/o root weights
    r = key("r1")
    net.ok(ALICE, "root_register", hotkey=r.ss58_address)
    net.ok(ALICE, "add_stake", hotkey=r.ss58_address, amount=tao(10))
    net.ok(r, "set_root_weights", netuids=[2], values=[1])
    net.err(r, "set_root_weights", "UidVecContainInvalidOne", netuids=[5], values=[1])
    net.run_to(net.block + 11)  # a root epoch
    assert net.st.subnets[2].emission_share > 0 and net.st.subnets[1].emission_share == 0


def test_reset_bonds(wnet: Net) -> None:
    wnet.ok(key("v1"), "set_weights", netuid=1, uids=[2, 3], values=[1, 2])
    wnet.run_to(wnet.block + 11)
    assert wnet.st.subnets[1].neurons[1].bonds
    wnet.err(BOB, "reset_bonds", "NotSubnetOwner", netuid=1)
    wnet.err(ALICE, "reset_bonds", "UidNotFound", netuid=1, uid=50)
    wnet.ok(ALICE, "reset_bonds", netuid=1)
    assert not wnet.st.subnets[1].neurons[1].bonds
