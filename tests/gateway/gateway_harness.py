"""Real processes for gateway tests: a chain (dev profile), compute miners and gateways, each
started with ``python -m ...`` exactly as pods run them and configured only by environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
PY_ENV = {k: v for k, v in os.environ.items() if not k.startswith("SUBNETES_")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    cond: Callable[[], T],
    timeout: float,
    what: str,
    procs: dict[str, subprocess.Popen[bytes]] | None = None,
) -> T:
    """Poll ``cond`` until truthy; fail early when one of ``procs`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, p in (procs or {}).items():
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited early with {p.returncode}")
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


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
