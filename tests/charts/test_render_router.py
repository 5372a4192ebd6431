"""Issue 17 #2: the network router in the platform chart (router.*): off by default; on, a
Deployment running ``python -m subnetes.gateway.router`` with Kubernetes discovery, its Service,
least-privilege RBAC (``list`` on Subnets only) and an optional Ingress under /v1.

Rendered offline with the pinned helm (``helm template``, see render.py): ``cluster``-marked
only because helm is built with the control plane; no API server is used.
"""

from __future__ import annotations

from typing import Any

import pytest

from subnetes.gateway.discovery import DEFAULT_URL_TEMPLATE

from .render import FULL, NAMESPACE, find, one, render, template

pytestmark = pytest.mark.cluster
ROUTER = f"{FULL}-router"
LIST_SUBNETS = [{"apiGroups": ["subnetes.io"], "resources": ["subnets"], "verbs": ["list"]}]


def env_of(deploy: dict[str, Any]) -> dict[str, Any]:
    (c,) = deploy["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c["env"]}


def test_off_by_default() -> None:
    docs = render()
    assert not [d for d in docs if d["metadata"]["name"].startswith(ROUTER)]


def test_router_runs_with_kubernetes_discovery_behind_a_service() -> None:
    docs = render("router.enabled=true", "router.replicas=2", "router.policy=quality")
    deploy = one(docs, "Deployment", ROUTER)
    spec = deploy["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["command"] == ["python", "-m", "subnetes.gateway.router"]
    assert deploy["spec"]["replicas"] == 2
    env = env_of(deploy)
    assert env["SUBNETES_ROUTER_DISCOVERY"] == "kubernetes"
    assert env["SUBNETES_ROUTER_POLICY"] == "quality"
    assert env["SUBNETES_ROUTER_NAMESPACES"] == ""
    assert env["SUBNETES_ROUTER_GATEWAY_URL"] == DEFAULT_URL_TEMPLATE
    assert env["SUBNETES_CHAIN_ENDPOINT"].startswith("http://")
    assert env["SUBNETES_ROUTER_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert spec["serviceAccountName"] == ROUTER
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    svc = one(docs, "Service", ROUTER)
    labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert all(labels[k] == v for k, v in svc["spec"]["selector"].items())
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    # The chain's NetworkPolicy admits the release's own pods: the router reads emission shares.
    assert labels["app.kubernetes.io/part-of"] == "subnetes"
    assert not find(docs, "Ingress", ROUTER)


def test_cluster_wide_rbac_lists_subnets_and_nothing_else() -> None:
    docs = render("router.enabled=true")
    assert one(docs, "ClusterRole", ROUTER)["rules"] == LIST_SUBNETS
    binding = one(docs, "ClusterRoleBinding", ROUTER)
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": ROUTER, "namespace": NAMESPACE}
    ]
    assert one(docs, "ServiceAccount", ROUTER)
    assert not find(docs, "Role", ROUTER)


def test_namespaced_rbac_with_router_namespaces() -> None:
    docs = render(values={"router": {"enabled": True, "namespaces": ["team-a", "team-b"]}})
    roles = find(docs, "Role", ROUTER)
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert all(r["rules"] == LIST_SUBNETS for r in roles)
    assert len(find(docs, "RoleBinding", ROUTER)) == 2
    assert not find(docs, "ClusterRole", ROUTER)
    assert env_of(one(docs, "Deployment", ROUTER))["SUBNETES_ROUTER_NAMESPACES"] == "team-a,team-b"


def test_optional_ingress_routes_v1_only() -> None:
    docs = render(
        values={
            "router": {
                "enabled": True,
                "ingress": {"enabled": True, "className": "nginx", "host": "ai.example"},
            }
        }
    )
    ing = one(docs, "Ingress", ROUTER)
    assert ing["spec"]["ingressClassName"] == "nginx"
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == "ai.example"
    assert [(p["path"], p["pathType"]) for p in rule["http"]["paths"]] == [("/v1", "Prefix")]
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == ROUTER


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("router.policy=fastest", "/router/policy"),
        ("router.gatewayURL=ftp://x", "/router/gatewayURL"),
        ("router.replicas=-1", "/router/replicas"),
        ("router.bogus=1", "bogus"),
    ],
)
def test_bad_values_are_refused_by_the_schema(setting: str, needle: str) -> None:
    out = template("router.enabled=true", setting)
    assert out.returncode != 0 and needle in out.stderr, out.stderr
