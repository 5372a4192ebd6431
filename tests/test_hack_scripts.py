"""The developer scripts a new user runs first (issue 14 #2): the one-time control-plane build
says what it builds and how long it took, with go's chatter in a log."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "hack" / "build-control-plane.sh"


def _run_logged(tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Source build-control-plane.sh (functions only) and run `run_logged` on COMMAND."""
    script = f'set -euo pipefail; source "{BUILD}"; run_logged "fake v1.2.3" fake "$@"'
    env = {**os.environ, "SUBNETES_CACHE": str(tmp_path)}
    return subprocess.run(
        ["bash", "-c", script, "bash", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )


def test_a_build_prints_one_progress_line_and_logs_go_output(tmp_path: Path) -> None:
    run = _run_logged(tmp_path, "bash", "-c", "echo 'go: downloading k8s.io/api v0.36.3' >&2")
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    line = run.stderr.strip()
    assert "\n" not in line, line
    assert re.fullmatch(
        r"\[build-control-plane\] building fake v1\.2\.3 \(first time only; cached in "
        + re.escape(str(tmp_path / "bin"))
        + r"\) \.\.\. done in \d+ s",
        line,
    ), line
    assert "go: downloading" in (tmp_path / "logs" / "fake.log").read_text()


def test_a_failed_build_shows_its_log(tmp_path: Path) -> None:
    run = _run_logged(tmp_path, "bash", "-c", "echo 'undefined: foo'; exit 2")
    assert run.returncode != 0
    assert "FAILED after" in run.stderr
    assert "undefined: foo" in run.stderr


def test_every_go_build_runs_through_run_logged() -> None:
    """No `go build`/`go install` prints straight to the terminal (minutes of downloads)."""
    lines = BUILD.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.search(r"^\s*(GOBIN=\S+ GOFLAGS= )?go (build|install) ", line) or (
            re.search(r"&& go (build|install) ", line)
        ):
            # run_logged WHAT LOGNAME \ on one of the two lines above (continued command)
            assert any("run_logged" in ln for ln in lines[max(0, i - 2) : i + 1]), line
