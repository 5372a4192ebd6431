"""The real chain service process (``subnetes chain run``) on 127.0.0.1, for service tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import _real_consensus_works


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """The real ``subnetes chain run`` process on 127.0.0.1; ``db`` is a SQLite path or a URL
    (then ``ready`` names the ready file)."""

    def __init__(self, db: Path | str, block_time: float = 0.1, ready: Path | None = None,
                 extra_args: tuple[str, ...] = (), fake_consensus: bool = False) -> None:
        self.db, self.block_time, self.port = str(db), block_time, free_port()
        self.ready = ready or Path(db).with_suffix(".ready")
        self.extra_args = extra_args
        self.fake_consensus = fake_consensus  # the NumPy stand-in: no JAX compile in the process
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        env = dict(os.environ)
        if self.fake_consensus or not _real_consensus_works():
            # never the repo root on sys.path: operator/ would shadow the stdlib module
            env["PYTHONPATH"] = str(Path(__file__).parent)
            env["SUBNETES_CHAIN_CONSENSUS"] = "fake_consensus:run_epochs"
        ready = self.ready
        ready.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "subnetes.chain", "chain", "run", "--db", self.db, "--port",
             str(self.port), "--block-time", str(self.block_time), "--ready-file", str(ready),
             *self.extra_args],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.time() + 60
        while not ready.exists():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"chain did not start: {self.proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.05)
        while True:
            try:
                if httpx.get(self.url + "/readyz").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
