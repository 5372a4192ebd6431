"""`make demo`, headless: a few epochs on the real control plane and chain; the honest miners
earn, and the story says why the wrong-by-design one does not."""

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
    # The story: the honest miners reach emission, and "earned" (cumulative) never flips back.
    summaries = [line for line in out.splitlines() if "miners earned:" in line]
    assert "miners earned: True" in summaries[-1], out[-4000:]
    first_true = next(i for i, line in enumerate(summaries) if "miners earned: True" in line)
    assert all("miners earned: True" in line for line in summaries[first_true:])
    # The miner that misbehaves on purpose is named with its reason.
    assert "miner-3" in out and "wrong by design" in out
    # The subnet's gateway served the demo's organic traffic with verified answers, and the
    # user is shown the curl that does the same.
    served = [line for line in out.splitlines() if line.startswith("gateway compute: ")]
    assert served and not served[-1].startswith("gateway compute: 0 verified"), out[-4000:]
    assert "/v1/matmul -H 'Authorization: Bearer" in out
    # Every process the demo started is gone; its logs stay for inspection.
    for log in ("chain", "operator", "devrunner"):
        assert (tmp_path / "demo" / "logs" / f"{log}.log").exists()
    leftover = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "demo")], capture_output=True, text=True
    ).stdout.split()
    assert leftover == []
