"""Helpers for the operator's cluster tests: a real chain process, RBAC-limited kubeconfig,
the operator as a subprocess, and polling on resource status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from subnetes.localnet.cluster import LocalCluster, free_port
from subnetes.operator import rbac
from subnetes.operator.paths import CRDS_DIR, REPO_ROOT

PY = sys.executable


def apply_crds(cluster: LocalCluster) -> None:
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager=subnetes-tests",
        "-f", str(CRDS_DIR), check=True,
    )  # fmt: skip
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s",
        "crd/subnets.subnetes.io", "crd/miners.subnetes.io", "crd/validators.subnetes.io",
        check=True,
    )  # fmt: skip


class ChainProcess:
    """``subnetes chain run`` on 127.0.0.1 with the dev profile and a small block time."""

    def __init__(self, tmp: Path, block_time: float = 0.25) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        ready = tmp / "chain.ready"
        self.log = open(tmp / "chain.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                PY, "-c", "import sys; from subnetes.cli import main; sys.exit(main())", "chain", "run", "--db", ":memory:", "--profile", "dev",
                "--block-time", str(block_time), "--host", "127.0.0.1", "--port", str(self.port),
                "--ready-file", str(ready),
            ],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"chain did not start: {(tmp / 'chain.log').read_text()[-2000:]}"
                )
            time.sleep(0.1)
        # The ready file comes before the epoch is compiled; /readyz says when blocks run.
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chain not ready: {(tmp / 'chain.log').read_text()[-2000:]}")
            time.sleep(0.1)

    def ready(self) -> bool:
        """Whether ``/readyz`` answers 200."""
        try:
            return httpx.get(f"{self.endpoint}/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def restricted_kubeconfig(cluster: LocalCluster, namespace: str, path: Path) -> str:
    """ServiceAccount + the operator's ClusterRole in the cluster; a kubeconfig with its token.

    The role is named after the namespace so parallel tests never share (or delete) one.
    """
    name = f"subnetes-operator-{namespace}"
    cluster.apply_manifests(rbac.manifests(namespace, name))
    cluster.token_kubeconfig(namespace, name, path)
    return name


def delete_rbac(cluster: LocalCluster, name: str) -> None:
    cluster.kubectl("delete", "clusterrolebinding,clusterrole", name, "--ignore-not-found")


class OperatorProcess:
    """``python -m subnetes.operator --standalone -n <ns>`` under the restricted kubeconfig."""

    def __init__(self, namespace: str, kubeconfig: Path, chain: str, log: Path) -> None:
        self.args = [
            PY, "-m", "subnetes.operator", "--standalone", "-n", namespace,
            "--liveness", f"http://127.0.0.1:{free_port()}/healthz",
        ]  # fmt: skip
        self.env = os.environ | {
            "KUBECONFIG": str(kubeconfig),
            "SUBNETES_CHAIN_ENDPOINT": chain,
            "SUBNETES_RETRY_DELAY": "2",
            "SUBNETES_REREGISTER_BACKOFF": "1",
            "SUBNETES_WATCH_TIMEOUT": "30",
        }
        self.log_path = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "a")  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO_ROOT
        )
        log.close()

    def kill(self) -> None:
        """SIGKILL: no cleanup, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def assert_no_traceback(output: str) -> None:
    """Fail showing the first traceback in an operator's log and the lines that led to it."""
    at = output.find("Traceback")
    if at >= 0:
        start = output.rfind("\n", 0, max(0, at - 1500)) + 1
        raise AssertionError("operator logged a traceback:\n" + output[start : at + 4000])


def get_all(cluster: LocalCluster, namespace: str, plural: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", plural, "-n", namespace, "-o", "json", check=True).stdout
    return json.loads(out)["items"]


def wait_for(
    what: str,
    fn: Callable[[], Any],
    timeout: float = 90,
    interval: float = 0.5,
    debug: Callable[[], str] | None = None,
) -> Any:
    """Poll ``fn`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    extra = debug() if debug else ""
    raise AssertionError(f"timed out waiting for {what}; last={last!r}\n{extra[-6000:]}")


def strip_finalizers(cluster: LocalCluster, namespace: str) -> None:
    """The operator is gone at teardown: let the namespace delete."""
    for plural in ("subnets", "miners", "validators"):
        for obj in get_all(cluster, namespace, plural):
            cluster.kubectl(
                "patch", plural, obj["metadata"]["name"], "-n", namespace, "--type=merge",
                "-p", '{"metadata":{"finalizers":null}}',
            )  # fmt: skip
