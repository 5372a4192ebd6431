"""Governance rules (chain/rules/governance.py): the senate, proposals, votes, their outcomes,
every refusal, the undo log and storage. In memory, block by block (fast)."""

from __future__ import annotations

from typing import Any

import pytest
from bittensor_wallet import Keypair

from subnetes.chain import views
from subnetes.chain.context import Ctx
from subnetes.chain.ledger import Ledger
from subnetes.chain.params import dev_config
from subnetes.chain.rules import governance
from subnetes.chain.units import tao

from .conftest import ALICE, Net, key

BOB = key("Bob")


def senate_net(make_net: Any, stakes: list[int], **overrides: Any) -> tuple[Net, list[Keypair]]:
    """A dev network whose root validators (hotkeys owned by Alice) hold ``stakes`` TAO, after
    the block that forms the senate."""
    net = make_net(**overrides)
    vals = [key(f"gov-v{i}") for i in range(len(stakes))]
    xts = [net.xt(ALICE, "root_register", hotkey=v.ss58_address) for v in vals]
    xts += [
        net.xt(ALICE, "add_stake", hotkey=v.ss58_address, amount=tao(s))
        for v, s in zip(vals, stakes, strict=True)
        if s
    ]
    _, outs = net.step(*xts)
    assert all(o.error is None for o in outs), [o.error for o in outs]
    net.step()  # the senate forms at the start of the next block
    return net, vals


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events if e["type"] not in ("Block", "FeePaid")]


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


def propose(net: Net, v: Keypair, name: str, value: Any, netuid: int | None = None) -> Any:
    args: dict[str, Any] = {"hotkey": v.ss58_address, "name": name, "value": value}
    if netuid is not None:
        args["netuid"] = netuid
    return net.ok(ALICE, "propose", **args)


def vote(net: Net, v: Keypair, pid: int, approve: bool) -> list[dict[str, Any]]:
    return net.ok(ALICE, "vote", hotkey=v.ss58_address, proposal=pid, approve=approve)


# ---- the senate -------------------------------------------------------------------------------
def test_senate_is_the_top_root_validators_by_stake(make_net) -> None:
    net = make_net(senate_size=2)
    vals = [key(f"gov-v{i}") for i in range(4)]
    for v in vals:
        net.ok(ALICE, "root_register", hotkey=v.ss58_address)
    # v0 30, v1 20, v2 20 (tie with v1: the lower root UID wins), v3 no stake
    _, outs = net.step(
        *[
            net.xt(ALICE, "add_stake", hotkey=v.ss58_address, amount=tao(s))
            for v, s in zip(vals[:3], (30, 20, 20), strict=True)
        ]
    )
    assert all(o.error is None for o in outs)
    assert net.st.gov.senate == []  # the stake moved in this block: the senate forms next block
    rec, _ = net.step()
    joined = of(rec.events, "SenateJoined")
    assert {e["hotkey"] for e in joined} == {vals[0].ss58_address, vals[1].ss58_address}
    assert all("extrinsic" not in e for e in joined)  # a block-start event
    assert net.st.gov.senate == sorted([vals[0].ss58_address, vals[1].ss58_address])
    row = views.senate(net.st)
    assert [m["hotkey"] for m in row["members"]] == [vals[0].ss58_address, vals[1].ss58_address]
    assert row["members"][0]["stake"] == tao(30) and row["senate_size"] == 2
    # v3 outstakes v1: at the next block start v1 leaves and v3 joins
    net.ok(ALICE, "add_stake", hotkey=vals[3].ss58_address, amount=tao(25))
    rec, _ = net.step()
    assert [(e["type"], e["hotkey"]) for e in rec.events if "Senate" in e["type"]] == [
        ("SenateLeft", vals[1].ss58_address),
        ("SenateJoined", vals[3].ss58_address),
    ]
    # nothing moves: no senate events, the governance chunk is not rewritten
    rec, _ = net.step()
    assert not [e for e in rec.events if "Senate" in e["type"]]


def test_senate_size_is_a_network_parameter(make_net) -> None:
    net, vals = senate_net(make_net, [30, 20, 10])
    assert len(net.st.gov.senate) == 3
    ev = propose(net, vals[0], "senate_size", 1)
    assert kinds(ev) == ["ProposalCreated", "Voted"]
    ev = vote(net, vals[1], 0, True)
    assert kinds(ev) == ["Voted", "ProposalExecuted"]
    assert net.st.config.senate_size == 1 and net.ledger.config.senate_size == 12
    rec, _ = net.step()  # the senate shrinks at the next block start
    assert {e["hotkey"] for e in of(rec.events, "SenateLeft")} == {
        vals[1].ss58_address,
        vals[2].ss58_address,
    }
    assert net.st.gov.senate == [vals[0].ss58_address]


# ---- proposals that pass ----------------------------------------------------------------------
def test_a_passed_proposal_executes_once_and_takes_effect(make_net) -> None:
    net, vals = senate_net(make_net, [30, 20, 10])
    ev = propose(net, vals[0], "subnet_limit", 1)
    created = of(ev, "ProposalCreated")[0]
    assert created["proposal"] == 0 and created["netuid"] is None and created["value"] == 1
    assert created["end"] == net.block + net.st.config.proposal_voting_period
    assert of(ev, "Voted")[0] == {**of(ev, "Voted")[0], "ayes": 1, "nays": 0, "approve": True}
    assert net.st.config.subnet_limit == 8  # 1 aye of 3 members: not yet
    ev = vote(net, vals[1], 0, True)  # 2 of 3: more than half
    done = of(ev, "ProposalExecuted")[0]
    assert (done["ayes"], done["nays"], done["senate"]) == (2, 0, 3)
    assert done["extrinsic"] == 0  # executed in the vote's extrinsic
    executed_at = net.block
    assert net.st.config.subnet_limit == 1 and views.network(net.st)["subnet_limit"] == 1
    assert net.ledger.config.subnet_limit == 8  # the genesis configuration is unchanged
    p = net.st.proposals[0]
    assert (p.status, p.closed_at, p.ayes) == (
        "executed",
        executed_at,
        [vals[0].ss58_address, vals[1].ss58_address],
    )
    assert net.st.gov.open == []
    # the new limit rules: one subnet fills the network, and it is immune
    net.ok(ALICE, "register_network", hotkey=key("gov-own1").ss58_address)
    net.err(BOB, "register_network", "AllNetworksInImmunity", hotkey=key("gov-own2").ss58_address)
    # exactly once: no more votes, and no block executes it again
    net.err(ALICE, "vote", "ProposalNotOpen", hotkey=vals[2].ss58_address, proposal=0, approve=True)
    events = net.run_to(net.block + 5)
    assert not of(events, "ProposalExecuted") and not of(events, "ProposalClosed")


def test_a_vote_can_change_until_the_close(make_net) -> None:
    net, vals = senate_net(make_net, [30, 20, 10])
    propose(net, vals[0], "network_rate_limit", 7)
    ev = vote(net, vals[1], 0, False)
    assert (of(ev, "Voted")[0]["ayes"], of(ev, "Voted")[0]["nays"]) == (1, 1)
    net.err(ALICE, "vote", "DuplicateVote", hotkey=vals[1].ss58_address, proposal=0, approve=False)
    ev = vote(net, vals[1], 0, True)  # changes its mind: now 2 ayes of 3
    assert kinds(ev) == ["Voted", "ProposalExecuted"]
    assert net.st.proposals[0].nays == [] and net.st.config.network_rate_limit == 7


def test_a_one_member_senate_executes_on_propose(make_net) -> None:
    net, vals = senate_net(make_net, [30])
    ev = propose(net, vals[0], "hyperparameter_authority", "subtensor")
    assert kinds(ev) == ["ProposalCreated", "Voted", "ProposalExecuted"]
    assert net.st.config.hyperparameter_authority == "subtensor"
    # the root authority now holds the root-only hyperparameters: the owner may not set tempo
    net.ok(BOB, "register_network", hotkey=key("gov-own").ss58_address)
    net.err(BOB, "set_hyperparameter", "NotSudo", netuid=1, name="tempo", value=20)


def test_a_subnet_hyperparameter_proposal(make_net) -> None:
    net, vals = senate_net(make_net, [30, 20])
    net.ok(BOB, "register_network", hotkey=key("gov-own").ss58_address)
    propose(net, vals[0], "max_registrations_per_block", 3, netuid=1)
    ev = vote(net, vals[1], 0, True)
    assert kinds(ev) == ["Voted", "HyperparameterSet", "ProposalExecuted"]
    assert of(ev, "ProposalExecuted")[0]["netuid"] == 1
    assert net.st.subnets[1].hp.max_registrations_per_block == 3


def test_a_change_refused_at_execution_closes_as_failed(make_net) -> None:
    net, vals = senate_net(make_net, [30, 20])
    net.ok(BOB, "register_network", hotkey=key("gov-own").ss58_address)
    propose(net, vals[0], "tempo", 20, netuid=1)
    net.ok(BOB, "dissolve_network", netuid=1)
    ev = vote(net, vals[1], 0, True)  # passes, but subnet 1 is gone: the vote still counts
    closed = of(ev, "ProposalClosed")[0]
    assert (closed["outcome"], closed["error"]) == ("failed", "SubNetworkDoesNotExist")
    p = net.st.proposals[0]
    assert (p.status, p.error) == ("failed", "SubNetworkDoesNotExist")


# ---- proposals that do not pass ---------------------------------------------------------------
@pytest.mark.parametrize("members", [3, 4])
def test_half_the_senate_saying_nay_rejects(make_net, members: int) -> None:
    net, vals = senate_net(make_net, [40, 30, 20, 10][:members], proposal_voting_period=5)
    propose(net, vals[0], "subnet_limit", 4)
    ev = vote(net, vals[1], 0, False)
    assert not of(ev, "ProposalClosed")
    ev = vote(net, vals[2], 0, False)  # 2 nays: at least half of 3 or 4
    closed = of(ev, "ProposalClosed")[0]
    assert (closed["outcome"], closed["ayes"], closed["nays"]) == ("rejected", 1, 2)
    assert "error" not in closed
    assert net.st.config.subnet_limit == 8 and net.st.proposals[0].status == "rejected"
    net.err(ALICE, "vote", "ProposalNotOpen", hotkey=vals[2].ss58_address, proposal=0, approve=True)
    net.run_to(net.st.proposals[0].end + 1)  # past its end it is still rejected, not expired
    assert net.st.proposals[0].status == "rejected"
    net.err(ALICE, "vote", "ProposalNotOpen", hotkey=vals[2].ss58_address, proposal=0, approve=True)


def test_an_undecided_proposal_expires_at_its_end_block(make_net) -> None:
    net, vals = senate_net(make_net, [30, 20, 10], proposal_voting_period=5)
    propose(net, vals[0], "subnet_limit", 4)
    end = net.st.proposals[0].end
    assert end == net.block + 5
    events = net.run_to(end - 1)
    assert not of(events, "ProposalClosed") and net.st.proposals[0].status == "open"
    rec, _ = net.step()  # block `end`: voting is over before any extrinsic
    closed = of(rec.events, "ProposalClosed")[0]
    assert (closed["outcome"], closed["block"]) == ("expired", end) and "extrinsic" not in closed
    assert net.st.proposals[0].closed_at == end and net.st.config.subnet_limit == 8
    net.err(ALICE, "vote", "ProposalExpired", hotkey=vals[1].ss58_address, proposal=0, approve=True)


def test_a_leaving_member_loses_its_votes_and_the_smaller_senate_decides(make_net) -> None:
    net, vals = senate_net(make_net, [40, 30, 20, 10])
    propose(net, vals[0], "subnet_limit", 5)
    vote(net, vals[2], 0, True)  # 2 ayes of 4: not more than half
    vote(net, vals[1], 0, False)
    assert net.st.proposals[0].status == "open"
    net.ok(ALICE, "remove_stake", hotkey=vals[1].ss58_address, amount=tao(30))
    rec, _ = net.step()  # v1 leaves (no stake): its nay goes; 2 ayes of 3 pass
    assert kinds(rec.events) == ["SenateLeft", "ProposalExecuted"]
    assert of(rec.events, "ProposalExecuted")[0]["senate"] == 3
    assert net.st.proposals[0].nays == [] and net.st.config.subnet_limit == 5


# ---- refusals ---------------------------------------------------------------------------------
def test_propose_refusals(make_net) -> None:
    net, vals = senate_net(make_net, [30, 20, 0], max_proposals=2)
    net.ok(BOB, "register_network", hotkey=key("gov-own").ss58_address)
    v0 = vals[0].ss58_address

    def refused(error: str, signer: Keypair = ALICE, /, **args: Any) -> None:
        net.err(signer, "propose", error, **{"hotkey": v0, **args})

    # a root validator without stake, and a hotkey nobody registered, are not members
    refused("NotSenateMember", hotkey=vals[2].ss58_address, name="subnet_limit", value=4)
    refused("NotSenateMember", hotkey=key("nobody").ss58_address, name="subnet_limit", value=4)
    refused("NonAssociatedColdKey", BOB, name="subnet_limit", value=4)  # Bob does not own v0
    for name in ("faucet_max", "sudo_key", "tx_fee_base", "balances", "subnet_owner_cut"):
        refused("ProposalCallNotAllowed", name=name, value=1)
    refused("InvalidNetworkParameter", name="subnet_limit", value=0)
    refused("InvalidNetworkParameter", name="subnet_limit", value=True)
    refused("InvalidNetworkParameter", name="subnet_limit", value="many")
    refused("InvalidNetworkParameter", name="senate_size", value=65)
    refused("InvalidNetworkParameter", name="hyperparameter_authority", value="root")
    refused("InvalidHyperparameter", name="tempo", value=10**9, netuid=1)
    refused("InvalidHyperparameter", name="no_such_param", value=1, netuid=1)
    refused("InvalidHyperparameter", name="tempo", value="fast", netuid=1)
    refused("SubNetworkDoesNotExist", name="tempo", value=20, netuid=7)
    refused("RootNetworkNotAllowed", name="tempo", value=20, netuid=0)
    refused("InvalidArguments", name="subnet_limit", value="Not an identifier")
    refused("InvalidArguments", name="subnet_limit")  # no value
    propose(net, vals[0], "subnet_limit", 4)
    refused("DuplicateProposal", name="subnet_limit", value=4)
    refused("DuplicateProposal", hotkey=vals[1].ss58_address, name="subnet_limit", value=4)
    propose(net, vals[0], "tempo", 20, netuid=1)  # the same name on a subnet is another change
    refused("TooManyProposals", name="subnet_limit", value=5)


def test_vote_refusals(make_net) -> None:
    net, vals = senate_net(make_net, [30, 20, 10, 0])
    v1 = vals[1].ss58_address
    net.err(ALICE, "vote", "ProposalMissing", hotkey=v1, proposal=0, approve=True)
    propose(net, vals[0], "subnet_limit", 4)
    net.err(ALICE, "vote", "NotSenateMember", hotkey=vals[3].ss58_address, proposal=0, approve=True)
    net.err(BOB, "vote", "NonAssociatedColdKey", hotkey=v1, proposal=0, approve=True)
    net.err(  # the proposer's aye is its vote
        ALICE, "vote", "DuplicateVote", hotkey=vals[0].ss58_address, proposal=0, approve=True
    )
    net.err(ALICE, "vote", "InvalidArguments", hotkey=v1, proposal=0, approve=1)
    net.err(ALICE, "vote", "ProposalMissing", hotkey=v1, proposal=1, approve=True)


# ---- state: undo log, state root, storage -----------------------------------------------------
def test_a_rolled_back_execution_restores_the_parameters(make_net) -> None:
    net, vals = senate_net(make_net, [30, 20])
    propose(net, vals[0], "subnet_limit", 3)
    st, before = net.st, net.st.all_chunks()
    with pytest.raises(RuntimeError), st.atomic():
        governance.vote(
            st,
            Ctx(net.block + 1),
            ALICE.ss58_address,
            {"hotkey": vals[1].ss58_address, "proposal": 0, "approve": True},
        )
        assert st.config.subnet_limit == 3 and st.proposals[0].status == "executed"
        raise RuntimeError("a later step of the extrinsic failed")
    assert st.config.subnet_limit == 8 and st.all_chunks() == before
    assert st.proposals[0].status == "open" and st.gov.open == [0]


def test_governance_survives_a_restart_and_is_in_the_state_root(
    make_net, consensus_fn, tmp_path
) -> None:
    db = str(tmp_path / "gov.db")
    net, vals = senate_net(make_net, [30, 20, 10], db=db)
    propose(net, vals[0], "subnet_limit", 3)
    vote(net, vals[1], 0, True)
    propose(net, vals[2], "network_min_lock", tao(50))
    root, chunks = net.st.state_root(), net.st.all_chunks()
    assert {"gov", "p/0", "p/1"} <= set(chunks)
    assert net.st.recomputed_root() == root
    net.ledger.storage.close()
    again = Ledger.open(dev_config(), db, consensus_fn)
    try:
        st = again.state
        assert st.all_chunks() == chunks and st.recomputed_root() == root
        assert st.config.subnet_limit == 3 and again.config.subnet_limit == 8
        assert st.gov.open == [1] and st.proposals[1].value == tao(50)
        assert [m["hotkey"] for m in views.senate(st)["members"]] == [v.ss58_address for v in vals]
        again.step()
        assert again.state.recomputed_root() == again.state.state_root()
    finally:
        again.storage.close()


def test_no_governance_chunk_until_there_is_a_senate(dev: Net) -> None:
    dev.run_to(3)
    assert "gov" not in dev.st.all_chunks()
    assert dev.st.recomputed_root() == dev.st.state_root()
