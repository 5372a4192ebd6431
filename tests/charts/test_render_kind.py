"""Issue 11 #11: kind-config.yaml's port mappings lead to what the README's kind install exposes.

Rendered offline with the pinned helm (``helm template``, see render.py): ``cluster``-marked
only because helm is built with the control plane; no API server is used.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml

from .render import (
    REPO,
    find,
    render,
)

pytestmark = pytest.mark.cluster


# ---- 11: kind's port mappings lead to the chain ---------------------------------------------
def _readme_kind_install() -> list[str]:
    """The `helm install ... charts/subnetes` command of the README's kind section."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Using kind", 1)[1].split("\n## ", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", section)
    (line,) = [ln for ln in joined.splitlines() if "helm install" in ln and "charts/subnetes" in ln]
    return shlex.split(line.split("#", 1)[0])


def test_kind_port_mappings_lead_to_node_ports_the_readme_install_creates() -> None:
    argv = _readme_kind_install()
    files = [argv[i + 1] for i, a in enumerate(argv) if a in ("-f", "--values")]
    sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
    values: dict[str, Any] = {}
    for f in files:
        values = _merge(values, yaml.safe_load((REPO / f).read_text()))
    docs = render(*sets, values=values)
    node_ports = {
        p["nodePort"]
        for svc in find(docs, "Service")
        if svc["spec"].get("type") == "NodePort"
        for p in svc["spec"]["ports"]
    }
    kind = yaml.safe_load((REPO / "kind-config.yaml").read_text())
    mapped = {m["containerPort"] for n in kind["nodes"] for m in n.get("extraPortMappings", [])}
    assert mapped, "kind-config.yaml maps no port"
    assert mapped <= node_ports, f"kind maps {mapped - node_ports} to nothing the chart exposes"
    (chain,) = [
        s
        for s in find(docs, "Service")
        if s["metadata"]["labels"].get("app.kubernetes.io/component") == "chain"
        and s["spec"].get("clusterIP") != "None"
    ]
    assert chain["spec"]["type"] == "NodePort" and chain["spec"]["ports"][0]["nodePort"] in mapped


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
