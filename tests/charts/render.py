"""Render the platform chart with the pinned helm binary (no cluster) and parse it strictly.

The helm binary is built with the control plane (``hack/build-control-plane.sh``), so tests that
render are marked ``cluster``: they run after the build, and fail (never skip) without helm.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from subnetes.localnet.cluster import bin_dir

REPO = Path(__file__).resolve().parents[2]
PLATFORM = REPO / "charts" / "subnetes"
RELEASE = "rel"
NAMESPACE = "subnetes-system"


class DuplicateKeyError(yaml.YAMLError):
    """A mapping repeats a key (strict parsers such as kubectl's reject it)."""


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise DuplicateKeyError(f"duplicate key {key!r} {key_node.start_mark}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def strict_load_all(text: str) -> list[dict[str, Any]]:
    """Every non-empty document of a multi-document YAML stream, parsed strictly."""
    return [d for d in yaml.load_all(text, Loader=StrictLoader) if d]


def helm_bin() -> Path:
    """The pinned helm; fails the test loudly when it has not been built."""
    path = bin_dir() / "helm"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `bash hack/build-control-plane.sh helm` first")
    return path


def helm(*args: str, values: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    """Run helm offline with ``values`` (if any) as a values file on stdin."""
    env = {**os.environ, "HELM_CACHE_HOME": "/tmp/helm", "KUBECONFIG": "/dev/null"}
    extra = ["-f", "-"] if values is not None else []
    return subprocess.run(
        [str(helm_bin()), *args, *extra],
        capture_output=True,
        text=True,
        env=env,
        input=yaml.safe_dump(values) if values is not None else None,
        timeout=120,
    )


def template(
    *sets: str,
    values: dict[str, Any] | None = None,
    chart: Path = PLATFORM,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> subprocess.CompletedProcess[str]:
    """``helm template`` of ``chart`` with ``--set`` strings and a values dict."""
    flags = [f for s in sets for f in ("--set", s)]
    return helm("template", release, str(chart), "-n", namespace, *flags, values=values)


def render(*sets: str, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The platform chart's objects (tests included), parsed strictly; rendering must succeed."""
    out = template(*sets, values=values)
    assert out.returncode == 0, out.stderr
    return strict_load_all(out.stdout)


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    """Objects of ``kind`` (and ``name``, if given)."""
    return [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The single object of ``kind`` (and ``name``)."""
    found = find(docs, kind, name)
    assert len(found) == 1, f"{len(found)} {kind} named {name}"
    return found[0]


def notes(*sets: str, values: dict[str, Any] | None = None) -> str:
    """NOTES.txt as `helm install` would print it, rendered offline: a copy of the chart whose
    extra template puts the rendered notes into a ConfigMap (helm template skips NOTES.txt)."""
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "subnetes"
        shutil.copytree(PLATFORM, chart)
        (chart / "notes-under-test.txt").write_text((chart / "templates/NOTES.txt").read_text())
        (chart / "templates/zz-notes.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes-under-test}\n"
            'data:\n  notes: {{ tpl (.Files.Get "notes-under-test.txt") . | quote }}\n'
        )
        out = template(*sets, values=values, chart=chart)
        assert out.returncode == 0, out.stderr
        return one(strict_load_all(out.stdout), "ConfigMap", "notes-under-test")["data"]["notes"]


FULL = f"{RELEASE}-subnetes"  # the chart's fullname for RELEASE
ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"  # well-known dev accounts
BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


def chain_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The chain StatefulSet's container."""
    return one(docs, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]


def operator_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The operator Deployment's container."""
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """A container's env as name -> value (or valueFrom)."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}
