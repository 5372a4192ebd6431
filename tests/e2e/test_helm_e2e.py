"""The user's path, for real: `helm install` the platform and a network on a real node.

The chain StatefulSet and the operator Deployment run in real containers (the product image
built here), the chain's PVC binds a local PV, readiness comes from the real probes, `helm test`
runs its check pod, the compute subnet's validators and CPU miners run and earn emission that
reaches the Miner resources' status, and the pods survive deletion without losing a block or
registering twice. Tests run in file order and build on each other's state.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from subnetes.chain.units import RAO_PER_TAO
from subnetes.localnet.cluster import REPO_ROOT, LocalCluster
from subnetes.localnet.polling import wait_for

PLATFORM_NS = "subnetes-system"
NETWORK_NS = "subnetes-e2e"
RELEASE = "subnetes"
NETWORK_RELEASE = "compute"
STORAGE_CLASS = "e2e-local"
PV_DIR = Path("/var/lib/subnetes-e2e/chain-pv")


def kget(cluster: LocalCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json", check=True).stdout)


# The README's kind values, shared with this suite: the dev profile, short blocks, NodePort,
# the locally built image; and the compute subnet with CPU miners and a GPU pool.
LOCAL_VALUES = REPO_ROOT / "charts" / "subnetes" / "values-local.yaml"
NETWORK_LOCAL_VALUES = REPO_ROOT / "charts" / "subnet" / "values-local.yaml"
GPU_POOL = "subnetes.io/miner-pool=gpu"


def platform_values(log_level: str = "info") -> dict:
    """On top of values-local.yaml: the local StorageClass, requests that fit one small node,
    and the NetworkPolicy on, with the metrics scraper admitted."""
    small = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}}
    return {
        "operator": {"logLevel": log_level, "resources": small},
        "chain": {
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                          "limits": {"memory": "2Gi"}},
            "storage": {"sqlite": {"size": "1Gi", "storageClassName": STORAGE_CLASS}},
            # The chart's default peers: Prometheus pods in `monitoring`, ingress-nginx's pods
            # in `ingress-nginx` (admitted because the Ingress is on).
            "networkPolicy": {"enabled": True, "metricsScraper": {"enabled": True}},
            "ingress": {"enabled": True},
        },
    }  # fmt: skip


def write_values(tmp: Path, name: str, values: dict) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def pods(cluster: LocalCluster, namespace: str, selector: str) -> list[dict]:
    return kget(cluster, "pods", "-n", namespace, "-l", selector)["items"]


def ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def chain_url(cluster: LocalCluster) -> str:
    """The chain pod's address on the node's bridge (the host reaches pod IPs directly)."""
    (pod,) = pods(cluster, PLATFORM_NS, "app.kubernetes.io/component=chain")
    return f"http://{pod['status']['podIP']}:9944"


def describe_on_failure(cluster: LocalCluster, namespace: str) -> str:
    out = cluster.kubectl("get", "pods,pvc,events", "-n", namespace, "-o", "wide")
    return out.stdout[-6000:] + out.stderr[-2000:]


@pytest.fixture(scope="module")
def product_image(images: dict[str, Path]) -> str:
    name = next(name for name in images if "pause" not in name)
    local = yaml.safe_load(LOCAL_VALUES.read_text())["image"]
    # The README's values name the image this build makes: no override between the two paths.
    assert f"{local['repository']}:{local['tag']}" == name
    return name


@pytest.fixture(scope="module")
def local_pv(real_cluster: LocalCluster) -> str:
    """A StorageClass without a provisioner and one local PV on the real node, owned by the
    image's non-root user (a local volume gets no fsGroup ownership change)."""
    node = real_cluster.real_node
    assert node is not None
    # What an earlier run left (releases, namespaces, the retained PVC) goes first: a fresh PV
    # would otherwise bind to the old claim.
    for release, ns in ((NETWORK_RELEASE, NETWORK_NS), (RELEASE, PLATFORM_NS)):
        real_cluster.helm("uninstall", release, "-n", ns, "--wait", "--ignore-not-found")
        real_cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true",
                             "--timeout=180s")  # fmt: skip
    if PV_DIR.exists():
        shutil.rmtree(PV_DIR)
    PV_DIR.mkdir(parents=True)
    os.chown(PV_DIR, 10001, 10001)
    # A PV left Released by an earlier run keeps its old claim: start from a fresh one.
    real_cluster.kubectl("delete", "pv", "e2e-chain-pv", "--ignore-not-found", "--wait=true",
                         "--timeout=120s", check=True)  # fmt: skip
    real_cluster.apply_manifests(
        [
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {"name": STORAGE_CLASS},
                "provisioner": "kubernetes.io/no-provisioner",
                "volumeBindingMode": "WaitForFirstConsumer",
            },
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": "e2e-chain-pv"},
                "spec": {
                    "capacity": {"storage": "5Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": STORAGE_CLASS,
                    "local": {"path": str(PV_DIR)},
                    "nodeAffinity": {
                        "required": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {
                                            "key": "kubernetes.io/hostname",
                                            "operator": "In",
                                            "values": [node.name],
                                        }
                                    ]
                                }
                            ]
                        }
                    },
                },
            },
        ]
    )
    return STORAGE_CLASS


@pytest.fixture(scope="module")
def platform(
    real_cluster: LocalCluster, local_pv: str, product_image: str, tmp_path_factory
) -> LocalCluster:
    """`helm install` the platform chart with the local image; wait for its real readiness."""
    cluster = real_cluster
    values = write_values(tmp_path_factory.mktemp("values"), "platform", platform_values())
    out = cluster.helm(
        "install", RELEASE, str(REPO_ROOT / "charts" / "subnetes"), "-n", PLATFORM_NS,
        "--create-namespace", "-f", str(LOCAL_VALUES), "-f", str(values), "--wait", "--timeout", "6m",
    )  # fmt: skip
    assert out.returncode == 0, (
        f"helm install failed:\n{out.stdout}\n{out.stderr}\n"
        + describe_on_failure(cluster, PLATFORM_NS)
    )
    return cluster


def test_platform_pods_run_for_real_on_the_real_node(platform: LocalCluster) -> None:
    node = platform.real_node
    assert node is not None
    for component in ("chain", "operator"):
        (pod,) = pods(platform, PLATFORM_NS, f"app.kubernetes.io/component={component}")
        assert pod["spec"]["nodeName"] == node.name, component
        assert ready(pod), component  # from the chart's real readiness probe
        status = pod["status"]["containerStatuses"][0]
        assert "running" in status["state"], status
        assert status["imageID"], status  # a real runtime reports the image it ran
        assert pod["status"]["podIP"].startswith(node.subnet.rsplit(".", 1)[0]), pod["status"]
    # The operator runs under the chart's own ServiceAccount (its RBAC, for real).
    (operator,) = pods(platform, PLATFORM_NS, "app.kubernetes.io/component=operator")
    assert operator["spec"]["serviceAccountName"].startswith(RELEASE)
    (pvc,) = kget(platform, "pvc", "-n", PLATFORM_NS)["items"]
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["spec"]["volumeName"] == "e2e-chain-pv"
    # The chain wrote its database onto the local PV, as the non-root user.
    db = PV_DIR / "chain.db"
    assert db.exists(), list(PV_DIR.iterdir())
    assert db.stat().st_uid == 10001


def test_helm_test_runs_its_check_pod(platform: LocalCluster) -> None:
    # No --logs: the chart deletes a passing test pod (hook-succeeded); a failing one stays.
    out = platform.helm("test", RELEASE, "-n", PLATFORM_NS, "--timeout", "3m")
    assert out.returncode == 0, out.stdout + out.stderr + describe_on_failure(platform, PLATFORM_NS)
    assert "Phase:          Succeeded" in out.stdout


def test_pods_resolve_service_names_and_reach_the_api_server(platform: LocalCluster) -> None:
    """The operator reaches the chain by its Service name (CoreDNS + kube-proxy) and the API
    server through the `kubernetes` Service: both show in its log as real work done."""
    (operator,) = pods(platform, PLATFORM_NS, "app.kubernetes.io/component=operator")
    name = operator["metadata"]["name"]
    wait_for(
        lambda: "chain" in platform.kubectl("logs", name, "-n", PLATFORM_NS).stdout.lower(),
        timeout=60,
        what="the operator's log",
    )
    logs = platform.kubectl("logs", name, "-n", PLATFORM_NS).stdout
    assert "Traceback" not in logs, logs[-3000:]


# ---- a network on the platform -----------------------------------------------------------------


def create_funded_keys(cluster: LocalCluster, endpoint: str) -> None:
    """Coldkeys funded by the dev faucet, as the Secrets the subnet chart refers to."""
    from bittensor_wallet import Keypair
    from bittensor_wallet.keyfile import serialized_keypair_to_keyfile_data

    from subnetes.chain.client import ChainClient

    cluster.kubectl("create", "namespace", NETWORK_NS, check=True)
    with ChainClient(endpoint) as chain:
        for secret in ("owner-coldkey", "neuron-coldkey"):
            key = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
            chain.faucet(key, 10_000 * RAO_PER_TAO)
            cluster.apply_manifests(
                [
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": secret, "namespace": NETWORK_NS},
                        "stringData": {"coldkey": serialized_keypair_to_keyfile_data(key).decode()},
                    }
                ]
            )


@pytest.fixture(scope="module")
def network(platform: LocalCluster) -> LocalCluster:
    """`helm install` the subnet chart with the README's local values: the compute subnet."""
    create_funded_keys(platform, chain_url(platform))
    out = platform.helm(
        "install", NETWORK_RELEASE, str(REPO_ROOT / "charts" / "subnet"), "-n", NETWORK_NS,
        "-f", str(NETWORK_LOCAL_VALUES),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return platform


def neurons(cluster: LocalCluster, kind: str, *selector: str) -> list[dict]:
    return kget(cluster, kind, "-n", NETWORK_NS, *selector)["items"]


def test_miners_run_for_real_and_earn_emission(network: LocalCluster) -> None:
    """Validators challenge the CPU miners over their pod IPs, set weights, and every epoch's
    emission reaches the Miner resources' status. GPU miners are scheduled on the kwok GPU
    nodes (not run) and registered."""

    def earning() -> bool:
        miners = neurons(network, "miners", "-l", f"!{GPU_POOL.split('=')[0]}")
        return bool(miners) and all(
            float((m.get("status") or {}).get("totalEmission") or 0) > 0 for m in miners
        )

    try:
        wait_for(earning, timeout=600, interval=5, what="emission in every Miner's status")
    except TimeoutError:
        raise AssertionError(describe_on_failure(network, NETWORK_NS)) from None
    node = network.real_node
    assert node is not None
    gpu_miners = {m["metadata"]["name"] for m in neurons(network, "miners", "-l", GPU_POOL)}
    assert len(gpu_miners) == 2
    for pod in kget(network, "pods", "-n", NETWORK_NS)["items"]:
        owner = pod["metadata"]["ownerReferences"][0]["name"]
        if any(owner.startswith(m) for m in gpu_miners):
            assert pod["spec"]["nodeName"].startswith("gpu-node-"), pod["metadata"]["name"]
            continue
        assert pod["spec"]["nodeName"] == node.name, pod["metadata"]["name"]
        assert ready(pod), pod["metadata"]["name"]  # the neurons' real probes
    for miner in neurons(network, "miners", "-l", GPU_POOL):
        assert miner["status"]["phase"] == "Registered", miner["status"]
    for validator in neurons(network, "validators"):
        assert validator["status"]["phase"] == "Registered"
        assert validator["status"].get("uid") is not None


def chain_state(endpoint: str, netuid: int) -> dict:
    from subnetes.chain.client import ChainClient

    with ChainClient(endpoint, timeout=30) as chain:
        head = chain.chain()["head"]
        return {
            "head": head,
            "block": chain.block(head),
            "hotkeys": sorted(n["hotkey"] for n in chain.metagraph(netuid)["neurons"]),
        }


def netuid_of(cluster: LocalCluster) -> int:
    (subnet,) = neurons(cluster, "subnets")
    return int(subnet["status"]["netuid"])


def test_chain_pod_deleted_comes_back_on_its_pvc_without_losing_a_block(
    network: LocalCluster,
) -> None:
    netuid = netuid_of(network)
    before = chain_state(chain_url(network), netuid)
    (pod,) = pods(network, PLATFORM_NS, "app.kubernetes.io/component=chain")
    network.kubectl("delete", "pod", pod["metadata"]["name"], "-n", PLATFORM_NS, check=True)

    def back() -> bool:
        found = pods(network, PLATFORM_NS, "app.kubernetes.io/component=chain")
        return (
            bool(found)
            and found[0]["metadata"]["uid"] != pod["metadata"]["uid"]
            and ready(found[0])
        )

    wait_for(back, timeout=240, interval=2, what="the chain pod back and ready")
    after = chain_state(chain_url(network), netuid)
    assert after["head"] >= before["head"]
    # The committed block is the same block (same hash) after the restart, and every
    # registered neuron is still there.
    from subnetes.chain.client import ChainClient

    with ChainClient(chain_url(network), timeout=30) as chain:
        assert chain.block(before["head"]) == before["block"]
    assert set(before["hotkeys"]) <= set(after["hotkeys"])


def test_operator_pod_deleted_resumes_without_double_registration(network: LocalCluster) -> None:
    netuid = netuid_of(network)
    before = chain_state(chain_url(network), netuid)
    (pod,) = pods(network, PLATFORM_NS, "app.kubernetes.io/component=operator")
    network.kubectl("delete", "pod", pod["metadata"]["name"], "-n", PLATFORM_NS, check=True)
    wait_for(
        lambda: any(
            p["metadata"]["uid"] != pod["metadata"]["uid"] and ready(p)
            for p in pods(network, PLATFORM_NS, "app.kubernetes.io/component=operator")
        ),
        timeout=180,
        interval=2,
        what="a new ready operator pod",
    )
    # Let the new operator reconcile every resource and a few blocks pass.
    from subnetes.chain.client import ChainClient

    with ChainClient(chain_url(network), timeout=30) as chain:
        target = chain.chain()["head"] + 15
        wait_for(lambda: chain.chain()["head"] >= target, timeout=120, what="15 more blocks")
    after = chain_state(chain_url(network), netuid)
    assert after["hotkeys"] == before["hotkeys"]  # no neuron registered twice, none lost
    uids = [m["status"]["uid"] for m in neurons(network, "miners") + neurons(network, "validators")]
    assert len(uids) == len(set(uids))


def probe_pod(name: str, namespace: str, labels: dict, image: str, url: str) -> dict:
    """A one-shot pod that GETs ``url`` for up to ~40 s: exit 0 at the first answer, 1 if every
    try is refused or times out. The tries cover the moment between a new pod starting and the
    policy enforcer (kube-router) adding its address to the allowed set."""
    script = (
        "import sys, time, urllib.request\n"
        "for attempt in range(20):\n"
        "    try:\n"
        f"        urllib.request.urlopen({url!r}, timeout=5).read()\n"
        "        print('reached'); sys.exit(0)\n"
        "    except Exception as exc:\n"
        "        last = exc; time.sleep(2)\n"
        "print('unreachable:', last); sys.exit(1)\n"
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
            "containers": [
                {
                    "name": "probe",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["python3", "-c", script],
                    "securityContext": {"allowPrivilegeEscalation": False},
                }
            ],
        },
    }


def test_network_policy_admits_the_scraper_and_nobody_else(
    network: LocalCluster, product_image: str
) -> None:
    """With the NetworkPolicy on (enforced by kube-router on the real node), a pod labelled as
    the values say scrapes /metrics through the chain's Service name, the Ingress controller's
    pod reaches the API, and an unlabelled pod in another namespace cannot reach the chain."""
    svc = next(
        s["metadata"]["name"]
        for s in kget(network, "services", "-n", PLATFORM_NS)["items"]
        if s["metadata"]["name"].endswith("-chain") and s["spec"].get("clusterIP") != "None"
    )
    base = f"http://{svc}.{PLATFORM_NS}.svc.cluster.local:9944"
    url = f"{base}/metrics"
    probes = {  # (namespace, pod) -> the outcome the policy must give
        ("monitoring", "scraper"): "Succeeded",
        ("ingress-nginx", "controller"): "Succeeded",
        ("outsider", "stranger"): "Failed",
    }
    for ns, _ in probes:
        network.kubectl("create", "namespace", ns)
    network.apply_manifests(
        [
            probe_pod("scraper", "monitoring", {"app.kubernetes.io/name": "prometheus"},
                      product_image, url),
            probe_pod("controller", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"},
                      product_image, f"{base}/readyz"),
            probe_pod("stranger", "outsider", {"app": "curious"}, product_image, url),
        ]
    )  # fmt: skip

    def phase(ns: str, name: str) -> str | None:
        p = kget(network, "pod", name, "-n", ns)["status"].get("phase")
        return p if p in ("Succeeded", "Failed") else None

    try:
        outcomes = {
            (ns, name): wait_for(
                lambda ns=ns, name=name: phase(ns, name), timeout=240, what=f"the {name} pod"
            )
            for ns, name in probes
        }
    finally:
        logs = {ns: network.kubectl("logs", name, "-n", ns).stdout for ns, name in probes}
        network.kubectl("delete", "namespace", *(ns for ns, _ in probes), "--wait=false")
    assert outcomes == probes, logs
    assert "reached" in logs["monitoring"] and "reached" in logs["ingress-nginx"], logs
    assert "unreachable" in logs["outsider"], logs


def test_helm_upgrade_rolls_the_operator(
    network: LocalCluster, product_image: str, tmp_path_factory
) -> None:
    (old,) = pods(network, PLATFORM_NS, "app.kubernetes.io/component=operator")
    values = write_values(tmp_path_factory.mktemp("values"), "platform-debug",
                          platform_values(log_level="debug"))  # fmt: skip
    out = network.helm(
        "upgrade", RELEASE, str(REPO_ROOT / "charts" / "subnetes"), "-n", PLATFORM_NS,
        "-f", str(LOCAL_VALUES), "-f", str(values), "--wait", "--timeout", "5m",
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    (new,) = [
        p
        for p in pods(network, PLATFORM_NS, "app.kubernetes.io/component=operator")
        if p["metadata"].get("deletionTimestamp") is None
    ]
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    env = {e["name"]: e.get("value") for e in new["spec"]["containers"][0].get("env", [])}
    assert "debug" in json.dumps(env).lower()
    assert ready(new)


def test_helm_uninstall_leaves_only_what_the_docs_say(network: LocalCluster) -> None:
    """Uninstalling the network deregisters nothing by surprise and removes its resources;
    uninstalling the platform keeps the chain's PVC (the ledger) and the CRDs, as documented."""
    out = network.helm("uninstall", NETWORK_RELEASE, "-n", NETWORK_NS, "--wait")
    assert out.returncode == 0, out.stdout + out.stderr
    wait_for(
        lambda: not kget(network, "miners,validators,subnets", "-n", NETWORK_NS)["items"],
        timeout=180,
        interval=2,
        what="the network's resources gone",
    )
    out = network.helm("uninstall", RELEASE, "-n", PLATFORM_NS, "--wait")
    assert out.returncode == 0, out.stdout + out.stderr

    def leftovers() -> list[str]:
        left = kget(network, "all,configmaps,secrets,serviceaccounts,roles,rolebindings",
                    "-n", PLATFORM_NS)["items"]  # fmt: skip
        return sorted(
            f"{o['kind']}/{o['metadata']['name']}"
            for o in left
            if not o["metadata"]["name"].startswith(("default", "kube-root-ca"))
        )

    # Pods stop within their grace period (helm's --wait covers the objects it deleted, not
    # the pods their controllers owned).
    try:
        wait_for(lambda: not leftovers(), timeout=120, interval=2, what="nothing left")
    except TimeoutError:
        raise AssertionError(f"left after uninstall: {leftovers()}") from None
    (pvc,) = kget(network, "pvc", "-n", PLATFORM_NS)["items"]  # retainOnUninstall: true
    assert pvc["status"]["phase"] == "Bound"
    for crd in ("subnets", "miners", "validators"):
        network.kubectl("get", "crd", f"{crd}.subnetes.io", check=True)
    cluster_scoped = network.kubectl(
        "get", "clusterroles,clusterrolebindings", "-l", f"app.kubernetes.io/instance={RELEASE}",
        "-o", "name",
    ).stdout.split()  # fmt: skip
    assert cluster_scoped == []
