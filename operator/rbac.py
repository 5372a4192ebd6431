"""Least-privilege RBAC for the operator, as data (the chart and the tests render it).

Every rule lists only the verbs the operator's code uses:
- subnetes.io kinds: Kopf watches them (list, watch), reads one (get) and patches metadata
  (finalizers, its progress annotations: patch); status is patched on the subresource.
  Children carry ``blockOwnerDeletion: true`` owner references, which the
  OwnerReferencesPermissionEnforcement admission plugin allows only with ``update`` on the
  owner's ``finalizers`` subresource.
- Secrets: read key Secrets (get) and create hotkey Secrets (create). No list/watch: the operator
  never enumerates Secrets.
- StatefulSets and Services: server-side apply (patch; create when the object is new) and get.
- Deployments and Services of a Subnet's gateway: also delete, when spec.gateway is removed.
- Pods: watched to learn node and IP (list, watch) and read (get).
- Events: create (core/v1, for kubectl describe).
- Namespaces and CRDs: Kopf's discovery (list, watch) only.

With leader election (``--leader-election-lease``, several replicas) the operator also needs
``LEADER_ELECTION_RULES`` on Leases, in a namespaced Role (the release namespace, where the
Lease lives), never in the ClusterRole: get, create (the first replica), update (renew, take
over, release; optimistic concurrency on resourceVersion). No list/watch/delete.
"""

from __future__ import annotations

from typing import Any

from .labels import GROUP, MANAGED_BY

RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [GROUP],
        "resources": ["subnets", "miners", "validators"],
        "verbs": ["get", "list", "watch", "patch"],
    },
    {
        "apiGroups": [GROUP],
        "resources": ["subnets/status", "miners/status", "validators/status"],
        "verbs": ["get", "patch"],
    },
    {
        "apiGroups": [GROUP],
        "resources": ["subnets/finalizers", "miners/finalizers", "validators/finalizers"],
        "verbs": ["update"],
    },
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create"]},
    {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["get", "create", "patch"]},
    # Subnet.spec.gateway: the gateway's Deployment and Service; delete when the spec drops it.
    {
        "apiGroups": ["apps"],
        "resources": ["deployments"],
        "verbs": ["get", "create", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "create", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["list", "watch"],
    },
]

# Only with Kopf peering (several replicas): the peering objects.
PEERING_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": ["kopf.dev"],
        "resources": ["clusterkopfpeerings", "kopfpeerings"],
        "verbs": ["get", "list", "watch", "patch"],
    },
]

# Namespaced Role for leader election (see the chart's operator-rbac.yaml, "-operator-leader").
LEADER_ELECTION_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["get", "create", "update"],
    },
]


def _labels() -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "subnetes-operator",
        "app.kubernetes.io/part-of": "subnetes",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def cluster_role(name: str = "subnetes-operator", peering: bool = False) -> dict[str, Any]:
    """The operator's ClusterRole."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": _labels()},
        "rules": RULES + (PEERING_RULES if peering else []),
    }


def service_account(namespace: str, name: str = "subnetes-operator") -> dict[str, Any]:
    """The operator's ServiceAccount."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels()},
    }


def cluster_role_binding(
    namespace: str, sa_name: str = "subnetes-operator", role_name: str = "subnetes-operator"
) -> dict[str, Any]:
    """Bind the ClusterRole to the ServiceAccount (cluster-wide: the operator watches all
    namespaces unless started with ``-n``)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": role_name, "labels": _labels()},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role_name,
        },
        "subjects": [{"kind": "ServiceAccount", "name": sa_name, "namespace": namespace}],
    }


def manifests(
    namespace: str, name: str = "subnetes-operator", peering: bool = False
) -> list[dict[str, Any]]:
    """ServiceAccount, ClusterRole and ClusterRoleBinding, all named ``name``."""
    return [
        service_account(namespace, name),
        cluster_role(name, peering),
        cluster_role_binding(namespace, name, name),
    ]


def leader_election_role(namespace: str, name: str = "subnetes-operator-leader") -> dict[str, Any]:
    """The namespaced Role on Leases that leader election needs (in the Lease's namespace)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels()},
        "rules": LEADER_ELECTION_RULES,
    }


def leader_election_role_binding(
    namespace: str,
    sa_name: str = "subnetes-operator",
    role_name: str = "subnetes-operator-leader",
    sa_namespace: str | None = None,
) -> dict[str, Any]:
    """Bind the leader-election Role to the operator's ServiceAccount."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": role_name, "namespace": namespace, "labels": _labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
        "subjects": [
            {"kind": "ServiceAccount", "name": sa_name, "namespace": sa_namespace or namespace}
        ],
    }
