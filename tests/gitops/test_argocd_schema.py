"""examples/gitops/argocd against Argo CD's own CRD schemas (issue 15 #4).

The Application, ApplicationSet and AppProject CRDs come from Argo CD's Go module at the
version hack/versions.sh pins (ARGOCD_VERSION), through hack/fetch-gitops-crds.sh.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from crd_schema import REPO, errors, fetch_crds, load_schemas

ARGOCD = REPO / "examples/gitops/argocd"


@pytest.fixture(scope="module")
def schemas() -> dict[tuple[str, str], Any]:
    found = load_schemas(fetch_crds("argocd"))
    assert {k for _, k in found} >= {"Application", "ApplicationSet", "AppProject"}
    return found


def argocd_objects() -> list[tuple[str, dict[str, Any]]]:
    """The Argo CD objects of the examples (argocd-cm-patch.yaml is a ConfigMap patch, no object)."""
    return [
        (f"{f.name}:{d['kind']}", d)
        for f in sorted(ARGOCD.glob("*.yaml"))
        for d in yaml.safe_load_all(f.read_text())
        if d and str(d.get("apiVersion", "")).startswith("argoproj.io/")
    ]


def test_the_examples_hold_the_application_and_the_applicationset() -> None:
    assert sorted(d["kind"] for _, d in argocd_objects()) == ["Application", "ApplicationSet"]


@pytest.mark.parametrize(("where", "obj"), argocd_objects(), ids=lambda v: str(v)[:40])
def test_example_matches_argo_cds_crd_schema(
    schemas: dict[tuple[str, str], Any], where: str, obj: dict[str, Any]
) -> None:
    assert errors(schemas, obj) == [], where


def test_the_validator_rejects_unknown_fields_and_wrong_types(
    schemas: dict[tuple[str, str], Any],
) -> None:
    """Not vacuous: a misspelt field (which the API server would silently drop) and a wrong
    type are each reported with their path."""
    (app,) = [d for _, d in argocd_objects() if d["kind"] == "Application"]
    typo = copy.deepcopy(app)
    typo["spec"]["syncPolicy"]["automated"]["selfheal"] = True
    assert any("selfheal" in e for e in errors(schemas, typo))
    wrong = copy.deepcopy(app)
    wrong["spec"]["syncPolicy"]["syncOptions"] = "ServerSideApply=true"
    assert any("/spec/syncPolicy/syncOptions" in e for e in errors(schemas, wrong))
    (appset,) = [d for _, d in argocd_objects() if d["kind"] == "ApplicationSet"]
    nested = copy.deepcopy(appset)
    nested["spec"]["template"]["spec"]["sources"][0]["helm"]["valueFile"] = ["x.yaml"]
    assert any("valueFile" in e for e in errors(schemas, nested))


def test_unknown_kinds_are_errors(schemas: dict[tuple[str, str], Any]) -> None:
    obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "x"}}
    assert errors(schemas, obj) == ["no CRD serves ('argoproj.io/v1alpha1', 'Rollout')"]


def test_crds_are_cached_by_version() -> None:
    (path,) = fetch_crds("argocd")
    assert path.name.startswith("argo-cd-v") and (path / ".complete").is_file()
    assert Path(path, "application-crd.yaml").is_file()
