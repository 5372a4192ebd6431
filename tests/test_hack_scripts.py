"""The developer scripts a new user runs first (issue 14 #2): the one-time control-plane build
says what it builds and how long it took, with go's chatter in a log."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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


PREREQS = REPO / "hack" / "prereqs.sh"
BASH = shutil.which("bash") or "/bin/bash"  # absolute: some tests run with a bare PATH
# A file each Debian package installs (what hack/prereqs.sh checks under PREREQ_ROOT).
FAKE_ROOT_FILES = [
    "usr/bin/openssl",
    "usr/lib/postgresql/17/bin/initdb",
    "usr/bin/chromium",
    "usr/bin/containerd",
    "usr/sbin/runc",
    "usr/lib/cni/bridge",
    "usr/sbin/iptables",
    "usr/sbin/conntrack",
    "usr/bin/socat",
    "usr/sbin/ipset",
    "usr/bin/mmdebstrap",
]
CONTROL_PLANE = "etcd kwok helm coredns kube-router kube-apiserver kube-controller-manager"
CONTROL_PLANE += " kube-scheduler kubectl kubelet kube-proxy"


def _ci_run_packages() -> set[str]:
    """The Debian packages .ci/run installs on a fresh CI machine."""
    text = (REPO / ".ci" / "run").read_text()
    pkgs = set()
    for group in re.findall(r"need_apt\+=\(([^)]*)\)", text):
        pkgs.update(p for p in group.split() if not p.startswith('"'))
    for group in re.findall(r"for pkg in ([^;]*); do", text):
        pkgs.update(group.split())
    return pkgs


def test_ci_run_package_list_is_parsed() -> None:
    assert {"chromium", "postgresql", "openssl", "containerd", "mmdebstrap"} <= _ci_run_packages()


def test_readme_prerequisites_list_every_package_ci_installs() -> None:
    """CI installs what a fresh machine lacks; the README must name all of it (issue 14 #2)."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Prerequisites", 1)[1].split("\n## ", 1)[0]
    missing = sorted(p for p in _ci_run_packages() if f"`{p}`" not in section and p not in section)
    assert not missing, f"README's prerequisites do not list: {missing}"
    script = PREREQS.read_text()
    assert not sorted(p for p in _ci_run_packages() if p not in script)


def _fake_env(tmp_path: Path, drop: str = "", cached: bool = True) -> dict[str, str]:
    root = tmp_path / "root"
    for rel in FAKE_ROOT_FILES:
        if rel == drop:
            continue
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("#!/bin/sh\n")
        f.chmod(0o755)
    cache = tmp_path / "cache"
    (cache / "bin").mkdir(parents=True)
    if cached:
        for b in CONTROL_PLANE.split():
            (cache / "bin" / b).write_text("")
            (cache / "bin" / b).chmod(0o755)
    env = {
        k: v for k, v in os.environ.items() if k not in ("SUBNETES_PG_BINDIR", "SUBNETES_CHROMIUM")
    }
    env.update(PREREQ_ROOT=str(root), SUBNETES_CACHE=str(cache), PREREQ_UID="0")
    return env


def _prereqs(mode: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASH, str(PREREQS), mode], capture_output=True, text=True, env=env, timeout=30
    )


def test_prerequisites_pass_when_all_present(tmp_path: Path) -> None:
    run = _prereqs("test", _fake_env(tmp_path))
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""


def test_a_missing_chromium_stops_make_test_in_one_line(tmp_path: Path) -> None:
    run = _prereqs("test", _fake_env(tmp_path, drop="usr/bin/chromium"))
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1, run.stderr
    assert "chromium (the dashboard browser test)" in run.stderr
    assert "apt-get install -y --no-install-recommends chromium fonts-dejavu-core" in run.stderr
    assert "containerd" not in run.stderr
    # make demo does not need it
    assert _prereqs("demo", _fake_env(tmp_path / "d", drop="usr/bin/chromium")).returncode == 0


def test_a_path_without_go_is_named_when_the_control_plane_is_not_built(tmp_path: Path) -> None:
    bindir = tmp_path / "path"
    bindir.mkdir()
    for tool in ("dirname", "sed", "id", "python3"):
        found = shutil.which(tool) if tool != "python3" else sys.executable
        assert found, tool
        (bindir / tool).symlink_to(found)
    env = _fake_env(tmp_path, cached=False)
    env["PATH"] = str(bindir)
    run = _prereqs("demo", env)
    assert run.returncode == 1, run.stderr
    assert "go >= 1.26" in run.stderr and "https://go.dev/dl/" in run.stderr
    # with every binary cached, Go is not needed
    env = _fake_env(tmp_path / "c", cached=True)
    env["PATH"] = str(bindir)
    assert _prereqs("demo", env).returncode == 0


def _left_running(tmp_path: Path, up: str) -> str:
    """Run hack/left-running.sh with a stub python whose `status [--real-node]` says UP."""
    stub = tmp_path / "python"
    stub.write_text(
        "#!/bin/sh\n"
        f'case "$4" in --real-node) [ {int("real" in up)} = 1 ];; '
        f"*) [ {int('local' in up)} = 1 ];; esac\n"
    )
    stub.chmod(0o755)
    run = subprocess.run(
        ["bash", str(REPO / "hack" / "left-running.sh")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": str(stub)},
        timeout=30,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_make_test_says_which_control_plane_it_leaves_running(tmp_path: Path) -> None:
    """Issue 14 #2: `make test` left a control plane running, unannounced."""
    out = _left_running(tmp_path, "local")
    assert "left running" in out
    assert out.strip().endswith("python -m subnetes.localnet.cluster down"), out
    out = _left_running(tmp_path, "local real")
    assert "cluster down --real-node" in out and out.count("left running") == 2
    assert _left_running(tmp_path, "") == ""
    test_sh = (REPO / "hack" / "test.sh").read_text()
    assert "trap 'bash hack/left-running.sh' EXIT" in test_sh


def test_make_test_as_a_user_is_told_it_needs_root(tmp_path: Path) -> None:
    env = _fake_env(tmp_path, drop="usr/bin/socat")
    env["PREREQ_UID"] = "1000"
    run = _prereqs("test", env)
    assert run.returncode == 1
    assert "root (the end-to-end suite runs a real kubelet node: sudo make test)" in run.stderr
    assert "install: sudo apt-get install -y --no-install-recommends socat" in run.stderr
