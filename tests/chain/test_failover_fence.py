"""The failover fence in process (chain/failover.py, issue 18 #5), on a real PostgreSQL: a block
commits only through the session that holds the leader lock, with the current epoch. Each way
of losing the lock makes the next commit fail with FenceLost and write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from subnetes.chain.failover import Fence
from subnetes.chain.ledger import Ledger
from subnetes.chain.params import dev_config
from subnetes.chain.storage import FenceLost


@pytest.fixture
def leader(pg: Any) -> Iterator[tuple[str, Ledger, Fence]]:
    """A chain whose blocks commit through fence 'one', which holds the lock (epoch 1)."""
    db = pg.create_database("fence")
    fence = Fence(db, "one", "http://127.0.0.1:1")
    assert fence.try_acquire()
    ledger = Ledger.open(dev_config(), db)
    assert ledger.storage is not None
    assert fence.claim(ledger.head.number) == 1
    ledger.storage.fence = fence
    try:
        yield db, ledger, fence
    finally:
        fence.close()
        ledger.storage.close()


def head(ledger: Ledger) -> int | None:
    assert ledger.storage is not None
    return ledger.storage.head()


def test_the_holder_commits_and_no_one_else_gets_the_lock(leader: Any) -> None:
    db, ledger, _fence = leader
    ledger.step()
    assert head(ledger) == 1
    other = Fence(db, "two", "http://127.0.0.1:2")
    try:
        assert not other.try_acquire()
        pid, age = other.holder()
        assert pid is not None and age is not None and age < 5
    finally:
        other.close()


def test_a_terminated_session_commits_nothing_and_the_next_leader_continues(
    leader: Any,
) -> None:
    """The standby's move on a paused leader: pg_terminate_backend, then the lock is free."""
    db, ledger, _fence = leader
    ledger.step()
    other = Fence(db, "two", "http://127.0.0.1:2")
    try:
        pid, _ = other.holder()
        assert pid is not None and other.terminate(pid)
        with pytest.raises(FenceLost):
            ledger.step()
        assert head(ledger) == 1 and ledger.head.number == 1
        assert other.try_acquire()
        assert other.claim(1) == 2
        with pytest.raises(FenceLost):  # the old fence stays lost: no silent reconnect
            ledger.step()
        assert head(ledger) == 1
    finally:
        other.close()


def test_a_new_session_is_not_the_lock_holder(leader: Any) -> None:
    """Were the fenced connection replaced behind its back, the pg_locks check refuses."""
    _db, ledger, fence = leader
    fence.conn = fence.engine.connect()  # a fresh session that never took the lock
    with pytest.raises(FenceLost, match="no longer holds the leader lock"):
        ledger.step()
    assert head(ledger) == 0


def test_a_stale_epoch_commits_nothing(leader: Any) -> None:
    """The fencing token: the leader row names a later epoch (a newer leader claimed)."""
    db, ledger, _fence = leader
    engine = sa.create_engine(db.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as c:
            c.execute(
                sa.text("UPDATE chain_meta SET value = :v WHERE key = 'leader'"),
                {"v": '{"epoch": 2, "node": "two", "url": "x"}'},
            )
    finally:
        engine.dispose()
    with pytest.raises(FenceLost, match="epoch 1 is over"):
        ledger.step()
    assert head(ledger) == 0


def test_a_takeover_snapshot_reads_only_the_window_a_stored_node_keeps(leader: Any) -> None:
    """At a whole network's size a block record is ~0.8 MB: a standby that read 2048 of them at
    each takeover (then kept 64) spent seconds and GBs on records it dropped."""
    from subnetes.chain.failover import load_snapshot
    from subnetes.chain.node import RECENT_BLOCKS_STORED

    _db, ledger, _fence = leader
    for _ in range(RECENT_BLOCKS_STORED + 6):
        ledger.step()
    assert ledger.storage is not None
    snap = load_snapshot(ledger.storage, dev_config(), after=0)
    assert snap is not None
    state, records = snap
    assert len(records) == RECENT_BLOCKS_STORED
    assert records[-1].number == state.g.block == RECENT_BLOCKS_STORED + 6
    assert load_snapshot(ledger.storage, dev_config(), after=state.g.block) is None
