"""Real processes for gateway tests: a chain (dev profile), compute miners and gateways, each
started with ``python -m ...`` exactly as pods run them and configured only by environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from proc_helpers import free_port, http_ok, wait_for

__all__ = ["free_port", "http_ok", "start", "start_chain", "stop", "wait_for"]

PY_ENV = {k: v for k, v in os.environ.items() if not k.startswith("SUBNETES_")}


def start(module: str, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``python -m module args`` with ``env`` on top of the test's environment (minus SUBNETES_)."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        env={**PY_ENV, "JAX_PLATFORMS": "cpu", **env},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def start_chain(tmp: Path, block_time: float = 0.2) -> tuple[subprocess.Popen[bytes], str]:
    """The chain service (dev profile) on a loopback port; returns (process, URL) once ready."""
    port = free_port()
    ready = tmp / "chain.ready"
    proc = start(
        "subnetes.chain",
        {},
        tmp / "chain.log",
        "chain", "run", "--db", str(tmp / "chain.db"), "--host", "127.0.0.1",
        "--port", str(port), "--profile", "dev", "--block-time", str(block_time),
        "--ready-file", str(ready),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: ready.exists() and http_ok(url + "/readyz"), 120, "the chain", {"chain": proc})
    return proc, url


def stop(procs: dict[str, subprocess.Popen[bytes]], timeout: float = 15.0) -> dict[str, Any]:
    """SIGTERM (and SIGCONT, for frozen ones) every process; their exit codes."""
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.send_signal(signal.SIGTERM)
    codes: dict[str, Any] = {}
    for name, p in procs.items():
        try:
            codes[name] = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            codes[name] = "killed"
    return codes
