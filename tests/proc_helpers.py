"""Helpers for tests that run real processes on loopback: a free port, polling for a
condition while watching the processes, and an HTTP readiness probe. Shared by the workload
and gateway process tests (import as ``from proc_helpers import ...``: tests/ is on sys.path)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    cond: Callable[[], T],
    timeout: float,
    what: str,
    procs: dict[str, subprocess.Popen[bytes]] | None = None,
    interval: float = 0.1,
) -> T:
    """Poll ``cond`` until truthy and return its value; fail early when one of ``procs`` exits,
    TimeoutError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, p in (procs or {}).items():
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited early with {p.returncode}")
        value = cond()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


def http_ok(url: str) -> bool:
    """Whether ``GET url`` answers 200 within a second (no proxies)."""
    try:
        return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False
