"""The test control plane is a real Kubernetes: scheduler, controllers, RBAC, CRD validation."""

from __future__ import annotations

import ipaddress
import json

from subnetes.localnet.cluster import POD_CIDR, LocalCluster
from subnetes.localnet.polling import wait_for


def get_json(cluster: LocalCluster, *args: str) -> dict:
    proc = cluster.kubectl("get", *args, "-o", "json", check=True)
    return json.loads(proc.stdout)


def gpu_pod(name: str, gpus: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
                }
            ],
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ],
        },
    }


def apply(cluster: LocalCluster, namespace: str, obj: dict):
    return cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(obj))


def test_server_reports_pinned_version(cluster: LocalCluster) -> None:
    version = json.loads(cluster.kubectl("version", "-o", "json", check=True).stdout)
    assert version["serverVersion"]["gitVersion"].startswith("v1.")
    assert version["serverVersion"]["major"] == "1"


def test_gpu_nodes_advertise_gpus_and_are_tainted(cluster: LocalCluster) -> None:
    nodes = get_json(cluster, "nodes", "-l", "nvidia.com/gpu.present=true")["items"]
    assert len(nodes) >= 2
    for node in nodes:
        assert node["status"]["allocatable"]["nvidia.com/gpu"] == "8"
        assert node["metadata"]["labels"]["nvidia.com/gpu.product"]
        assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in node[
            "spec"
        ]["taints"]


def test_gpu_pod_is_scheduled_onto_a_gpu_node_and_runs(
    cluster: LocalCluster, namespace: str
) -> None:
    assert apply(cluster, namespace, gpu_pod("trainer", 1)).returncode == 0

    def running() -> dict | None:
        pod = get_json(cluster, "pod", "trainer", "-n", namespace)
        return pod if pod["status"].get("phase") == "Running" else None

    pod = wait_for(running)
    node = get_json(cluster, "node", pod["spec"]["nodeName"])
    assert node["metadata"]["labels"]["nvidia.com/gpu.present"] == "true"
    # Pod IPs are loopback addresses, so a dev runner can bind them.
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(POD_CIDR)


def test_pod_asking_more_gpus_than_any_node_stays_pending(
    cluster: LocalCluster, namespace: str
) -> None:
    assert apply(cluster, namespace, gpu_pod("too-big", 16)).returncode == 0

    def unschedulable() -> dict | None:
        pod = get_json(cluster, "pod", "too-big", "-n", namespace)
        for cond in pod["status"].get("conditions", []):
            if cond["type"] == "PodScheduled" and cond.get("reason") == "Unschedulable":
                return cond
        return None

    cond = wait_for(unschedulable)
    assert "nvidia.com/gpu" in cond["message"]
    pod = get_json(cluster, "pod", "too-big", "-n", namespace)
    assert pod["status"]["phase"] == "Pending"


def test_cpu_pod_without_toleration_avoids_gpu_nodes(cluster: LocalCluster, namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }
    assert apply(cluster, namespace, pod).returncode == 0
    node_name = wait_for(
        lambda: get_json(cluster, "pod", "web", "-n", namespace)["spec"].get("nodeName")
    )
    assert get_json(cluster, "node", node_name)["metadata"]["labels"]["subnetes.io/pool"] == "cpu"


def test_deployment_creates_pods_and_garbage_collection_removes_them(
    cluster: LocalCluster, namespace: str
) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "echo"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "echo"}},
            "template": {
                "metadata": {"labels": {"app": "echo"}},
                "spec": {"containers": [{"name": "main", "image": "busybox"}]},
            },
        },
    }
    assert apply(cluster, namespace, deployment).returncode == 0

    def ready_pods() -> list[dict]:
        pods = get_json(cluster, "pods", "-n", namespace, "-l", "app=echo")["items"]
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        return running if len(running) == 2 else []

    pods = wait_for(ready_pods)
    owners = {ref["kind"] for p in pods for ref in p["metadata"]["ownerReferences"]}
    assert owners == {"ReplicaSet"}
    assert get_json(cluster, "replicasets", "-n", namespace)["items"]

    cluster.kubectl("delete", "deployment", "echo", "-n", namespace, check=True)
    wait_for(lambda: not get_json(cluster, "replicasets", "-n", namespace)["items"])
    wait_for(lambda: not get_json(cluster, "pods", "-n", namespace, "-l", "app=echo")["items"])


def test_service_account_without_rbac_is_denied(cluster: LocalCluster, namespace: str) -> None:
    cluster.kubectl("create", "serviceaccount", "nobody", "-n", namespace, check=True)
    token = cluster.kubectl("create", "token", "nobody", "-n", namespace, check=True).stdout.strip()
    denied = cluster.kubectl("get", "pods", "-n", namespace, f"--token={token}")
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()
    assert f"system:serviceaccount:{namespace}:nobody" in denied.stderr

    # Granting a Role makes the same request succeed: RBAC, not a broken token.
    cluster.kubectl(
        "create", "role", "pod-reader", "--verb=list", "--resource=pods", "-n", namespace,
        check=True,
    )  # fmt: skip
    cluster.kubectl(
        "create", "rolebinding", "nobody-reads", "--role=pod-reader",
        f"--serviceaccount={namespace}:nobody", "-n", namespace, check=True,
    )  # fmt: skip
    wait_for(
        lambda: cluster.kubectl("get", "pods", "-n", namespace, f"--token={token}").returncode == 0,
        timeout=20,
    )


def test_crd_schema_rejects_invalid_resource(cluster: LocalCluster, namespace: str) -> None:
    group = f"{namespace}.example.subnetes.io"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "required": ["size"],
                                    "properties": {
                                        "size": {"type": "integer", "minimum": 1, "maximum": 8}
                                    },
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    try:
        assert cluster.kubectl("apply", "-f", "-", input=json.dumps(crd)).returncode == 0
        cluster.kubectl(
            "wait", "--for=condition=Established", f"crd/widgets.{group}", "--timeout=60s",
            check=True,
        )  # fmt: skip

        def widget(size: object) -> dict:
            return {
                "apiVersion": f"{group}/v1",
                "kind": "Widget",
                "metadata": {"name": f"w{size}"},
                "spec": {"size": size},
            }

        ok = wait_for(lambda: apply(cluster, namespace, widget(4)).returncode == 0 or None)
        assert ok
        bad = apply(cluster, namespace, widget(99))
        assert bad.returncode != 0
        assert "spec.size" in bad.stderr
        assert "less than or equal to 8" in bad.stderr
    finally:
        cluster.kubectl("delete", "crd", f"widgets.{group}", "--wait=false")
