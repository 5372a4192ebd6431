"""``--ready-file`` appears only once the HTTP server listens: scripts (the demo, the test
harnesses) connect the moment it exists, and a file written before the bind made the demo die
with a ConnectError."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ready_file_means_the_server_accepts_connections(tmp_path: Path) -> None:
    port, ready = _free_port(), tmp_path / "chain.ready"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "subnetes.chain", "chain", "run", "--db", str(tmp_path / "c.db"),
            "--port", str(port), "--ready-file", str(ready), "--no-precompile",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.time() + 60
        while not ready.exists():
            assert proc.poll() is None and time.time() < deadline, (
                proc.stderr and proc.stderr.read()
            )
            time.sleep(0.001)  # poll hard: connect the moment the file appears
        url = ready.read_text().strip()
        assert url == f"http://127.0.0.1:{port}"
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # refused here if the file came before the bind
    finally:
        proc.terminate()
        proc.wait(timeout=30)
