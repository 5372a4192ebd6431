"""The pods' entry points refuse to start without their environment, naming what is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE = {k: v for k, v in os.environ.items() if not k.startswith("SUBNETES_")}


def run(module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module],
        env={**BASE, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("role", ["miner", "validator"])
def test_missing_env_is_named_and_exit_code_2(role: str) -> None:
    p = run(f"subnetes.workloads.compute.{role}", {})
    assert p.returncode == 2
    line = json.loads(p.stderr.strip().splitlines()[-1])
    assert line["level"] == "error" and "SUBNETES_CHAIN_ENDPOINT" in line["error"]


def test_miner_needs_axon_port_and_a_readable_hotkey(tmp_path: Path) -> None:
    env = {
        "SUBNETES_CHAIN_ENDPOINT": "http://127.0.0.1:1",
        "SUBNETES_NETUID": "1",
        "SUBNETES_HOTKEY_PATH": str(tmp_path / "missing"),
        "SUBNETES_LOG_FORMAT": "text",
    }
    p = run("subnetes.workloads.compute.miner", env)
    assert p.returncode == 2 and "SUBNETES_AXON_PORT" in p.stderr
    p = run("subnetes.workloads.compute.miner", {**env, "SUBNETES_AXON_PORT": "1"})
    assert p.returncode == 2 and "cannot read hotkey file" in p.stderr
