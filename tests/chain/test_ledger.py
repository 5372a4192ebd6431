"""Determinism, genesis, durable storage and restart."""

from __future__ import annotations

import pytest

from subnetes.chain.extrinsic import parse
from subnetes.chain.ledger import Ledger
from subnetes.chain.params import dev_config
from subnetes.chain.units import tao
from subnetes.wire.codec import obj_hash

from .conftest import ALICE, Net, key


def drive(net: Net) -> list[str]:
    hashes = []
    net.ok(ALICE, "register_network", hotkey=key("o").ss58_address)
    for i in range(3):
        net.ok(ALICE, "burned_register", netuid=1, hotkey=key(f"n{i}").ss58_address)
    net.ok(ALICE, "add_stake", hotkey=key("n0").ss58_address, amount=tao(5))
    for _ in range(25):
        rec, _ = net.step()
        hashes.append(rec.hash)
    return hashes


def replay(src: Net, dst: Net) -> None:
    """Feed dst the exact signed extrinsics of src's blocks (sr25519 signatures are randomized,
    so "the same extrinsics" means the same signed bodies)."""
    for n in range(1, src.block + 1):
        rec = src.ledger.storage.block(n)
        xts = [(parse({k: v for k, v in x.items() if k != "hash"}), False) for x in rec.extrinsics]
        out, _ = dst.ledger.step(xts)
        assert out.hash == rec.hash, f"block {n} differs"


def test_same_genesis_same_extrinsics_same_hashes(make_net, new_db) -> None:
    a, b = make_net(db=new_db()), make_net()
    assert a.ledger.genesis_hash == b.ledger.genesis_hash
    drive(a)
    replay(a, b)
    assert a.ledger.head.hash == b.ledger.head.hash and a.st.state_root() == b.st.state_root()
    assert make_net(subnet_limit=3).ledger.genesis_hash != a.ledger.genesis_hash


def test_block_hash_commits_to_header(dev: Net) -> None:
    dev.ok(ALICE, "faucet", amount=5)
    rec = dev.ledger.head
    assert rec.hash == obj_hash(rec.header())
    assert rec.extrinsics[0]["call"] == "faucet" and rec.events[-1]["type"] == "Block"
    assert rec.timestamp_ms == dev.st.config.genesis_time_ms + rec.number * 250


def test_restart_resumes_from_last_committed_block(make_net, consensus_fn, new_db) -> None:
    db = new_db()
    net = make_net(db=db)
    drive(net)
    head, state = net.ledger.head, net.st.all_chunks()
    net.ledger.storage.close()
    again = Ledger.open(dev_config(), db, consensus_fn)
    assert again.head.hash == head.hash and again.state.all_chunks() == state
    assert again.state.state_root() == net.st.state_root()
    assert again.verify_chain() == head.number + 1
    assert (
        again.storage.head() == head.number and again.storage.block(head.number).hash == head.hash
    )
    # continuing after the restart gives the same blocks as never stopping
    ref = make_net()
    replay(net, ref)
    r1, _ = again.step()
    r2, _ = ref.ledger.step()
    assert r1.hash == r2.hash
    again.storage.close()


def test_reopen_keeps_stored_genesis(make_net, consensus_fn, new_db) -> None:
    from subnetes.chain.ledger import GenesisMismatch

    db = new_db()
    make_net(db=db).ledger.storage.close()
    with pytest.raises(GenesisMismatch):
        Ledger.open(dev_config(subnet_limit=3), db, consensus_fn, require_same_genesis=True)
    again = Ledger.open(dev_config(subnet_limit=3), db, consensus_fn)
    assert again.config.subnet_limit == 8
    again.storage.close()


def test_failed_commit_changes_nothing(make_net, consensus_fn, new_db) -> None:
    """A block whose transaction fails is not half-written: the head, the stored chain and the
    in-memory state stay at the previous block, and the next block commits normally."""
    db = new_db()
    net = make_net(db=db)
    net.ok(ALICE, "faucet", amount=tao(1))
    head, state = net.ledger.head, net.st.all_chunks()
    storage = net.ledger.storage
    real = storage.commit_block

    def broken(record, chunks, meta_items=None):
        # write the record, then fail inside the same transaction
        import sqlalchemy as sa

        from subnetes.chain.storage import blocks

        with storage.engine.begin() as c:
            c.execute(
                blocks.insert().values(
                    number=record.number, hash=record.hash, parent=record.parent, record="{}"
                )
            )
            raise sa.exc.OperationalError("commit", {}, Exception("disk full"))

    storage.commit_block = broken
    with pytest.raises(Exception, match="disk full"):
        net.ledger.step([net.xt(ALICE, "faucet", amount=tao(2))])
    assert storage.head() == head.number and net.st.all_chunks() == state
    assert net.ledger.head.hash == head.hash
    storage.commit_block = real
    net.nonces.clear()
    net.ok(ALICE, "faucet", amount=tao(3))
    assert net.ledger.verify_chain() == head.number + 2


def test_failed_block_production_leaves_no_trace(make_net, consensus_fn, new_db) -> None:
    """If building a block fails midway (here: the consensus call raises at an epoch, after
    emission was accrued), the ledger is back at its head: the next block has the right number
    and parent, and emission is not applied twice."""
    calls = {"fail": False}

    def flaky(*a, **k):
        if calls["fail"]:
            raise RuntimeError("accelerator lost")
        return consensus_fn(*a, **k)

    db = new_db()
    net = make_net(db=db)
    net.ledger.consensus = flaky
    net.ok(ALICE, "register_network", hotkey=key("o").ss58_address)
    net.ok(ALICE, "burned_register", netuid=1, hotkey=key("n0").ss58_address)
    while (net.block + 1 + 1 + 1) % 11:  # stop right before subnet 1's epoch block
        net.step()
    head, chunks = net.ledger.head, net.st.all_chunks()
    calls["fail"] = True
    with pytest.raises(RuntimeError, match="accelerator lost"):
        net.step(net.xt(ALICE, "faucet", amount=tao(1)))
    assert net.ledger.head.hash == head.hash and net.st.all_chunks() == chunks
    calls["fail"] = False
    net.nonces.clear()
    rec, _ = net.step()
    assert rec.number == head.number + 1 and rec.parent == head.hash
    assert any(e["type"] == "EpochResult" for e in rec.events)
    assert net.ledger.verify_chain() == rec.number + 1
    # the same block as a chain that never failed
    ref = make_net()
    replay(net, ref)
    assert ref.ledger.head.hash == rec.hash


def test_in_memory_ledger_stops_after_a_failed_block(make_net) -> None:
    """Without storage there is no committed state to go back to: refuse to build on a
    half-built one."""
    net = make_net()

    def boom(*a, **k):
        raise RuntimeError("boom")

    net.ok(ALICE, "register_network", hotkey=key("o").ss58_address)
    net.ledger.consensus = boom
    with pytest.raises(RuntimeError, match="boom"):
        net.run_to(net.block + 12)
    with pytest.raises(RuntimeError, match="cannot continue"):
        net.step()
