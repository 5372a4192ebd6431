"""A throwaway PostgreSQL server for the chain suite (loopback only, data in a temp dir).

Started once per session from Debian's ``postgresql`` package binaries; when they are missing
the fixture FAILS (CI installs the package; a skipped storage backend would go unnoticed).
``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` OS user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package "
    "`postgresql` (apt-get install -y postgresql) or set SUBNETES_PG_BINDIR"
)


def pg_bindir() -> Path | None:
    """Directory holding initdb and pg_ctl: $SUBNETES_PG_BINDIR, `pg_config --bindir`, or the
    newest /usr/lib/postgresql/*/bin."""
    candidates: list[str] = []
    if os.environ.get("SUBNETES_PG_BINDIR"):
        candidates.append(os.environ["SUBNETES_PG_BINDIR"])
    if shutil.which("pg_config"):
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            candidates.append(
                subprocess.run(
                    ["pg_config", "--bindir"],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=10,
                ).stdout.strip()
            )
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    for d in candidates:
        if d and all(
            os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")
        ):
            return Path(d)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """``initdb`` + ``pg_ctl start`` in a temp dir; ``create_database`` hands out fresh databases."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_postgres = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="subnetes-pg-"))
        self.data = self.dir / "data"
        self.port = 0
        self.user = "postgres"
        if self.as_postgres:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as e:
                raise RuntimeError(
                    "running as root but there is no `postgres` OS user; "
                    "install the Debian package `postgresql`"
                ) from e
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o700)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.dir,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        )

    def start(self) -> PgServer:
        r = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        if r.returncode:
            raise RuntimeError(f"initdb failed:\n{r.stdout}\n{r.stderr}")
        for _attempt in range(5):  # the free port may be taken between probing and binding
            self.port = _free_port()
            opts = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.dir}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                " -c max_connections=300 -c shared_buffers=32MB"
            )
            r = self._run(
                "pg_ctl",
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.data),
                "-o",
                opts,
                "-l",
                str(self.dir / "server.log"),
            )
            if r.returncode == 0:
                return self
        log = (
            (self.dir / "server.log").read_text(errors="replace")[-3000:]
            if (self.dir / "server.log").exists()
            else ""
        )
        raise RuntimeError(f"pg_ctl start failed:\n{r.stdout}\n{r.stderr}\n{log}")

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.data), timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "chain") -> str:
        """A new empty database; returns its URL (what ``--db`` takes)."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        for _ in range(50):  # CREATE DATABASE fails while template1 has other sessions
            try:
                with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as c:
                    c.execute(f'CREATE DATABASE "{name}"')
                return self.url(name)
            except psycopg.errors.ObjectInUse:
                time.sleep(0.1)
        raise RuntimeError("could not create a database (template1 busy)")


def pg_server() -> Iterator[PgServer]:
    """Generator body of the session fixture (``conftest.pg``)."""
    import pytest

    bindir = pg_bindir()
    if bindir is None:
        pytest.fail(MISSING, pytrace=False)
    server = PgServer(bindir)
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    try:
        yield server
    finally:
        server.stop()
