"""Helpers for the schema-migration and backup tests: a chain with data in it, the database a
release before schema versions made, and an independent check of a stored chain."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from subnetes.chain import storage as storage_mod
from subnetes.chain.ledger import Ledger
from subnetes.chain.migrations import UNVERSIONED
from subnetes.chain.params import dev_config
from subnetes.chain.units import tao

from .conftest import ALICE, Net, key


def populate(net: Net, blocks: int = 25) -> None:
    """A subnet with three neurons (one staked, weights set) and ``blocks`` more blocks: past
    a few epochs (dev tempo 10), so neurons, stakes, emission and the extrinsic index hold
    data."""
    net.ok(ALICE, "register_network", hotkey=key("mig-owner").ss58_address)
    for i in range(3):
        net.ok(ALICE, "burned_register", netuid=1, hotkey=key(f"mig-n{i}").ss58_address)
    net.ok(ALICE, "add_stake", hotkey=key("mig-n0").ss58_address, amount=tao(5))
    for _ in range(blocks):
        net.step()


def release_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make Storage open databases as the release before schema versions did: ``create_all``
    of the chain tables, no version table (undone by the monkeypatch at teardown or ``undo``)."""

    def create_all(engine: sa.Engine, migrate: bool = False) -> str:
        RELEASE_METADATA.create_all(engine)
        return UNVERSIONED

    monkeypatch.setattr(storage_mod, "ensure_schema", create_all)


def check_chain(db: str) -> tuple[int, str, str]:
    """Open ``db`` as the chain does and check it independently of ``chain.backup``: the hash
    chain, and the state root recomputed from the stored chunks equals the head's. Returns
    (blocks, head hash, state root)."""
    ledger = Ledger.open(dev_config(), db)
    try:
        blocks = ledger.verify_chain()
        assert blocks == ledger.head.number + 1
        assert ledger.state.state_root() == ledger.head.state_root
        return blocks, ledger.head.hash, ledger.head.state_root
    finally:
        assert ledger.storage is not None
        ledger.storage.close()


# The chain tables exactly as the last release without schema versions declared them in
# chain/storage.py (frozen: the initial revision must keep matching them).
RELEASE_METADATA = sa.MetaData()
sa.Table(
    "chain_blocks",
    RELEASE_METADATA,
    sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(66), nullable=False, unique=True),
    sa.Column("parent", sa.String(66), nullable=False),
    sa.Column("record", sa.Text, nullable=False),
)
sa.Table(
    "chain_state",
    RELEASE_METADATA,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
)
sa.Table(
    "chain_xt_index",
    RELEASE_METADATA,
    sa.Column("hash", sa.String(66), primary_key=True),
    sa.Column("block", sa.BigInteger, nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
)
sa.Table(
    "chain_meta",
    RELEASE_METADATA,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def schema_of(engine: sa.Engine, skip: tuple[str, ...] = ("chain_schema_version",)) -> Any:
    """Everything about the tables that a schema change could touch, comparable with ==:
    columns (type, nullability, default), primary key, unique constraints, indexes, foreign
    keys; on SQLite also the CREATE statements themselves."""
    insp = sa.inspect(engine)
    out: dict[str, Any] = {}
    for t in sorted(set(insp.get_table_names()) - set(skip)):
        out[t] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in insp.get_columns(t)
            ],
            "pk": (
                insp.get_pk_constraint(t)["name"],
                insp.get_pk_constraint(t)["constrained_columns"],
            ),
            "unique": sorted(
                (str(u["name"]), tuple(u["column_names"])) for u in insp.get_unique_constraints(t)
            ),
            "indexes": sorted(
                (tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t)
            ),
            "fks": insp.get_foreign_keys(t),
        }
    if engine.dialect.name == "sqlite":
        with engine.connect() as c:
            out["sqlite_master"] = sorted(
                (r[0], r[1], r[2])
                for r in c.execute(sa.text("SELECT type, name, sql FROM sqlite_master"))
                if not str(r[1]).startswith(skip)
                and not str(r[1]).startswith(tuple(f"sqlite_autoindex_{s}" for s in skip))
            )
    return out
