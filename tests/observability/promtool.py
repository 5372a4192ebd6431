"""Prometheus's promtool (built by ``hack/build-control-plane.sh promtool``) and the chart's
rendered PrometheusRule, for the alert and dashboard tests.

promtool and helm are built with the control plane, so the tests that use them are marked
``cluster``: ``hack/test.sh`` runs them after the build, and they fail (never skip) without it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from subnetes.localnet.cluster import bin_dir

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NAMESPACE = "subnetes-system"
# The values alerts_test.yaml assumes: every group rendered (Ingress TLS and PostgreSQL make
# the chain's Secrets alert), default thresholds.
RULE_VALUES: dict[str, Any] = {
    "prometheusRule": {"enabled": True},
    "chain": {
        "ingress": {"enabled": True, "tls": [{"secretName": "chain-tls", "hosts": ["x"]}]},
        "storage": {"type": "postgres", "postgres": {"urlSecretRef": {"name": "pg"}}},
    },
}


def promtool_bin() -> Path:
    """The pinned promtool; fails the test loudly when it has not been built."""
    path = bin_dir() / "promtool"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `bash hack/build-control-plane.sh promtool` first")
    return path


def promtool(*args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    """Run promtool; its output (stdout and stderr), asserting it succeeded."""
    out = subprocess.run(
        [str(promtool_bin()), *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=cwd,
        timeout=120,
    )
    assert out.returncode == 0, f"promtool {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def render_chart(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The platform chart's objects, rendered offline by the pinned helm with ``values``."""
    helm = bin_dir() / "helm"
    if not helm.exists():
        pytest.fail(f"{helm} is missing: run `bash hack/build-control-plane.sh helm` first")
    out = subprocess.run(
        [str(helm), "template", "rel", str(REPO / "charts/subnetes"), "-n", NAMESPACE, "-f", "-"],
        capture_output=True,
        text=True,
        input=yaml.safe_dump(values),
        env={**os.environ, "HELM_CACHE_HOME": "/tmp/helm", "KUBECONFIG": "/dev/null"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def rule_groups(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """``spec.groups`` of the chart's PrometheusRule rendered with ``values``."""
    docs = render_chart(values or RULE_VALUES)
    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    assert len(rules) == 1, [d["kind"] for d in docs]
    groups: list[dict[str, Any]] = rules[0]["spec"]["groups"]
    return groups


def write_rule_file(path: Path, groups: list[dict[str, Any]]) -> Path:
    """A Prometheus rule file holding ``groups``."""
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path
