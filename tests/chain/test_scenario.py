"""Multi-block scenario: subnet → miners/validators → stake → weights → epoch → emissions →
a full subnet prunes its lowest miner → a full network prunes its lowest subnet."""

from __future__ import annotations

import pytest

from subnetes.chain.ledger import Ledger
from subnetes.chain.params import dev_config
from subnetes.chain.units import tao

from .conftest import ALICE, key


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgresql"])
def test_full_lifecycle(make_net, consensus_fn, backend, request, tmp_path) -> None:
    """The whole lifecycle; with a database, the restarted chain then resumes exactly there."""
    db = {
        "memory": lambda: None,
        "sqlite": lambda: str(tmp_path / "scenario.db"),
        "postgresql": lambda: request.getfixturevalue("pg").create_database(),
    }[backend]()
    net = make_net(db=db, subnet_limit=2, network_immunity_period=40)
    owner, bob = ALICE, key("Bob")
    ev = net.ok(owner, "register_network", hotkey=key("own").ss58_address)
    assert ev[0]["type"] == "SubnetRegistered" and ev[0]["netuid"] == 1
    hp = {"max_allowed_uids": 7, "immunity_period": 15, "max_allowed_validators": 2}
    for name, value in hp.items():
        net.ok(owner, "set_hyperparameter", netuid=1, name=name, value=value)
    vals, miners = [key(f"v{i}") for i in range(2)], [key(f"m{i}") for i in range(3)]
    _, outs = net.step(
        *[net.xt(bob, "burned_register", netuid=1, hotkey=k.ss58_address) for k in vals + miners]
    )
    assert all(o.error is None for o in outs)
    uid = net.st.subnets[1].uid_of
    _, outs = net.step(
        *[
            net.xt(bob, "add_stake", hotkey=v.ss58_address, amount=tao(1000 * (i + 1)))
            for i, v in enumerate(vals)
        ]
    )
    assert all(o.error is None for o in outs)
    net.run_to(20)  # an epoch grants permits to the two staked validators (and the owner's UID)
    assert [n.validator_permit for n in net.st.subnets[1].neurons[:3]] == [True, True, True]
    m_uids = [uid[m.ss58_address] for m in miners]
    # the validators agree: m0 best, m2 worst
    _, outs = net.step(
        *[net.xt(v, "set_weights", netuid=1, uids=m_uids, values=[300, 200, 1]) for v in vals]
    )
    assert all(o.error is None for o in outs), [o.error for o in outs]
    stake_before = {k.ss58_address: net.st.stake_of(k.ss58_address) for k in vals + miners}
    bal_before = net.st.balance(owner.ss58_address)
    iss_before = net.st.g.issuance
    events = net.run_to(31)
    res = [e for e in events if e["type"] == "EpochResult" and e["netuid"] == 1][-1]
    assert res["owner_cut"] == res["pending"] * 11796 // 65535
    assert net.st.balance(owner.ss58_address) == bal_before + res["owner_cut"]
    by_uid = {u["uid"]: u for u in res["uids"]}
    inc = [by_uid[u]["incentive"] for u in m_uids]
    assert inc[0] > inc[1] > inc[2]
    for m in miners[:2]:
        assert net.st.stake_of(m.ss58_address) > stake_before[m.ss58_address]  # incentive credited
    for v in vals:
        assert net.st.stake_of(v.ss58_address) > stake_before[v.ss58_address]  # dividends credited
    assert net.st.g.issuance - iss_before == res["owner_cut"] + res["distributed"]
    assert res["distributed"] <= res["pending"] - res["owner_cut"]
    # conservation: balances + stake + locks == issuance
    total = (
        sum(a.balance for a in net.st.accounts.values())
        + sum(h.total_stake for h in net.st.hotkeys.values())
        + sum(s.lock for s in net.st.subnets.values())
    )
    assert total == net.st.g.issuance
    # fill the subnet; the next registration prunes the lowest non-immune miner (m2)
    net.run_to(45)
    net.ok(bob, "burned_register", netuid=1, hotkey=key("m3").ss58_address)  # uid 6 = last slot
    ev = net.ok(bob, "burned_register", netuid=1, hotkey=key("m4").ss58_address)
    assert ev[0]["type"] == "NeuronDeregistered" and ev[0]["hotkey"] == miners[2].ss58_address
    # the network is full (2 subnets); a third registration prunes the lower-emission subnet
    net.ok(bob, "register_network", hotkey=key("own2").ss58_address)
    r = key("root-v")
    net.ok(bob, "root_register", hotkey=r.ss58_address)
    net.ok(bob, "add_stake", hotkey=r.ss58_address, amount=tao(10))
    net.ok(r, "set_root_weights", netuids=[1], values=[1])  # root favours subnet 1
    net.run_to(net.block + 45)
    assert net.st.subnets[1].emission_share > net.st.subnets[2].emission_share
    carol = key("carol")
    net.ok(carol, "faucet", amount=tao(10_000))
    ev = net.ok(carol, "register_network", hotkey=key("own3").ss58_address)
    gone = [e for e in ev if e["type"] == "SubnetDeregistered"]
    assert gone[0]["netuid"] == 2 and net.st.subnets[2].owner_coldkey == carol.ss58_address
    if db is None:
        return
    head, chunks = net.ledger.head, net.st.all_chunks()
    net.ledger.storage.close()
    again = Ledger.open(dev_config(), db, consensus_fn)
    try:
        assert again.head.hash == head.hash and again.state.all_chunks() == chunks
        assert again.verify_chain() == head.number + 1
        assert again.config.subnet_limit == 2  # the stored genesis, not the one passed in
        rec, _ = again.step()
        assert rec.parent == head.hash and again.storage.head() == head.number + 1
    finally:
        again.storage.close()
