"""Helm charts on the real control plane: lint, schema, install, test, upgrade, uninstall."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from subnetes.localnet.cluster import LocalCluster
from subnetes.localnet.polling import wait_for

REPO = Path(__file__).resolve().parents[2]
PLATFORM = REPO / "charts" / "subnetes"
NETWORK = REPO / "charts" / "subnet"


def helm(
    cluster: LocalCluster, *args: str, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    proc = cluster.helm(*args, input=input, timeout=300)
    if check:
        assert proc.returncode == 0, f"helm {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def kget(cluster: LocalCluster, *args: str) -> dict:
    return json.loads(cluster.kubectl("get", *args, "-o", "json", check=True).stdout)


@pytest.fixture
def storage_class(cluster: LocalCluster, namespace: str):
    """A StorageClass with one pre-created PV, so the chain's PVC binds (no provisioner)."""
    name = f"local-{namespace}"
    objs = [
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": name},
            "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": "Immediate",
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"pv-{namespace}"},
            "spec": {
                "capacity": {"storage": "20Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": name,
                "hostPath": {"path": f"/tmp/subnetes-pv/{namespace}"},
            },
        },
    ]
    cluster.apply_manifests(objs)
    yield name
    cluster.kubectl("delete", "pv", f"pv-{namespace}", "--wait=false")
    cluster.kubectl("delete", "storageclass", name, "--wait=false")


@pytest.mark.parametrize("chart", [PLATFORM, NETWORK], ids=["subnetes", "subnet"])
def test_chart_lints_strict(cluster: LocalCluster, chart: Path) -> None:
    out = helm(cluster, "lint", "--strict", str(chart))
    assert "0 chart(s) failed" in out.stdout


@pytest.mark.parametrize(
    ("chart", "setting", "field"),
    [
        (PLATFORM, "chain.storage.type=nfs", "/chain/storage/type"),
        (PLATFORM, "operator.replicas=-1", "/operator/replicas"),
        (PLATFORM, "chain.port=70000", "/chain/port"),
        (NETWORK, "subnets[0].hyperparameters.kappa=70000", "/subnets/0/hyperparameters/kappa"),
        (NETWORK, "subnets[0].miners.policy=Never", "/subnets/0/miners/policy"),
        (NETWORK, "subnets[0].miners.maxBurn=lots", "/subnets/0/miners/maxBurn"),
    ],
)
def test_bad_values_fail_with_the_field_named(
    cluster: LocalCluster, chart: Path, setting: str, field: str
) -> None:
    out = helm(cluster, "template", "x", str(chart), "--set", setting, check=False)
    assert out.returncode != 0
    assert field in out.stderr


def test_rendered_platform_passes_server_side_dry_run(
    cluster: LocalCluster, namespace: str
) -> None:
    rendered = helm(
        cluster, "template", "dry", str(PLATFORM), "-n", namespace,
        "--set", "operator.replicas=2", "--set", "chain.ingress.enabled=true",
    ).stdout  # fmt: skip
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "StatefulSet", "Service", "ClusterRole", "NetworkPolicy"} <= kinds
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet"):
            pod = doc["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            for c in pod["containers"]:
                assert c["securityContext"]["readOnlyRootFilesystem"] is True
                assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    dry = cluster.kubectl(
        "apply", "--dry-run=server", "--server-side", "-n", namespace, "-f", "-", input=rendered
    )
    assert dry.returncode == 0, dry.stderr


def test_install_test_upgrade_uninstall(
    cluster: LocalCluster, namespace: str, storage_class: str
) -> None:
    release = f"p{namespace[2:]}"
    helm(
        cluster, "install", release, str(PLATFORM), "-n", namespace, "--wait", "--timeout=120s",
        "--set", f"chain.storage.sqlite.storageClassName={storage_class}",
    )  # fmt: skip
    selector = f"app.kubernetes.io/instance={release}"

    pods = kget(cluster, "pods", "-n", namespace, "-l", selector)["items"]
    names = {p["metadata"]["labels"]["app.kubernetes.io/name"] for p in pods}
    assert names == {"subnetes-operator", "subnetes-chain"}
    assert all(p["status"]["phase"] == "Running" and p["spec"]["nodeName"] for p in pods)
    pvcs = kget(cluster, "pvc", "-n", namespace)["items"]
    assert [p["status"]["phase"] for p in pvcs] == ["Bound"]
    for kind in ("serviceaccount", "service", "networkpolicy"):
        assert kget(cluster, kind, "-n", namespace, "-l", selector)["items"], kind
    assert kget(cluster, "clusterrole", "-l", selector)["items"]

    out = helm(cluster, "test", release, "-n", namespace, "--timeout=60s")
    assert "Phase:          Succeeded" in out.stdout

    def operator_pod() -> str:
        items = kget(
            cluster, "pods", "-n", namespace, "-l",
            f"{selector},app.kubernetes.io/name=subnetes-operator",
        )["items"]  # fmt: skip
        live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
        return live[0]["metadata"]["name"] if len(live) == 1 else ""

    before = operator_pod()
    helm(
        cluster, "upgrade", release, str(PLATFORM), "-n", namespace, "--wait", "--timeout=120s",
        "--reuse-values", "--set", "operator.logLevel=debug",
    )  # fmt: skip
    wait_for(lambda: operator_pod() not in ("", before))

    helm(cluster, "uninstall", release, "-n", namespace, "--wait", "--timeout=120s")
    assert not kget(cluster, "clusterrole", "-l", selector)["items"]
    leftovers = kget(
        cluster, "deployments,statefulsets,services,serviceaccounts,networkpolicies,"
        "poddisruptionbudgets,configmaps,secrets", "-n", namespace, "-l", selector,
    )["items"]  # fmt: skip
    assert leftovers == []
    # Documented: the chain's PVC (the ledger) is retained; CRDs stay installed.
    assert len(kget(cluster, "pvc", "-n", namespace)["items"]) == 1
    assert cluster.kubectl("get", "crd", "miners.subnetes.io").returncode == 0


def test_network_chart_renders_subnets_validators_and_miners(
    cluster: LocalCluster, namespace: str
) -> None:
    cluster.kubectl("apply", "--server-side", "-f", str(REPO / "crds"), check=True)
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/miners.subnetes.io",
        "crd/validators.subnetes.io", "crd/subnets.subnetes.io", "--timeout=60s", check=True,
    )  # fmt: skip
    values = {
        "subnets": [
            {"name": "compute", "miners": {"count": 3}, "validators": {"count": 2}},
            {
                "name": "text",
                "hyperparameters": {"tempo": 99, "yumaVersion": 3},
                "miners": {"count": 2, "gpus": 0, "nodeSelector": {}},
                "validators": {"count": 1},
            },
        ]
    }
    helm(
        cluster, "install", "net", str(NETWORK), "-n", namespace, "-f", "-",
        input=yaml.safe_dump(values),
    )  # fmt: skip
    subnets = kget(cluster, "subnets", "-n", namespace)["items"]
    assert sorted(s["metadata"]["name"] for s in subnets) == ["compute", "text"]
    text = next(s for s in subnets if s["metadata"]["name"] == "text")
    assert text["spec"]["hyperparameters"]["tempo"] == 99
    assert text["spec"]["hyperparameters"]["kappa"] == 32767  # from defaults
    miners = kget(cluster, "miners", "-n", namespace)["items"]
    assert len(miners) == 5
    gpu_miner = next(m for m in miners if m["metadata"]["name"] == "compute-miner-0")
    container = gpu_miner["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    cpu_miner = next(m for m in miners if m["metadata"]["name"] == "text-miner-0")
    assert "limits" not in cpu_miner["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert len(kget(cluster, "validators", "-n", namespace)["items"]) == 3
    helm(cluster, "uninstall", "net", "-n", namespace)
    wait_for(lambda: not kget(cluster, "miners", "-n", namespace)["items"])
