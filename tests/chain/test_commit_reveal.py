"""Commit-reveal paths beyond the happy one (chain/rules/weights.py), against Subtensor's
``internal_commit_weights`` / ``internal_reveal_weights``: an expired commit, too many unrevealed
commits, the queue a reveal consumes, and weights committed before a UID changed hands.

Dev profile: tempo 10, so subnet 1's epoch index is (block + 2) // 11; reveal_period_epochs 1
(a commit of epoch e is revealed in epoch e + 1 and expired from e + 2 on).
"""

from __future__ import annotations

import pytest

from subnetes.chain.rules.weights import MAX_UNREVEALED_COMMITS, epoch_index, weights_commit_hash
from subnetes.chain.units import tao

from .conftest import ALICE, Net, key

OWNER_HK = key("owner-hk")
V = key("v1")


def _epoch(block: int) -> int:
    return epoch_index(block, 1, 10)


def _to_epoch(net: Net, e: int) -> None:
    """Run until the NEXT block (the one an extrinsic lands in) is the first of epoch ``e``."""
    while _epoch(net.block + 1) < e:
        net.step()


def _hash(uids: list[int], values: list[int], salt: int) -> str:
    return weights_commit_hash(V.ss58_address, 1, uids, values, [salt], 0)


def _reveal(uids: list[int], values: list[int], salt: int) -> dict:
    return {"netuid": 1, "uids": uids, "values": values, "salt": [salt]}


@pytest.fixture
def crnet(make_net) -> Net:
    """Subnet 1 with commit-reveal on: validator v1 (uid 1, permit) and miners m1, m2."""
    net: Net = make_net()
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    for name in ("v1", "m1", "m2"):
        net.ok(ALICE, "burned_register", netuid=1, hotkey=key(name).ss58_address)
    net.ok(ALICE, "add_stake", hotkey=V.ss58_address, amount=tao(100))
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="commit_reveal_enabled", value=True)
    net.run_to(net.block + 11)
    assert net.st.subnets[1].neurons[1].validator_permit
    return net


def test_expired_commit_cannot_be_revealed(crnet: Net) -> None:
    """Past its reveal epoch a commit is expired: ExpiredWeightCommit, and nothing is stored."""
    e = _epoch(crnet.block + 1)
    crnet.ok(V, "commit_weights", netuid=1, commit_hash=_hash([2], [1], 1))
    _to_epoch(crnet, e + 2)
    crnet.err(V, "reveal_weights", "ExpiredWeightCommit", **_reveal([2], [1], 1))
    assert crnet.st.subnets[1].neurons[1].weights == {}


def test_reveal_in_the_last_block_of_the_reveal_epoch(crnet: Net) -> None:
    """The reveal epoch lasts to its last block: a reveal there is stored."""
    e = _epoch(crnet.block + 1)
    crnet.ok(V, "commit_weights", netuid=1, commit_hash=_hash([2], [1], 1))
    while _epoch(crnet.block + 2) < e + 2:  # until the next block is the last of epoch e + 1
        crnet.step()
    crnet.ok(V, "reveal_weights", **_reveal([2], [1], 1))
    assert _epoch(crnet.block) == e + 1
    assert crnet.st.subnets[1].neurons[1].weights == {2: 65535}


def test_too_many_unrevealed_commits(crnet: Net) -> None:
    """Ten live commits: the eleventh is refused. Once they expire, a commit is accepted again
    and the expired ones are dropped."""
    for i in range(MAX_UNREVEALED_COMMITS):
        crnet.ok(V, "commit_weights", netuid=1, commit_hash=_hash([2], [1], i))
    assert len(crnet.st.subnets[1].neurons[1].commits) == MAX_UNREVEALED_COMMITS
    crnet.err(
        V,
        "commit_weights",
        "TooManyUnrevealedCommits",
        netuid=1,
        commit_hash=_hash([2], [1], 99),
    )
    newest = crnet.st.subnets[1].neurons[1].commits[-1][2]
    _to_epoch(crnet, newest + 2)  # every commit expired
    crnet.ok(V, "commit_weights", netuid=1, commit_hash=_hash([2], [1], 99))
    assert [c[0] for c in crnet.st.subnets[1].neurons[1].commits] == [_hash([2], [1], 99)]


def test_reveal_consumes_the_queue_up_to_the_revealed_commit(crnet: Net) -> None:
    """Two commits in one epoch: revealing the second drops the first as well (Subtensor pops
    every commit up to and including the revealed one); a later reveal of the first finds no
    commit."""
    e = _epoch(crnet.block + 1)
    crnet.ok(V, "commit_weights", netuid=1, commit_hash=_hash([2], [1], 1))
    crnet.ok(V, "commit_weights", netuid=1, commit_hash=_hash([3], [1], 2))
    assert _epoch(crnet.block) == e
    _to_epoch(crnet, e + 1)
    crnet.ok(V, "reveal_weights", **_reveal([3], [1], 2))
    assert crnet.st.subnets[1].neurons[1].weights == {3: 65535}
    assert crnet.st.subnets[1].neurons[1].commits == []
    crnet.err(V, "reveal_weights", "NoWeightsCommitFound", **_reveal([2], [1], 1))


def test_reveal_drops_expired_commits(crnet: Net) -> None:
    """A commit that expired before a later one is revealed is dropped with the reveal."""
    e = _epoch(crnet.block + 1)
    crnet.ok(V, "commit_weights", netuid=1, commit_hash=_hash([2], [1], 1))
    _to_epoch(crnet, e + 1)
    crnet.ok(V, "commit_weights", netuid=1, commit_hash=_hash([3], [1], 2))
    _to_epoch(crnet, e + 2)  # the first commit expired, the second is due
    crnet.err(V, "reveal_weights", "ExpiredWeightCommit", **_reveal([2], [1], 1))
    crnet.ok(V, "reveal_weights", **_reveal([3], [1], 2))
    assert crnet.st.subnets[1].neurons[1].commits == []


def test_commit_keeps_the_validator_active(crnet: Net) -> None:
    """A commit stamps last_update (Subtensor's set_last_update_for_uid): a validator that only
    commits and reveals counts as active from its commit on."""
    crnet.ok(V, "commit_weights", netuid=1, commit_hash=_hash([2], [1], 1))
    assert crnet.st.subnets[1].neurons[1].last_update == crnet.block


def test_weights_committed_before_a_uid_changed_hands_skip_the_new_occupant(make_net) -> None:
    """A commit names UIDs as they were at the commit block. If a UID gets a new occupant before
    the reveal, the revealed weight on it is dropped (Subtensor masks columns registered at or
    after the commit block), the other weights are stored."""
    net: Net = make_net()
    net.ok(ALICE, "register_network", hotkey=OWNER_HK.ss58_address)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="max_allowed_uids", value=4)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="immunity_period", value=0)
    for name in ("v1", "m1", "m2"):
        net.ok(ALICE, "burned_register", netuid=1, hotkey=key(name).ss58_address)
    net.ok(ALICE, "add_stake", hotkey=V.ss58_address, amount=tao(100))
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="commit_reveal_enabled", value=True)
    net.run_to(net.block + 11)
    e = _epoch(net.block + 1)
    net.ok(V, "commit_weights", netuid=1, commit_hash=_hash([2, 3], [1, 1], 1))
    # m2 (uid 3) scores lowest: the next registration replaces it
    n = net.st.subnets[1].neurons
    n[1].pruning_score, n[2].pruning_score, n[3].pruning_score = 9, 9, 0
    ev = net.ok(ALICE, "burned_register", netuid=1, hotkey=key("m3").ss58_address)
    assert (ev[0]["type"], ev[0]["uid"]) == ("NeuronDeregistered", 3)
    _to_epoch(net, e + 1)
    net.ok(V, "reveal_weights", **_reveal([2, 3], [1, 1], 1))
    assert net.st.subnets[1].neurons[1].weights == {2: 65535}
