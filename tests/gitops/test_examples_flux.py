"""examples/gitops/flux as Flux reads it: every reference resolves, every path builds.

Pure checks of what Flux's controllers would refuse or get wrong (issue 15 #5): a dependsOn
naming no Kustomization, a Kustomization path that pulls in non-Kubernetes YAML or the same
object twice, a namespace nothing creates, a chart from Git that never rolls out a template
change. The live run is tests/gitops/test_flux_*.py; these say why, in one line, without one.

Each check is a function of the repository root returning the problems it finds, so the same
checks run on an older checkout (they failed on the examples before issue 15).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
FLUX = Path("examples/gitops/flux")
#: Created by `flux install` / `flux bootstrap`, which the examples assume.
FLUX_NAMESPACE = "flux-system"
#: Kinds that have no namespace (the ones the examples and the charts' neighbours use).
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}

Obj = dict[str, Any]


def _docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _is_object(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("apiVersion"), str)
        and isinstance(doc.get("kind"), str)
        and isinstance(doc.get("metadata"), dict)
        and isinstance(doc["metadata"].get("name"), str)
    )


def user_applied(root: Path) -> list[Obj]:
    """What `kubectl apply -f examples/gitops/flux/` applies: the directory's own YAML files."""
    return [d for f in sorted((root / FLUX).glob("*.yaml")) for d in _docs(f)]


def kustomize_files(root: Path, ks: Obj) -> list[Path]:
    """The files Flux builds for a Kustomization: without a kustomization.yaml at `path`, its
    generator takes every .yaml/.yml file below it, recursively (fluxcd/pkg/kustomize)."""
    base = root / ks["spec"]["path"]
    return sorted(p for p in base.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def kustomize_objects(root: Path, ks: Obj) -> list[Obj]:
    """The objects a Kustomization applies, with its targetNamespace set as kustomize sets it."""
    target = ks["spec"].get("targetNamespace")
    out = []
    for f in kustomize_files(root, ks):
        for d in _docs(f):
            if _is_object(d) and target and d["kind"] not in CLUSTER_SCOPED:
                d["metadata"]["namespace"] = target
            out.append(d)
    return out


def _kustomizations(objs: list[Obj]) -> list[Obj]:
    return [o for o in objs if _is_object(o) and o["kind"] == "Kustomization"]


def applied(root: Path) -> dict[str, list[Obj]]:
    """Every object the example ends up applying, keyed by who applies it ('kubectl' or the
    Kustomization's name), following Kustomizations that apply Kustomizations."""
    by: dict[str, list[Obj]] = {"kubectl": user_applied(root)}
    todo = _kustomizations(by["kubectl"])
    while todo:
        ks = todo.pop()
        name = ks["metadata"]["name"]
        if name in by or not (root / ks["spec"]["path"]).is_dir():
            continue
        by[name] = kustomize_objects(root, ks)
        todo += _kustomizations(by[name])
    return by


def _all(root: Path) -> list[Obj]:
    return [o for objs in applied(root).values() for o in objs if _is_object(o)]


def _ns(o: Obj) -> str | None:
    return None if o["kind"] in CLUSTER_SCOPED else o["metadata"].get("namespace")


def _key(o: Obj) -> tuple[str, str | None, str]:
    return (o["kind"], _ns(o), o["metadata"]["name"])


def _ref(owner: Obj, ref: dict[str, Any], kind: str) -> tuple[str, str | None, str]:
    return (ref.get("kind", kind), ref.get("namespace", _ns(owner)), ref["name"])


# ---- the checks ----------------------------------------------------------------------------


def non_objects(root: Path) -> list[str]:
    """YAML documents Flux would apply that are not Kubernetes objects (the build fails)."""
    return [
        f"{who}: {str(doc)[:60]!r} is not a Kubernetes object"
        for who, objs in applied(root).items()
        for doc in objs
        if not _is_object(doc)
    ]


def missing_paths(root: Path) -> list[str]:
    """Kustomization paths and Git chart paths that are not in the repository."""
    out = []
    for o in _all(root):
        if o["kind"] == "Kustomization" and not (root / o["spec"]["path"]).is_dir():
            out.append(f"Kustomization {o['metadata']['name']}: no folder {o['spec']['path']}")
        if o["kind"] == "HelmRelease":
            chart = o["spec"]["chart"]["spec"]
            from_git = chart["sourceRef"]["kind"] == "GitRepository"
            if from_git and not (root / chart["chart"] / "Chart.yaml").is_file():
                out.append(f"HelmRelease {o['metadata']['name']}: no chart {chart['chart']}")
    return out


def duplicates(root: Path) -> list[str]:
    """Objects applied twice (two files, or two Kustomizations, fighting over one object)."""
    counts = Counter(_key(o) for o in _all(root))
    return [f"{k} is applied {n} times" for k, n in counts.items() if n > 1]


def unresolved_references(root: Path) -> list[str]:
    """dependsOn and sourceRef entries that name no object of the right kind in the examples:
    a Kustomization's dependsOn lists Kustomizations, a HelmRelease's lists HelmReleases."""
    objs = _all(root)
    defined = {_key(o) for o in objs}
    out = []
    for o in objs:
        spec = o.get("spec") or {}
        refs = [_ref(o, d, o["kind"]) for d in spec.get("dependsOn", [])]
        if o["kind"] == "Kustomization":
            refs.append(_ref(o, spec["sourceRef"], "GitRepository"))
        if o["kind"] == "HelmRelease":
            refs.append(_ref(o, spec["chart"]["spec"]["sourceRef"], "GitRepository"))
        out += [f"{_key(o)} names {r}, which no example defines" for r in refs if r not in defined]
    return out


def dependencies_that_do_not_wait(root: Path) -> list[str]:
    """A Kustomization others depend on is Ready as soon as it has applied its objects unless it
    waits for them (wait or healthChecks): then the HelmRelease (CRDs) would not be installed yet."""
    objs = _all(root)
    needed = {
        _ref(o, d, o["kind"])
        for o in objs
        if o["kind"] == "Kustomization"
        for d in o["spec"].get("dependsOn", [])
    }
    return [
        f"{_key(o)} is a dependency but does not wait for what it applies"
        for o in objs
        if _key(o) in needed and not (o["spec"].get("wait") or o["spec"].get("healthChecks"))
    ]


def _depends_on(objs: list[Obj], name: str) -> set[str]:
    """Names of the Kustomizations `name` depends on, transitively, and itself."""
    deps = {o["metadata"]["name"]: o["spec"].get("dependsOn", []) for o in _kustomizations(objs)}
    seen, todo = set(), [name]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo += [d["name"] for d in deps.get(n, [])]
    return seen


def uncreated_namespaces(root: Path) -> list[str]:
    """Namespaces that objects are put in (or referenced in) that nothing in the example creates,
    or that are created only by a Kustomization the user of the namespace does not wait for."""
    by = applied(root)
    objs = _all(root)
    creator = {
        o["metadata"]["name"]: who
        for who, os_ in by.items()
        for o in os_
        if _is_object(o) and o["kind"] == "Namespace"
    }
    out = []
    for os_ in by.values():
        for o in filter(_is_object, os_):
            spec = o.get("spec") or {}
            used = {_ns(o), spec.get("targetNamespace"), spec.get("sourceRef", {}).get("namespace")}
            chart_ref = spec.get("chart", {}).get("spec", {}).get("sourceRef", {})
            used.add(chart_ref.get("namespace"))
            for ns in used - {None, FLUX_NAMESPACE}:
                if ns not in creator:
                    out.append(f"{_key(o)} uses namespace {ns}, which nothing creates")
                elif (
                    o["kind"] == "Kustomization"
                    and ns == spec.get("targetNamespace")
                    and creator[ns] not in _depends_on(objs, o["metadata"]["name"]) | {"kubectl"}
                ):
                    out.append(f"{_key(o)}: namespace {ns} comes from {creator[ns]}, not awaited")
    return out


def charts_from_git_without_revision(root: Path) -> list[str]:
    """A chart from Git with the default reconcileStrategy (ChartVersion) is rebuilt only when
    Chart.yaml's version changes: a template change alone would never roll out."""
    return [
        f"HelmRelease {o['metadata']['name']}: chart from Git without reconcileStrategy: Revision"
        for o in _all(root)
        if o["kind"] == "HelmRelease"
        and o["spec"]["chart"]["spec"]["sourceRef"]["kind"] == "GitRepository"
        and o["spec"]["chart"]["spec"].get("reconcileStrategy") != "Revision"
    ]


def kinds_waited_on_without_health_exprs(root: Path) -> list[str]:
    """kstatus calls a custom resource with no status yet Current, so a Kustomization's `wait`
    would pass the moment the network is applied, before the operator has seen it: every
    subnetes.io kind it applies needs healthCheckExprs (Ready=True current, Stalled=True failed).
    Found by the live Flux test (test_flux_live.py)."""
    by = applied(root)
    out = []
    for ks in filter(lambda o: o["kind"] == "Kustomization", _all(root)):
        if not ks["spec"].get("wait"):
            continue
        exprs = {
            (e["apiVersion"], e.get("kind")): e for e in ks["spec"].get("healthCheckExprs", [])
        }
        for o in filter(_is_object, by.get(ks["metadata"]["name"], [])):
            if not o["apiVersion"].startswith("subnetes.io/"):
                continue
            e = exprs.get((o["apiVersion"], o["kind"]), {})
            if "'Ready'" not in e.get("current", "") or "'Stalled'" not in e.get("failed", ""):
                out.append(f"Kustomization {ks['metadata']['name']}: no health for {o['kind']}")
    return sorted(set(out))


# ---- the tests -----------------------------------------------------------------------------


def test_every_document_flux_applies_is_a_kubernetes_object() -> None:
    assert non_objects(REPO) == []


def test_kustomization_and_chart_paths_exist() -> None:
    assert missing_paths(REPO) == []


def test_no_object_is_applied_twice() -> None:
    assert duplicates(REPO) == []


def test_depends_on_and_source_refs_resolve_to_the_right_kind() -> None:
    assert unresolved_references(REPO) == []


def test_a_dependency_waits_until_what_it_applies_is_ready() -> None:
    assert dependencies_that_do_not_wait(REPO) == []


def test_every_namespace_used_is_created_first() -> None:
    assert uncreated_namespaces(REPO) == []


def test_a_chart_from_git_rolls_out_every_revision() -> None:
    assert charts_from_git_without_revision(REPO) == []


def test_a_waiting_kustomization_judges_the_networks_kinds_by_their_conditions() -> None:
    assert kinds_waited_on_without_health_exprs(REPO) == []


def test_the_repository_url_is_one_field_in_the_files_the_user_applies() -> None:
    """Point the example at a fork or a mirror (or a test's loopback server) by editing one
    field: the only GitRepository's spec.url, in a file `kubectl apply` reads."""
    repos = [o for o in user_applied(REPO) if o["kind"] == "GitRepository"]
    assert len(repos) == 1
    assert not [o for o in _all(REPO) if o["kind"] == "GitRepository" and o not in repos]
    text = (REPO / FLUX / "platform.yaml").read_text()
    assert text.count(repos[0]["spec"]["url"]) == 1


def test_the_checks_find_the_defects_of_the_old_examples(tmp_path: Path) -> None:
    """The examples as they were before issue 15, in one file each: every check objects."""
    flux = tmp_path / FLUX
    flux.mkdir(parents=True)
    (tmp_path / "examples/gitops/argocd").mkdir()
    (tmp_path / "examples/gitops/argocd/argocd-cm-patch.yaml").write_text("data: {a: b}\n")
    for sub in ("examples", "examples/compute-subnet"):
        (tmp_path / sub).mkdir(exist_ok=True)
        (tmp_path / sub / "20-miners.yaml").write_text(
            "apiVersion: subnetes.io/v1alpha1\nkind: Miner\nmetadata: {name: miner-0}\n"
        )
    (tmp_path / "charts/subnetes").mkdir(parents=True)
    (tmp_path / "charts/subnetes/Chart.yaml").write_text("name: subnetes\n")
    (flux / "network.yaml").write_text(
        """
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: compute-subnet, namespace: flux-system}
spec:
  dependsOn: [{name: subnetes-platform}]
  sourceRef: {kind: GitRepository, name: subnetes}
  path: ./examples
  targetNamespace: compute
"""
    )
    (flux / "platform.yaml").write_text(
        """
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: subnetes, namespace: flux-system}
spec: {url: https://github.com/your-org/subnetes.git}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: subnetes, namespace: subnetes-system}
spec:
  chart:
    spec:
      chart: charts/subnetes
      sourceRef: {kind: GitRepository, name: subnetes, namespace: flux-system}
"""
    )
    assert non_objects(tmp_path)  # argocd-cm-patch.yaml
    assert duplicates(tmp_path)  # miner-0 from examples/ and examples/compute-subnet/
    assert unresolved_references(tmp_path)  # Kustomization subnetes-platform
    assert {p.split("namespace ")[1].split(",")[0] for p in uncreated_namespaces(tmp_path)} == {
        "compute",
        "subnetes-system",
    }
    assert charts_from_git_without_revision(tmp_path)
    assert missing_paths(tmp_path) == []
