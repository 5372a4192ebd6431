"""Issue 11 #4, #5: per-namespace RBAC with watchNamespaces; owner finalizers.

Rendered offline with the pinned helm (``helm template``, see render.py): ``cluster``-marked
only because helm is built with the control plane; no API server is used.
"""

from __future__ import annotations

from typing import Any

import pytest

from .render import (
    FULL,
    NAMESPACE,
    find,
    one,
    operator_container,
    render,
)

pytestmark = pytest.mark.cluster


# ---- 4: per-namespace RBAC with watchNamespaces ---------------------------------------------
def _rules_by_resource(rules: list[dict[str, Any]]) -> dict[str, set[str]]:
    return {r: set(rule["verbs"]) for rule in rules for r in rule["resources"]}


def test_cluster_wide_install_binds_a_cluster_role() -> None:
    docs = render()
    role = one(docs, "ClusterRole", f"{FULL}-operator")
    assert "secrets" in _rules_by_resource(role["rules"])
    assert one(docs, "ClusterRoleBinding")["roleRef"]["name"] == role["metadata"]["name"]
    assert not find(docs, "Role") and not find(docs, "RoleBinding")
    assert "--all-namespaces" in operator_container(docs)["args"]


def test_watch_namespaces_gets_a_role_per_namespace_and_no_cluster_secret_access() -> None:
    docs = render("operator.watchNamespaces={team-a,team-b}")
    roles = find(docs, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    for role in roles:
        verbs = _rules_by_resource(role["rules"])
        assert verbs["secrets"] == {"get", "create"}
        for res in ("pods", "services", "statefulsets", "events", "subnets", "miners",
                    "validators", "subnets/status", "miners/finalizers"):  # fmt: skip
            assert res in verbs, res
        assert "namespaces" not in verbs and "customresourcedefinitions" not in verbs
    bindings = find(docs, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    for b in bindings:
        assert b["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": f"{FULL}-operator",
        }
        assert b["subjects"] == [
            {"kind": "ServiceAccount", "name": f"{FULL}-operator", "namespace": NAMESPACE}
        ]
    # cluster scope: only Kopf's discovery reads (namespace names, CRDs), never Secrets
    (cluster_role,) = find(docs, "ClusterRole")
    assert _rules_by_resource(cluster_role["rules"]) == {
        "namespaces": {"list", "watch"},
        "customresourcedefinitions": {"list", "watch"},
    }
    args = operator_container(docs)["args"]
    assert "--namespace=team-a" in args and "--namespace=team-b" in args
    assert "--all-namespaces" not in args


def test_watch_namespaces_without_cluster_discovery_has_no_cluster_rbac() -> None:
    docs = render("operator.watchNamespaces={team-a}", "operator.rbac.clusterDiscovery=false")
    assert not find(docs, "ClusterRole") and not find(docs, "ClusterRoleBinding")
    assert len(find(docs, "Role")) == 1


def test_leader_election_role_stays_in_the_release_namespace() -> None:
    docs = render("operator.watchNamespaces={team-a}", "operator.replicas=2")
    leader = one(docs, "Role", f"{FULL}-operator-leader")
    assert leader["metadata"]["namespace"] == NAMESPACE


# ---- 5: finalizers for blockOwnerDeletion ---------------------------------------------------
@pytest.mark.parametrize(
    "sets", [(), ("operator.watchNamespaces={team-a}",)], ids=["cluster", "ns"]
)
def test_operator_may_update_owner_finalizers(sets: tuple[str, ...]) -> None:
    """blockOwnerDeletion on a child needs `update` on the owner's finalizers subresource
    (OwnerReferencesPermissionEnforcement)."""
    docs = render(*sets)
    kind = "Role" if sets else "ClusterRole"
    rules = [r for d in find(docs, kind) for r in d["rules"]]
    verbs = _rules_by_resource([r for r in rules if "subnetes.io" in r["apiGroups"]])
    for res in ("subnets/finalizers", "miners/finalizers", "validators/finalizers"):
        assert "update" in verbs[res], res
