"""Backup and restore of chain storage (``subnetes chain backup`` / ``subnetes chain restore``).

A backup is a consistent snapshot taken while the chain runs:

* SQLite: the online backup API copies the database in one step under one read transaction
  (WAL mode: the block writer goes on meanwhile), into a self-contained file (journal mode
  DELETE) that is itself a chain database;
* PostgreSQL: ``pg_dump --format=custom`` of the chain's tables, one snapshot (pg_dump reads in
  one repeatable-read transaction).

Either way a snapshot holds whole blocks only (every block commits its record, state and index
in one transaction). Restoring writes the backup onto a database with no chain in it (or over one,
with ``force``) and verifies it before the chain may use it: the hash chain links from genesis to
the head, and the stored state hashes to the head block's state root.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sqlite3
import subprocess
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from . import migrations
from .ledger import Ledger
from .params import ChainConfig
from .storage import Storage, create_engine, database_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
SUFFIX = {"sqlite": ".db", "postgresql": ".pgdump"}
PG_TABLES = (
    "chain_*"  # the chain's tables (and its schema version) only: the database may be shared
)


class BackupError(ValueError):
    """A backup or restore that cannot be done; the message is one line for the CLI."""


@dataclass(frozen=True)
class Verified:
    """What a verified chain database holds."""

    blocks: int
    head: int
    head_hash: str
    state_root: str
    schema: str

    def line(self) -> str:
        """One line for the CLI."""
        return (
            f"{self.blocks} blocks, head #{self.head} {self.head_hash}, "
            f"state root {self.state_root} matches, schema {self.schema}"
        )


def backend(db: str) -> str:
    """``sqlite`` or ``postgresql`` for a ``--db`` value."""
    url = database_url(db)
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise BackupError(
        f"backup supports SQLite paths and postgresql:// URLs, not {url.split(':')[0]}"
    )


def libpq_url(db: str) -> str:
    """The URL as libpq (pg_dump, pg_restore) reads it: no SQLAlchemy driver suffix."""
    url = database_url(db)
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


def sqlite_path(db: str) -> Path:
    """The file of a SQLite ``--db`` value."""
    return Path(database_url(db)[len("sqlite:///") :])


def pg_tool(name: str) -> str:
    """Path of a PostgreSQL client tool: in $SUBNETES_PG_BINDIR, else the newest
    /usr/lib/postgresql/*/bin (Debian's layout; a pg_dump must be at least the server's version),
    else on PATH."""
    dirs = [os.environ["SUBNETES_PG_BINDIR"]] if os.environ.get("SUBNETES_PG_BINDIR") else []
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    dirs += sorted(
        versioned,
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    for d in dirs:
        path = os.path.join(d, name)
        if os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found: install PostgreSQL's client tools (Debian: postgresql-client) "
            "or set SUBNETES_PG_BINDIR"
        )
    return found


def _run(cmd: list[str], what: str) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if r.returncode:
        lines = [x.strip() for x in (r.stderr or r.stdout).splitlines() if x.strip()]
        # the first error line says what failed (libpq adds indented hints below it)
        first = next((x for x in lines if "error" in x.lower()), lines[0] if lines else None)
        raise BackupError(f"{what} failed: {first or f'exit {r.returncode}'}")


def verify(db: str, migrate: bool = False) -> Verified:
    """Check a chain database: schema version, the hash chain (no gaps, parents link, every
    block hashes to its header) and the stored state against the head's state root. Raises
    BackupError (or SchemaVersionError) when anything is off."""
    storage = Storage(db, migrate=migrate)
    try:
        raw = storage.get_meta("config")
        if raw is None or storage.head() is None:
            raise BackupError(f"no chain in {db}")
        ledger = Ledger(ChainConfig.from_json(json.loads(raw)), storage)
        try:
            blocks = ledger.verify_chain()
        except RuntimeError as e:
            raise BackupError(f"hash chain broken: {e}") from e
        root = ledger.state.state_root()
        if root != ledger.head.state_root:
            raise BackupError(
                f"state root {root} of the stored state is not head #{ledger.head.number}'s "
                f"{ledger.head.state_root}"
            )
        return Verified(blocks, ledger.head.number, ledger.head.hash, root, storage.schema_version)
    finally:
        storage.close()


def backup_name(db: str, now: float | None = None) -> str:
    """A file name for a backup of ``db`` taken at ``now``: chain-YYYYmmddTHHMMSSZ.<suffix>."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    return f"chain-{stamp}{SUFFIX[backend(db)]}"


def backup(db: str, out: str | Path) -> tuple[Path, str]:
    """Snapshot ``db`` into ``out`` (a file, or a directory to name one in) while the chain may
    run. A SQLite snapshot of this release's schema is verified before it is kept (of another
    schema: SQLite's integrity check only); a PostgreSQL dump is checked to hold the chain's
    tables (restore verifies the chain). Returns (the file, one line on what it holds)."""
    kind = backend(db)
    target = Path(out)
    if target.is_dir():
        target = target / backup_name(db)
    if target.exists():
        raise BackupError(f"{target} exists: choose a new name (backups are never overwritten)")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if kind == "sqlite":
            what = _backup_sqlite(sqlite_path(db), partial)
        else:
            _backup_pg(db, partial)
            what = "pg_dump archive of the chain's tables"
        os.replace(partial, target)
    finally:
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
    return target, what


def _copy_sqlite(source: sqlite3.Connection, dest_path: Path) -> None:
    """Copy the database behind ``source`` into ``dest_path`` with SQLite's online backup API,
    closing both connections."""
    with closing(source), closing(sqlite3.connect(dest_path)) as dest:
        # pages=-1: the whole database in one step, under one read transaction (a snapshot);
        # in WAL mode the chain keeps committing blocks meanwhile.
        source.backup(dest, pages=-1)


def _backup_sqlite(src: Path, partial: Path) -> str:
    if not src.exists():
        raise FileNotFoundError(f"no chain database at {src}")
    _copy_sqlite(sqlite3.connect(src, timeout=30), partial)
    engine = create_engine(str(partial))
    try:
        rev = migrations.current(engine)
    finally:
        engine.dispose()
    if rev == migrations.head():
        what = verify(str(partial)).line()
    else:
        # Another release's schema (say the first backup before an upgrade): this release may
        # not read it, so only SQLite's own check; restore --migrate verifies the chain.
        what = f"schema {rev} (this release's is {migrations.head()}): " + _integrity(partial)
    dest = sqlite3.connect(partial)
    try:
        # one self-contained file (no -wal beside it) that any copy tool moves whole
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()
    with open(partial, "rb+") as f:
        os.fsync(f.fileno())
    return what


def _integrity(path: Path) -> str:
    """SQLite's integrity check of ``path`` (raises BackupError unless it passes)."""
    conn = sqlite3.connect(path)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()
    if rows != ["ok"]:
        raise BackupError(f"the copy fails SQLite's integrity check: {rows[0]}")
    return "SQLite integrity check ok, chain not verified"


def _backup_pg(db: str, partial: Path) -> None:
    _run(
        [
            pg_tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--table={PG_TABLES}",
            f"--file={partial}",
            f"--dbname={libpq_url(db)}",
        ],
        "pg_dump",
    )
    listing = subprocess.run(
        [pg_tool("pg_restore"), "--list", str(partial)], capture_output=True, text=True, timeout=600
    ).stdout
    missing = [t for t in migrations.CHAIN_TABLES if f"TABLE DATA public {t} " not in listing]
    if missing:
        raise BackupError(f"the database has no chain tables {missing}: is {db} a chain database?")


def prune(directory: str | Path, keep: int, suffix: str) -> list[Path]:
    """Delete all but the newest ``keep`` backups (chain-*<suffix>) in ``directory``; returns
    the deleted files. Names sort by time (backup_name)."""
    files = sorted(Path(directory).glob(f"chain-*{suffix}"))
    gone = files[: max(0, len(files) - keep)]
    for f in gone:
        f.unlink()
    return gone


def backup_kind(path: str | Path) -> str:
    """``sqlite`` or ``postgresql``: what a backup file holds, from its first bytes."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is neither a SQLite database nor a pg_dump archive")


def restore(source: str | Path, db: str, force: bool = False, migrate: bool = False) -> Verified:
    """Rebuild the chain database ``db`` from the backup ``source`` and verify it. ``db`` must
    hold no chain unless ``force``; a backup of an older schema is upgraded only with
    ``migrate``. The chain must not run on ``db`` meanwhile."""
    if not Path(source).exists():
        raise FileNotFoundError(f"no backup at {source}")
    kind, want = backup_kind(source), backend(db)
    if kind != want:
        raise BackupError(
            f"{source} is a {kind} backup: restore it onto a "
            f"{'SQLite file path' if kind == 'sqlite' else 'postgresql:// URL'} --db"
        )
    if kind == "sqlite":
        return _restore_sqlite(Path(source), sqlite_path(db), force, migrate)
    return _restore_pg(Path(source), db, force, migrate)


def _check_schema(db: str, migrate: bool) -> None:
    """Refuse (before anything is verified or replaced) a restored schema this release cannot
    open, with the flag that upgrades an older one."""
    engine = create_engine(db)
    try:
        rev = migrations.current(engine)
    finally:
        engine.dispose()
    if rev is None:
        raise BackupError("the backup holds no chain tables")
    if rev != migrations.head() and not migrate:
        if rev != migrations.UNVERSIONED and not migrations.is_known(rev):
            raise migrations.SchemaVersionError(migrations.newer_message(rev))
        raise BackupError(
            f"the backup's schema version {rev} is older than this release's "
            f"{migrations.head()}: restore with --migrate to upgrade it"
        )


def _restore_sqlite(source: Path, target: Path, force: bool, migrate: bool) -> Verified:
    if target.exists() and target.stat().st_size > 0 and not force:
        raise BackupError(
            f"{target} exists: restore onto a new path, or pass --force to replace it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    side = [Path(f"{partial}{s}") for s in ("", "-wal", "-shm")]
    for p in side:
        p.unlink(missing_ok=True)
    try:
        _copy_sqlite(sqlite3.connect(f"file:{source}?mode=ro", uri=True), partial)
        _check_schema(str(partial), migrate)
        verified = verify(str(partial), migrate=migrate)  # Storage closed: no -wal is left
        for s in ("-wal", "-shm"):  # the replaced database's, which belong to no file now
            Path(f"{target}{s}").unlink(missing_ok=True)
        os.replace(partial, target)
        return verified
    finally:
        for p in side:
            p.unlink(missing_ok=True)


def _restore_pg(source: Path, db: str, force: bool, migrate: bool) -> Verified:
    engine = create_engine(db)
    try:
        rev = migrations.current(engine)
    finally:
        engine.dispose()
    if rev is not None and not force:
        raise BackupError(
            "the target database already holds chain tables: restore onto a new database, "
            "or pass --force to replace them"
        )
    cmd = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
    if rev is not None:
        cmd += ["--clean", "--if-exists"]
    # one transaction: a failed restore leaves the target as it was
    _run([*cmd, "--single-transaction", f"--dbname={libpq_url(db)}", str(source)], "pg_restore")
    _check_schema(db, migrate)
    return verify(db, migrate=migrate)
