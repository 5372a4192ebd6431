"""Versioned storage schema (issue 18 #3): the initial revision is the schema the release before
versions created, a database that release wrote (with blocks in it) upgrades and keeps its hash
chain and state root, an older schema is only upgraded on request, a newer one is refused. Both
storage backends."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from subnetes.chain import migrations
from subnetes.chain.cli import chain_group
from subnetes.chain.storage import Storage, create_engine, metadata

from .chain_data import RELEASE_METADATA, check_chain, populate, release_schema, schema_of
from .service import Service


def _engine(db: str) -> sa.Engine:
    return create_engine(db)


def test_initial_revision_is_the_schema_the_release_created(new_db: Callable[[], str]) -> None:
    """Upgrading an empty database to the initial revision gives exactly the tables the release
    made with create_all: columns, types, keys, constraint names (and SQLite's CREATE text)."""
    made, migrated = _engine(new_db()), _engine(new_db())
    try:
        RELEASE_METADATA.create_all(made)
        migrations.upgrade(migrated, migrations.INITIAL)
        assert migrations.current(migrated) == migrations.INITIAL
        assert schema_of(migrated) == schema_of(made)
        assert set(sa.inspect(made).get_table_names()) == set(migrations.CHAIN_TABLES)
    finally:
        made.dispose()
        migrated.dispose()


def test_head_revision_is_the_schema_storage_uses(new_db: Callable[[], str]) -> None:
    """The migrations end where storage.py's tables are (Alembic's own comparison finds no
    difference), and Storage creates a new database at the head revision."""
    db = new_db()
    Storage(db).close()
    engine = _engine(db)
    try:
        assert migrations.current(engine) == migrations.head()
        with engine.connect() as c:
            diff = compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), metadata
            )
        assert [d for d in diff if "chain_schema_version" not in str(d)] == []
    finally:
        engine.dispose()


def test_release_database_with_blocks_upgrades_and_keeps_its_chain(
    make_net: Callable[..., Any], new_db: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database the release wrote (a real chain: subnet, neurons, stake, epochs) is refused
    until migrated, then `subnetes chain migrate` upgrades it; the hash chain and the state
    root are intact and the chain goes on producing blocks on it."""
    db = new_db()
    release_schema(monkeypatch)
    net = make_net(db=db)
    populate(net)
    head = net.ledger.head
    net.ledger.storage.close()
    before = check_chain(db)
    monkeypatch.undo()

    with pytest.raises(migrations.SchemaVersionError) as refused:
        Storage(db)
    assert f"{migrations.UNVERSIONED} is older than this release's {migrations.head()}" in str(
        refused.value
    )

    run = CliRunner().invoke(chain_group, ["migrate", "--db", db])
    assert run.exit_code == 0, run.output
    assert f"{migrations.UNVERSIONED} -> {migrations.head()}" in run.output
    assert check_chain(db) == before == (head.number + 1, head.hash, head.state_root)

    again = make_net(db=db)
    assert again.ledger.head.hash == head.hash
    populate_more = again.run_to(head.number + 12)  # an epoch on the upgraded database
    assert populate_more
    again.ledger.storage.close()
    blocks, _, _ = check_chain(db)
    assert blocks == head.number + 13

    run = CliRunner().invoke(chain_group, ["migrate", "--db", db])
    assert run.exit_code == 0 and "up to date" in run.output, run.output


def _stamp(db: str, rev: str) -> None:
    engine = _engine(db)
    try:
        with engine.begin() as c:
            c.execute(
                sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = :r"), {"r": rev}
            )
    finally:
        engine.dispose()


def test_newer_schema_is_refused_with_both_versions(
    make_net: Callable[..., Any], new_db: Callable[[], str]
) -> None:
    """A database a newer release upgraded: the chain refuses to open it (even with migrate)
    and `chain migrate` leaves it alone; one line names both versions."""
    db = new_db()
    make_net(db=db).ledger.storage.close()
    _stamp(db, "9001")
    want = f"database schema version 9001 is newer than this release's {migrations.head()}"
    for migrate in (False, True):
        with pytest.raises(migrations.SchemaVersionError, match=want):
            Storage(db, migrate=migrate)
    run = CliRunner().invoke(chain_group, ["migrate", "--db", db])
    assert run.exit_code == 1
    lines = run.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {want}: "), run.output
    engine = _engine(db)
    try:
        assert migrations.current(engine) == "9001"
    finally:
        engine.dispose()


def test_migrate_names_a_missing_sqlite_file(tmp_path: Any) -> None:
    """`chain migrate` on a path with no database is an error, not a new empty chain."""
    run = CliRunner().invoke(chain_group, ["migrate", "--db", str(tmp_path / "none.db")])
    assert run.exit_code == 1 and "no chain database at" in run.output
    assert not (tmp_path / "none.db").exists()


def test_chain_run_refuses_an_older_schema_and_migrates_at_start_when_configured(
    make_net: Callable[..., Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real service: on a release database `subnetes chain run` exits 1 with one line
    naming both versions; with SUBNETES_CHAIN_MIGRATE=1 it upgrades and serves the same head."""
    db = str(tmp_path / "release.db")
    release_schema(monkeypatch)
    net = make_net(db=db)
    populate(net, blocks=3)
    head = net.ledger.head.hash
    net.ledger.storage.close()
    monkeypatch.undo()

    env = {k: v for k, v in os.environ.items() if k != migrations.MIGRATE_ENV}
    env["SUBNETES_CHAIN_CONSENSUS"] = "fake_consensus:run_epochs"
    env["PYTHONPATH"] = os.path.dirname(__file__)
    refused = subprocess.run(
        [sys.executable, "-m", "subnetes.chain", "chain", "run", "--db", db, "--manual",
         "--port", "0"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    assert "Traceback" not in refused.stderr, refused.stderr
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("error: database schema version unversioned is older than this "
                           f"release's {migrations.head()}"), refused.stderr  # fmt: skip

    monkeypatch.setenv(migrations.MIGRATE_ENV, "1")
    svc = Service(db, extra_args=("--manual",), fake_consensus=True).start()
    try:
        assert httpx.get(svc.url + "/v1/blocks/latest").json()["hash"] == head
        assert httpx.post(svc.url + "/v1/dev/produce").status_code == 200
    finally:
        svc.kill()
    engine = _engine(db)
    try:
        assert migrations.current(engine) == migrations.head()
    finally:
        engine.dispose()
    assert check_chain(db)[0] == 1 + 5 + 3 + 1  # genesis, 5 extrinsic blocks, 3 empty, 1 produced


REVISION_0002 = '''"""A test-only revision: an index on chain_xt_index.block.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chain_xt_index") as batch:
        batch.create_index("ix_chain_xt_index_block", ["block"])
    op.execute(sa.text("UPDATE chain_meta SET value = value WHERE key = 'config'"))


def downgrade() -> None:
    op.drop_index("ix_chain_xt_index_block", table_name="chain_xt_index")
'''


def test_a_later_revision_upgrades_an_older_database_with_its_chain(
    make_net: Callable[..., Any],
    new_db: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    """The path every future release takes: a release whose head is a new revision (here a
    test-only 0002 added to a copy of the packaged scripts) refuses a database at 0001 with
    both versions named, upgrades it on request with its chain intact; the 0001 release then
    refuses the upgraded database as newer."""
    import shutil

    db = new_db()
    net = make_net(db=db)
    populate(net, blocks=12)
    net.ledger.storage.close()
    before = check_chain(db)

    scripts = tmp_path / "migrations"
    shutil.copytree(migrations.HERE, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0002_test_index.py").write_text(REVISION_0002)
    monkeypatch.setattr(migrations, "HERE", scripts)
    assert migrations.head() == "0002"

    with pytest.raises(migrations.SchemaVersionError) as refused:
        Storage(db)
    assert "schema version 0001 is older than this release's 0002" in str(refused.value)
    run = CliRunner().invoke(chain_group, ["migrate", "--db", db])
    assert run.exit_code == 0 and "0001 -> 0002" in run.output, run.output
    engine = _engine(db)
    try:
        assert migrations.current(engine) == "0002"
        indexes = sa.inspect(engine).get_indexes("chain_xt_index")
        assert [i["name"] for i in indexes] == ["ix_chain_xt_index_block"]
    finally:
        engine.dispose()
    assert check_chain(db) == before

    monkeypatch.undo()
    assert migrations.head() == "0001"
    with pytest.raises(
        migrations.SchemaVersionError, match="0002 is newer than this release's 0001"
    ):
        Storage(db)
