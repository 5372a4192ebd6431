"""The restart snapshot (chain/snapshot.py): a clean stop's state, read back only when it is the
head's; otherwise the chunks. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import pickle

import pytest

from subnetes.chain import snapshot
from subnetes.chain.ledger import Ledger
from subnetes.chain.params import dev_config
from subnetes.chain.state import State

from .conftest import ALICE, Net, key
from .test_ledger import drive


def _stopped(net: Net) -> tuple[str, dict, str]:
    """Write the clean stop's snapshot; (head hash, every chunk, state root) as stopped."""
    snapshot.save(net.ledger.storage, net.st, net.ledger.head)
    out = (net.ledger.head.hash, net.st.all_chunks(), net.st.state_root())
    net.ledger.storage.close()
    return out


def _state_of(ledger: Ledger) -> tuple[str, dict, str]:
    return ledger.head.hash, ledger.state.all_chunks(), ledger.state.state_root()


def test_restart_from_snapshot_is_the_same_state(make_net, consensus_fn, new_db, caplog) -> None:
    db = new_db()
    net = make_net(db=db)
    drive(net)  # a subnet, neurons, stake and epochs (weights, bonds, emission)
    stopped = _stopped(net)
    caplog.set_level("INFO", "subnetes.chain")
    again = Ledger.open(dev_config(), db, consensus_fn, snapshot=True)
    assert "state loaded from the snapshot" in caplog.text
    assert _state_of(again) == stopped
    assert again.state.recomputed_root() == stopped[2]
    assert again.storage.get_meta(snapshot.SNAPSHOT_META) is None  # read once
    # the restored state goes on exactly as the chunk-loaded one does (that one in memory:
    # both must not commit the same block to one database)
    chunks = Ledger.open(dev_config(), None, consensus_fn)
    chunks.state = State.load(again.config, again.storage.load_chunks())
    chunks.head, chunks.genesis_hash = again.head, again.genesis_hash
    assert _state_of(chunks) == stopped
    for _ in range(12):  # past an epoch (tempo 10)
        r1, _ = again.step()
        r2, _ = chunks.step()
        assert r1.hash == r2.hash
    assert again.state.all_chunks() == chunks.state.all_chunks()
    again.storage.close()


def test_stale_snapshot_is_not_used(make_net, consensus_fn, new_db, caplog) -> None:
    """A block committed after the snapshot (a crash later on) makes it stale: the chunks."""
    db = new_db()
    net = make_net(db=db)
    drive(net)
    snapshot.save(net.ledger.storage, net.st, net.ledger.head)
    net.ok(ALICE, "burned_register", netuid=1, hotkey=key("late").ss58_address)
    head, state = net.ledger.head.hash, net.st.all_chunks()
    net.ledger.storage.close()
    caplog.set_level("INFO", "subnetes.chain")
    again = Ledger.open(dev_config(), db, consensus_fn, snapshot=True)
    assert "snapshot not used" in caplog.text and "from its chunks" in caplog.text
    assert again.head.hash == head and again.state.all_chunks() == state
    again.storage.close()


@pytest.mark.parametrize("damage", ["layout", "root", "garbage"])
def test_mismatched_or_damaged_snapshot_falls_back_to_chunks(
    make_net, consensus_fn, tmp_path, damage, monkeypatch, caplog
) -> None:
    db = str(tmp_path / "chain.db")
    net = make_net(db=db)
    drive(net)
    head = net.ledger.head
    if damage == "garbage":
        net.ledger.storage.put_meta(snapshot.SNAPSHOT_META, "not a snapshot")
    else:
        if damage == "root":  # chunk hashes that do not sum to the head's state root
            net.st.chunk_hashes["g"] += 1
        snapshot.save(net.ledger.storage, net.st, head)
        if damage == "root":
            net.st.chunk_hashes["g"] -= 1
    state = net.st.all_chunks()
    net.ledger.storage.close()
    if damage == "layout":  # code whose state classes changed since the snapshot was written
        monkeypatch.setattr(snapshot, "fingerprint", lambda: "another layout")
    caplog.set_level("INFO", "subnetes.chain")
    again = Ledger.open(dev_config(), db, consensus_fn, snapshot=True)
    assert "from its chunks" in caplog.text
    assert again.state.all_chunks() == state and again.state.state_root() == head.state_root
    again.storage.close()


def test_snapshot_is_of_committed_state_only(dev: Net) -> None:
    dev.st.globals_mut().issuance += 1  # a change not committed yet
    with pytest.raises(ValueError, match="committed state only"):
        snapshot.encode(dev.st, dev.ledger.head)


def test_without_the_flag_the_snapshot_is_ignored(make_net, consensus_fn, tmp_path) -> None:
    """Tools that open a database (backup, verify) read the chunks and leave the snapshot."""
    db = str(tmp_path / "chain.db")
    net = make_net(db=db)
    drive(net)
    stopped = _stopped(net)
    again = Ledger.open(dev_config(), db, consensus_fn)
    assert _state_of(again) == stopped
    assert json.loads(again.storage.get_meta("config")) and again.storage.get_meta("snapshot")
    again.storage.close()


class _Payload:
    """Pickles as a call of ``os.getcwd`` (a harmless stand-in for ``os.system``)."""

    def __reduce__(self) -> tuple:
        return (os.getcwd, ())


def test_a_snapshot_naming_anything_but_state_classes_is_refused(
    make_net, consensus_fn, tmp_path, caplog
) -> None:
    """Unpickling ran whatever callable a snapshot named: write access to the database became
    code execution in the chain process. Now only the state's dataclasses resolve."""
    db = str(tmp_path / "chain.db")
    net = make_net(db=db)
    drive(net)
    head = net.ledger.head
    evil = base64.b64encode(pickle.dumps({"fingerprint": _Payload()})).decode()
    net.ledger.storage.put_meta(snapshot.SNAPSHOT_META, evil)
    state = net.st.all_chunks()
    net.ledger.storage.close()
    caplog.set_level("INFO", "subnetes.chain")
    again = Ledger.open(dev_config(), db, consensus_fn, snapshot=True)
    assert "may not name posix.getcwd" in caplog.text and "from its chunks" in caplog.text
    assert again.state.all_chunks() == state and again.state.state_root() == head.state_root
    again.storage.close()
