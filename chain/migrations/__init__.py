"""Versioned storage schema (Alembic): what version a chain database is at, and upgrading it.

The revision scripts live in ``versions/`` (shipped in the package); ``env.py`` runs them on the
connection :func:`upgrade` hands it, so no ``alembic.ini`` is needed. The version is kept in the
table ``chain_schema_version`` (Alembic's version table under the chain's table prefix).

A database is at one of:

* *empty*: no chain table yet; :func:`ensure_schema` creates it at the head revision;
* *unversioned*: chain tables made by a release before schema versions (``create_all``); its
  schema is the initial revision's, so upgrading it only records that version;
* a known revision: current (the head) or older (upgrade on request);
* an unknown revision: written by a newer release; this one refuses to open it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

VERSION_TABLE = "chain_schema_version"
INITIAL = "0001"  # the schema of every database made before versions existed
UNVERSIONED = "unversioned"
# Tables of the initial revision; any of them without a version table means "unversioned".
CHAIN_TABLES = ("chain_blocks", "chain_state", "chain_xt_index", "chain_meta")
MIGRATE_ENV = "SUBNETES_CHAIN_MIGRATE"
HERE = Path(__file__).resolve().parent


class SchemaVersionError(ValueError):
    """The database's schema version is not the one this release runs on."""


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts (and ``connection``, for env.py)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    """The packaged revision scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The revision this release runs on."""
    rev = script_directory().get_current_head()
    assert rev is not None
    return rev


def current(engine: sa.Engine) -> str | None:
    """The database's revision: None (empty), UNVERSIONED, or the revision id it records."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as c:
        rev = MigrationContext.configure(
            c, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()
        if rev is not None:
            return rev
        tables = set(sa.inspect(c).get_table_names())
    return UNVERSIONED if tables & set(CHAIN_TABLES) else None


def is_known(rev: str) -> bool:
    """True when ``rev`` is one of this release's revisions (else a newer release wrote it)."""
    from alembic.util import CommandError

    try:
        return script_directory().get_revision(rev) is not None
    except CommandError:
        return False


def upgrade(engine: sa.Engine, target: str = "head") -> tuple[str | None, str]:
    """Upgrade the database to ``target``; returns (revision before, revision after).

    An unversioned database is first stamped with the initial revision (its schema is that
    revision's: a test keeps them equal), then upgraded like any other. A newer one is refused.
    """
    from alembic import command

    before = current(engine)
    if before not in (None, UNVERSIONED) and not is_known(before):
        raise SchemaVersionError(newer_message(before))
    with engine.begin() as c:
        cfg = alembic_config(c)
        if before == UNVERSIONED:
            command.stamp(cfg, INITIAL)
        command.upgrade(cfg, target)
    after = current(engine)
    assert after is not None
    return before, after


def newer_message(rev: str) -> str:
    """The one line the chain stops with on a database from a newer release."""
    return (
        f"database schema version {rev} is newer than this release's {head()}: "
        "run a release that knows it (or restore a backup made by this one)"
    )


def ensure_schema(engine: sa.Engine, migrate: bool = False) -> str:
    """Check (and create or, with ``migrate``, upgrade) the schema before the chain uses it.

    An empty database is created at the head revision. An older one is upgraded only when
    ``migrate`` is set, else SchemaVersionError names both versions and the command that
    upgrades; a newer one is always refused. Returns the revision the database is at.
    """
    rev, want = current(engine), head()
    if rev == want:
        return rev
    if rev is None or migrate:
        return upgrade(engine)[1]
    if rev != UNVERSIONED and not is_known(rev):
        raise SchemaVersionError(newer_message(rev))
    raise SchemaVersionError(
        f"database schema version {rev} is older than this release's {want}: back it up "
        f"(`subnetes chain backup`), then run `subnetes chain migrate --db ...` or start "
        f"with --migrate (env {MIGRATE_ENV}=1)"
    )
