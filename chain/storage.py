"""Storage: one small interface over SQLAlchemy Core — SQLite (a file path) or PostgreSQL (a URL).

Tables: ``blocks`` (one row per block: hash, parent, the JSON record), ``state`` (one row per
state chunk), ``meta`` (genesis config and hash), ``xt_index`` (extrinsic hash -> block and
index, for every extrinsic applied in a block). ``commit_block`` writes a block's record, its
extrinsics' index rows and its dirty state chunks in ONE transaction, so after a crash the state,
the block head and the extrinsic index agree.

The schema is versioned (Alembic, ``migrations/``): the tables below are the head revision's,
and opening a database checks its version first (``migrations.ensure_schema``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

import sqlalchemy as sa

from .block import BlockRecord
from .migrations import ensure_schema

# The head revision's tables (a test keeps the migrations equal to them).
metadata = sa.MetaData()
blocks = sa.Table(
    "chain_blocks",
    metadata,
    sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(66), nullable=False, unique=True),
    sa.Column("parent", sa.String(66), nullable=False),
    sa.Column("record", sa.Text, nullable=False),
)
state_tbl = sa.Table(
    "chain_state",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
)
xt_index = sa.Table(
    "chain_xt_index",
    metadata,
    sa.Column("hash", sa.String(66), primary_key=True),
    sa.Column("block", sa.BigInteger, nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
)
XT_INDEX_META = "xt_index"  # set once every stored block's extrinsics are in xt_index
meta = sa.Table(
    "chain_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


class FenceLost(Exception):
    """This process no longer holds the producer's lease (chain/failover.py): nothing was
    committed, and it must stop producing blocks."""


class Fence(Protocol):
    """Where a fenced producer commits (chain/failover.py): a transaction on the connection
    that holds the leader lock, which checks the lock is still held before the block's writes
    go in (raises :class:`FenceLost` else)."""

    def begin(self) -> AbstractContextManager[sa.Connection]: ...


def database_url(target: str) -> str:
    """A SQLAlchemy URL from ``--db``: a URL as is, a file path as SQLite."""
    if "://" in target:
        if target.startswith("postgresql://"):
            return "postgresql+psycopg://" + target[len("postgresql://") :]
        if target.startswith("postgres://"):
            return "postgresql+psycopg://" + target[len("postgres://") :]
        return target
    return f"sqlite:///{target}"


def create_engine(target: str) -> sa.Engine:
    """An engine for ``--db`` (SQLite: WAL, synchronous=FULL on every connection)."""
    url = database_url(target)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
    engine = sa.create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # a committed block survives power loss
            cur.close()

    return engine


class Storage:
    """Durable chain storage (blocks + state chunks), SQLite or PostgreSQL.

    Opening checks the schema version: an empty database is created at the current revision,
    an older one is upgraded only with ``migrate`` (else ``SchemaVersionError``), a newer one is
    refused."""

    def __init__(self, target: str, migrate: bool = False) -> None:
        self.is_sqlite = database_url(target).startswith("sqlite")
        self.engine = create_engine(target)
        self.fence: Fence | None = None  # set on a failover replica while it leads
        try:
            self.schema_version = ensure_schema(self.engine, migrate)
        except Exception:
            self.engine.dispose()
            raise
        self._backfill_xt_index()

    def _backfill_xt_index(self) -> None:
        """Index the extrinsics of blocks written before the index existed (once per database)."""
        if self.get_meta(XT_INDEX_META) is not None:
            return
        start = 0
        while recs := self.blocks_from(start, 64):
            rows = [r for rec in recs for r in _index_rows(rec)]
            with self.engine.begin() as c:
                for i in range(0, len(rows), 500):  # bounded IN lists (SQLite's parameter limit)
                    part = rows[i : i + 500]
                    # idempotent: a backfill interrupted before its marker runs again
                    c.execute(
                        xt_index.delete().where(xt_index.c.hash.in_([r["hash"] for r in part]))
                    )
                    c.execute(xt_index.insert(), part)
            start = recs[-1].number + 1
        with self.engine.begin() as c:
            c.execute(meta.delete().where(meta.c.key == XT_INDEX_META))
            c.execute(meta.insert().values(key=XT_INDEX_META, value="1"))

    def close(self) -> None:
        self.engine.dispose()

    # ---- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(meta.c.value).where(meta.c.key == key)).first()
        return row[0] if row else None

    # ---- writes -------------------------------------------------------------------------------
    def put_meta(self, key: str, value: str | None) -> None:
        """Set (None: delete) one meta value, in its own transaction."""
        with self.engine.begin() as c:
            c.execute(meta.delete().where(meta.c.key == key))
            if value is not None:
                c.execute(meta.insert().values(key=key, value=value))

    def commit_block(
        self,
        record: BlockRecord,
        chunks: dict[str, bytes | None],
        meta_items: dict[str, str] | None = None,
    ) -> None:
        """Write the block record and its state changes atomically (through ``fence`` when
        set: then only while this process holds the leader lock)."""
        with self.fence.begin() if self.fence else self.engine.begin() as c:
            c.execute(
                blocks.insert().values(
                    number=record.number,
                    hash=record.hash,
                    parent=record.parent,
                    record=json.dumps(record.to_json(), separators=(",", ":")),
                )
            )
            rows = _index_rows(record)
            if rows:
                c.execute(xt_index.insert(), rows)
            keys = list(chunks)
            for i in range(0, len(keys), 500):
                c.execute(state_tbl.delete().where(state_tbl.c.key.in_(keys[i : i + 500])))
            rows = [{"key": k, "value": v} for k, v in chunks.items() if v is not None]
            if rows:
                c.execute(state_tbl.insert(), rows)
            for k, v in (meta_items or {}).items():
                c.execute(meta.delete().where(meta.c.key == k))
                c.execute(meta.insert().values(key=k, value=v))

    # ---- reads --------------------------------------------------------------------------------
    def head(self) -> int | None:
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.max(blocks.c.number))).scalar()

    def block(self, number: int) -> BlockRecord | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(blocks.c.record).where(blocks.c.number == number)).first()
        return BlockRecord.from_json(json.loads(row[0])) if row else None

    def blocks_from(self, start: int, limit: int = 256) -> list[BlockRecord]:
        with self.engine.connect() as c:
            rows = c.execute(
                sa.select(blocks.c.record)
                .where(blocks.c.number >= start)
                .order_by(blocks.c.number)
                .limit(limit)
            ).all()
        return [BlockRecord.from_json(json.loads(r[0])) for r in rows]

    def extrinsic(self, xt_hash: str) -> tuple[int, int] | None:
        """(block, index) of a committed extrinsic, or None (never applied, or unknown)."""
        with self.engine.connect() as c:
            row = c.execute(
                sa.select(xt_index.c.block, xt_index.c.idx).where(xt_index.c.hash == xt_hash)
            ).first()
        return (int(row[0]), int(row[1])) if row else None

    def iter_hashes(self) -> Iterator[tuple[int, str, str]]:
        """(number, hash, parent) in order, for hash-chain verification."""
        with self.engine.connect() as c:
            yield from c.execute(
                sa.select(blocks.c.number, blocks.c.hash, blocks.c.parent).order_by(blocks.c.number)
            )

    def load_chunks(self) -> dict[str, bytes]:
        with self.engine.connect() as c:
            return {
                k: bytes(v) for k, v in c.execute(sa.select(state_tbl.c.key, state_tbl.c.value))
            }


def _index_rows(record: BlockRecord) -> list[dict[str, Any]]:
    """The xt_index rows of a block: one per applied extrinsic (hash, block, index)."""
    return [
        {"hash": x["hash"], "block": record.number, "idx": i}
        for i, x in enumerate(record.extrinsics)
    ]
