"""The platform chart's issue-11 objects against the real API server: server-side validation of
the new fields, and what the operator's ServiceAccount may do (``kubectl auth can-i``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from subnetes.localnet.cluster import LocalCluster

from .render import ALICE, strict_load_all, template


def _template(release: str, namespace: str, *sets: str) -> str:
    out = template(*sets, release=release, namespace=namespace)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def other_namespace(cluster: LocalCluster) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.kubectl("create", "namespace", name, check=True)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false")


def test_new_objects_pass_server_side_validation(
    cluster: LocalCluster, namespace: str, other_namespace: str
) -> None:
    rendered = _template(
        "dry", namespace,
        f"operator.watchNamespaces={{{namespace},{other_namespace}}}",
        "operator.replicas=2",
        "chain.podDisruptionBudget.enabled=true",
        "chain.ingress.enabled=true",
        "chain.networkPolicy.metricsScraper.enabled=true",
        "chain.service.type=NodePort",
        f"chain.genesis.balances[0].address={ALICE}",
        "chain.genesis.balances[0].rao=1000000000000",
    )  # fmt: skip
    kinds = {d["kind"] for d in strict_load_all(rendered)}
    assert {"Role", "RoleBinding", "PodDisruptionBudget", "ConfigMap", "Ingress"} <= kinds
    # every object names its namespace (the release's or a watched one)
    dry = cluster.kubectl("apply", "--dry-run=server", "--server-side", "-f", "-", input=rendered)
    assert dry.returncode == 0, dry.stderr


def test_namespaced_operator_may_act_only_in_its_watched_namespace(
    cluster: LocalCluster, namespace: str, other_namespace: str
) -> None:
    """watchNamespaces=[namespace]: Secrets, Pods and the subnetes.io kinds there (finalizers
    included), nothing in another namespace, and cluster-wide only the discovery reads."""
    release = f"r{uuid.uuid4().hex[:8]}"
    rendered = _template(release, namespace, f"operator.watchNamespaces={{{namespace}}}")
    docs = strict_load_all(rendered)
    rbac = [
        d
        for d in docs
        if d["kind"]
        in ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
    ]
    cluster.apply_manifests(rbac)
    sa = f"system:serviceaccount:{namespace}:{release}-subnetes-operator"

    def can(*args: str) -> bool:
        out = cluster.kubectl("auth", "can-i", *args, "--as", sa)
        return out.stdout.strip() == "yes"

    try:
        assert can("get", "secrets", "-n", namespace)
        assert can("create", "secrets", "-n", namespace)
        assert not can("list", "secrets", "-n", namespace)
        assert can("watch", "pods", "-n", namespace)
        assert can("patch", "statefulsets.apps", "-n", namespace)
        assert can("update", "miners.subnetes.io", "--subresource=finalizers", "-n", namespace)
        assert can("patch", "subnets.subnetes.io", "--subresource=status", "-n", namespace)
        assert can("list", "customresourcedefinitions.apiextensions.k8s.io")
        for verb, res in (("get", "secrets"), ("watch", "pods"), ("patch", "miners.subnetes.io")):
            assert not can(verb, res, "-n", other_namespace), (verb, res)
        assert not can("get", "secrets", "--all-namespaces")
    finally:
        for kind in ("clusterrolebinding", "clusterrole"):
            cluster.kubectl("delete", kind, f"{release}-subnetes-operator", "--wait=false")
