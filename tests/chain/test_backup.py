"""Backup and restore (issue 18 #4): a backup taken while the real chain produces blocks is a
consistent snapshot, a restore onto a fresh volume or database verifies the hash chain and the
state root and the chain continues on it exactly as the original would; a damaged or foreign
backup is refused. Both storage backends."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from subnetes.chain import backup as backup_mod
from subnetes.chain import migrations
from subnetes.chain.cli import chain_group

from .chain_data import check_chain, populate, release_schema
from .service import Service


def cli(*args: str) -> str:
    """Run `subnetes chain ARGS` in-process; returns its output (exit 0 asserted)."""
    run = CliRunner().invoke(chain_group, list(args))
    assert run.exit_code == 0, run.output
    return run.output


def cli_fails(*args: str) -> str:
    """Run `subnetes chain ARGS`, which must fail with one error line; returns that line."""
    run = CliRunner().invoke(chain_group, list(args))
    assert run.exit_code == 1, run.output
    lines = run.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.output
    return lines[0]


def test_backup_while_the_chain_produces_blocks_is_consistent(
    make_net: Callable[..., Any], new_db: Callable[[], str], tmp_path: Path
) -> None:
    """The real service produces a block every 100 ms (epochs included) while `chain backup`
    runs three times: each backup restores to a chain whose hash chain links and whose state
    is exactly its head's state root, at a head between the heads seen before and after it."""
    db = new_db()
    net = make_net(db=db)
    populate(net, blocks=2)
    net.ledger.storage.close()
    svc = Service(db, block_time=0.1, ready=tmp_path / "chain.ready", fake_consensus=True)
    svc.start()
    taken: list[tuple[int, Path, int]] = []
    try:
        for i in range(3):
            before = httpx.get(svc.url + "/v1/blocks/latest", timeout=30).json()["number"]
            out = cli("backup", "--db", db, "--out", str(tmp_path / f"b{i}"))
            after = httpx.get(svc.url + "/v1/blocks/latest", timeout=30).json()["number"]
            taken.append((before, tmp_path / f"b{i}", after))
            time.sleep(0.3)
            assert out.startswith(f"backup {tmp_path / f'b{i}'} ")
    finally:
        svc.kill()
    heads = []
    for before, path, after in taken:
        fresh = new_db()
        cli("restore", "--from", str(path), "--db", fresh)
        blocks, _, _ = check_chain(fresh)
        assert before <= blocks - 1 <= after, (before, blocks - 1, after)
        heads.append(blocks - 1)
    assert heads == sorted(set(heads)), f"no block was produced between the backups: {heads}"


def test_restore_onto_a_fresh_volume_continues_the_chain(
    make_net: Callable[..., Any], new_db: Callable[[], str], tmp_path: Path
) -> None:
    """Backup, restore onto a new volume (SQLite: a new directory; PostgreSQL: a new database),
    then both the original and the restored chain produce 15 more blocks (an epoch): the same
    hashes. Extrinsics from before the backup are still found by hash."""
    db = new_db()
    net = make_net(db=db)
    populate(net)
    first_xt = net.ledger.storage.block(1).extrinsics[0]["hash"]
    cli("backup", "--db", db, "--out", str(tmp_path / "chain.backup"))

    volume = tmp_path / "new-volume"  # what a fresh PVC is: an empty directory
    fresh = new_db() if "://" in db else str(volume / "chain.db")
    out = cli("restore", "--from", str(tmp_path / "chain.backup"), "--db", fresh)
    assert f"head #{net.block} {net.ledger.head.hash}, state root" in out

    restored = make_net(db=fresh)
    assert restored.ledger.head == net.ledger.head
    assert restored.ledger.find_extrinsic(first_xt) == (1, 0)
    target = net.block + 15
    net.run_to(target)
    restored.run_to(target)
    assert restored.ledger.head.hash == net.ledger.head.hash
    assert restored.ledger.state.state_root() == net.ledger.state.state_root()
    restored.ledger.storage.close()
    assert check_chain(fresh)[1] == net.ledger.head.hash


def test_restore_refuses_a_chain_in_place_unless_forced(
    make_net: Callable[..., Any], new_db: Callable[[], str], tmp_path: Path
) -> None:
    """Restoring over an existing chain needs --force; with it, the database is the backup's."""
    db = new_db()
    net = make_net(db=db)
    populate(net, blocks=1)
    cli("backup", "--db", db, "--out", str(tmp_path / "early"))
    early = net.ledger.head.hash
    net.run_to(net.block + 5)
    net.ledger.storage.close()
    line = cli_fails("restore", "--from", str(tmp_path / "early"), "--db", db)
    assert "--force" in line
    cli("restore", "--from", str(tmp_path / "early"), "--db", db, "--force")
    assert check_chain(db)[1] == early


def _sqlite_chain(make_net: Callable[..., Any], tmp_path: Path) -> Path:
    db = tmp_path / "chain.db"
    net = make_net(db=str(db))
    populate(net, blocks=2)
    net.ledger.storage.close()
    cli("backup", "--db", str(db), "--out", str(tmp_path / "chain.backup"))
    return tmp_path / "chain.backup"


def test_a_damaged_backup_is_refused(make_net: Callable[..., Any], tmp_path: Path) -> None:
    """A block record edited, or a state chunk edited, in the backup file: restore names what
    is wrong and writes nothing."""
    good = _sqlite_chain(make_net, tmp_path)
    for what, sql, words in (
        (
            "block",
            "UPDATE chain_blocks SET record = replace(record, '\"timestamp_ms\":1', "
            "'\"timestamp_ms\":2') WHERE number = 2",
            "hash chain broken: block 2 does not match its hash",
        ),
        (
            "state",
            # someone mints: a balance's first digit changed (still valid JSON)
            "UPDATE chain_state SET value = CAST(replace(CAST(value AS TEXT), '\"balance\":1', "
            "'\"balance\":2') AS BLOB) WHERE key LIKE 'a/%'",
            "state root",
        ),
    ):
        bad = tmp_path / f"bad-{what}.backup"
        bad.write_bytes(good.read_bytes())
        with sqlite3.connect(bad) as c:
            before = c.total_changes
            c.execute(sql)
            assert c.total_changes > before
        target = tmp_path / f"restored-{what}.db"
        line = cli_fails("restore", "--from", str(bad), "--db", str(target))
        assert words in line, line
        assert not target.exists()
        assert sorted(p.name for p in tmp_path.glob("restored-*")) == []


def test_restore_refuses_foreign_files_and_backends(
    make_net: Callable[..., Any], pg: Any, tmp_path: Path
) -> None:
    good = _sqlite_chain(make_net, tmp_path)
    junk = tmp_path / "junk"
    junk.write_text("not a backup")
    assert "neither a SQLite database nor a pg_dump archive" in cli_fails(
        "restore", "--from", str(junk), "--db", str(tmp_path / "x.db")
    )
    assert "is a sqlite backup: restore it onto a SQLite file path" in cli_fails(
        "restore", "--from", str(good), "--db", pg.create_database()
    )
    assert "no backup at" in cli_fails(
        "restore", "--from", str(tmp_path / "none"), "--db", str(tmp_path / "y.db")
    )
    # a file that is no database, a server that does not answer: one line, no traceback
    assert "cannot use the database: file is not a database" in cli_fails(
        "backup", "--db", str(junk), "--out", str(tmp_path / "z.db")
    )
    assert "cannot use the database: file is not a database" in cli_fails(
        "migrate", "--db", str(junk)
    )
    closed = "postgresql://nobody@127.0.0.1:1/chain"
    assert "cannot use the database: connection failed" in cli_fails("migrate", "--db", closed)
    assert "pg_dump failed: pg_dump: error: connection to server" in cli_fails(
        "backup", "--db", closed, "--out", str(tmp_path / "z.pgdump")
    )


def test_restore_of_an_older_schema_needs_migrate(
    make_net: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup of a database from the release before schema versions restores only with
    --migrate, which upgrades it; the chain in it is intact."""
    db = str(tmp_path / "release.db")
    release_schema(monkeypatch)
    net = make_net(db=db)
    populate(net, blocks=2)
    head = net.ledger.head.hash
    net.ledger.storage.close()
    old = tmp_path / "release.backup"
    monkeypatch.undo()
    # the first backup before the upgrade: this release's CLI, the release's database
    out = cli("backup", "--db", db, "--out", str(old))
    assert "schema unversioned (this release's is 0001): SQLite integrity check ok" in out
    line = cli_fails("restore", "--from", str(old), "--db", str(tmp_path / "r.db"))
    assert "schema version unversioned is older" in line and "--migrate" in line
    assert not (tmp_path / "r.db").exists()
    out = cli("restore", "--from", str(old), "--db", str(tmp_path / "r.db"), "--migrate")
    assert f"schema {migrations.head()}" in out
    assert check_chain(str(tmp_path / "r.db"))[1] == head


def test_backup_directory_names_and_keeps_the_newest(
    make_net: Callable[..., Any], new_db: Callable[[], str], tmp_path: Path
) -> None:
    """--out DIR names each backup by its UTC time (what the chart's CronJob uses) and --keep N
    deletes the oldest; a backup never overwrites a file."""
    db = new_db()
    make_net(db=db).ledger.storage.close()
    suffix = ".db" if "://" not in db else ".pgdump"
    (tmp_path / "backups").mkdir()
    for n, stamp in enumerate(("20260101T000000Z", "20260102T000000Z", "20260103T000000Z")):
        (tmp_path / "backups" / f"chain-{stamp}{suffix}").write_text(str(n))
    out = cli("backup", "--db", db, "--out", str(tmp_path / "backups"), "--keep", "2")
    assert out.count("deleted old backup") == 2
    left = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert left[0] == f"chain-20260103T000000Z{suffix}" and len(left) == 2
    assert backup_mod.backup_kind(tmp_path / "backups" / left[1]) == (
        "sqlite" if suffix == ".db" else "postgresql"
    )
    assert "exists" in cli_fails("backup", "--db", db, "--out", str(tmp_path / "backups" / left[0]))
    assert "--keep needs --out to be an existing directory" in cli_fails(
        "backup", "--db", db, "--out", str(tmp_path / "f"), "--keep", "1"
    )
