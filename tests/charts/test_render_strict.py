"""Issue 11 #7: every template renders to YAML a strict parser accepts (no duplicate keys).

Rendered offline with the pinned helm (``helm template``, see render.py): ``cluster``-marked
only because helm is built with the control plane; no API server is used.
"""

from __future__ import annotations

from typing import Any

import pytest

from .render import (
    RELEASE,
    DuplicateKeyError,
    one,
    render,
    strict_load_all,
)

pytestmark = pytest.mark.cluster


# ---- 7: every template renders to strictly valid YAML ---------------------------------------
VALUE_SETS: list[tuple[str, ...]] = [
    (),
    ("operator.replicas=2", "chain.ingress.enabled=true", "serviceMonitor.enabled=true"),
    ("prometheusRule.enabled=true", "grafanaDashboards.enabled=true", "commonLabels.team=x"),
    ("operator.watchNamespaces={a,b}", "chain.podDisruptionBudget.enabled=true"),
    ("chain.storage.type=postgres", "chain.storage.postgres.urlSecretRef.name=pg"),
    ("chain.enabled=false", "chain.endpoint=http://chain.example:9944"),
    ("commonLabels.team=x", "chain.gpu.enabled=true", "chain.service.type=NodePort"),
]


def test_strict_loader_rejects_duplicate_keys() -> None:
    with pytest.raises(DuplicateKeyError):
        strict_load_all("a: 1\nb: 2\na: 3\n")


@pytest.mark.parametrize("sets", VALUE_SETS, ids=lambda s: ",".join(s) or "defaults")
def test_every_template_is_strict_yaml(sets: tuple[str, ...]) -> None:
    """No object repeats a key (kubectl and other strict parsers reject duplicates, e.g. the
    instance label in the pod templates)."""
    docs = render(*sets)
    assert docs
    for d in docs:
        for pod in _pod_templates(d):
            labels = pod["metadata"]["labels"]
            assert labels["app.kubernetes.io/instance"] == RELEASE


def _pod_templates(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if doc["kind"] in ("Deployment", "StatefulSet"):
        return [doc["spec"]["template"]]
    return [doc] if doc["kind"] == "Pod" else []


def test_common_labels_never_duplicate_the_charts_own() -> None:
    docs = render("commonLabels.app\\.kubernetes\\.io/part-of=subnetes", "commonLabels.team=x")
    assert one(docs, "StatefulSet")["metadata"]["labels"]["team"] == "x"
