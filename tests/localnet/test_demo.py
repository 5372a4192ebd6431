"""`make demo`, headless: a few epochs on the real control plane and chain; miners earn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from subnetes.localnet.cluster import LocalCluster


def test_demo_reaches_emission_for_miners(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [
            sys.executable, "-m", "subnetes.localnet.demo", "--headless", "--epochs", "2",
            "--timeout", "300", "--namespace", namespace, "--workdir", str(tmp_path / "demo"),
            "--block-time", "0.4",
        ],
        capture_output=True, text=True, timeout=420,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "miners earned: True" in out
    # Every process the demo started is gone; its logs stay for inspection.
    for log in ("chain", "operator", "devrunner"):
        assert (tmp_path / "demo" / "logs" / f"{log}.log").exists()
    leftover = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "demo")], capture_output=True, text=True
    ).stdout.split()
    assert leftover == []
