"""examples/gitops/flux against Flux's own CRD schemas (issue 15 #4, #5).

The GitRepository, Kustomization and HelmRelease CRDs come from the Go modules of source-,
kustomize- and helm-controller at the versions the Flux build pins (hack/versions.sh), through
hack/fetch-gitops-crds.sh: the same schemas the live test (test_flux_live.py) installs.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from crd_schema import REPO, errors, fetch_crds, load_schemas

FLUX = REPO / "examples/gitops/flux"


@pytest.fixture(scope="module")
def schemas() -> dict[tuple[str, str], Any]:
    return load_schemas(fetch_crds("flux"))


def flux_objects() -> list[tuple[str, dict[str, Any]]]:
    """Every Flux object of the examples: the files the user applies and those Flux applies."""
    return [
        (f"{f.relative_to(FLUX)}:{d['kind']}/{d['metadata']['name']}", d)
        for f in sorted(FLUX.rglob("*.yaml"))
        for d in yaml.safe_load_all(f.read_text())
        if d and ".toolkit.fluxcd.io/" in d["apiVersion"]
    ]


def test_the_examples_hold_every_flux_kind_they_need() -> None:
    kinds = sorted(d["kind"] for _, d in flux_objects())
    assert kinds == ["GitRepository", "HelmRelease", "Kustomization", "Kustomization"]


@pytest.mark.parametrize(("where", "obj"), flux_objects(), ids=lambda v: str(v)[:50])
def test_example_matches_fluxs_crd_schema(
    schemas: dict[tuple[str, str], Any], where: str, obj: dict[str, Any]
) -> None:
    assert errors(schemas, obj) == [], where


def test_the_validator_rejects_what_flux_would(schemas: dict[tuple[str, str], Any]) -> None:
    """Not vacuous: a reconcileStrategy Flux does not know, a misspelt field, a missing one."""
    objs = {d["kind"]: d for _, d in flux_objects()}
    hr = copy.deepcopy(objs["HelmRelease"])
    hr["spec"]["chart"]["spec"]["reconcileStrategy"] = "Commit"
    assert any("reconcileStrategy" in e for e in errors(schemas, hr))
    ks = copy.deepcopy(objs["Kustomization"])
    ks["spec"]["dependsOn"] = [{"name": "subnetes", "kind": "HelmRelease"}]
    assert any("kind" in e for e in errors(schemas, ks))  # dependsOn names Kustomizations only
    del ks["spec"]["prune"]
    assert any("'prune' is a required property" in e for e in errors(schemas, ks))


def test_the_readmes_health_check_exprs_fit_a_kustomization(
    schemas: dict[tuple[str, str], Any],
) -> None:
    """examples/gitops/README.md's healthCheckExprs block is a valid Kustomization field."""
    readme = (REPO / "examples/gitops/README.md").read_text()
    (block,) = re.findall(r"```yaml\n(healthCheckExprs:.*?)```", readme, re.S)
    (ks,) = [d for _, d in flux_objects() if d["metadata"]["name"] == "compute-subnet"]
    ks = copy.deepcopy(ks)
    ks["spec"].update(yaml.safe_load(block))
    assert errors(schemas, ks) == []


def test_crds_are_cached_by_version() -> None:
    dirs = fetch_crds("flux")
    assert [d.name.rsplit("-", 1)[0] for d in dirs] == [
        f"flux-{c}-controller" for c in ("source", "kustomize", "helm")
    ]
    assert all(Path(d, ".complete").is_file() for d in dirs)
