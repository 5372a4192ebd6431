"""Neuron pods are ready for a real kubelet: probes on ports and paths the workload serves, a
read-only root filesystem with a writable /tmp, non-root, a validator memory limit; every
default gives way to what the resource's pod template says."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from bittensor_wallet import Keypair

from subnetes.operator.manifests import (
    DEFAULT_HEALTH_PORT,
    DEFAULT_PROBES_ANNOTATION,
    TMP_VOLUME,
    build_workload_statefulset,
    memory_bytes,
)
from subnetes.operator.paths import REPO_ROOT
from subnetes.sdk import health
from subnetes.sdk.axon import Axon
from subnetes.sdk.memchain import MemoryNetwork

PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


def resource(kind: str, **container: Any) -> dict[str, Any]:
    """A minimal Miner or Validator with one container (extra container fields merged in)."""
    role = kind.lower()
    return {
        "apiVersion": "subnetes.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": f"{role}-x", "namespace": "ns1", "uid": "u-1"},
        "spec": {
            "subnetRef": {"name": "compute"},
            "coldkeySecretRef": {"name": "ck"},
            "axonPort": 9000,
            "template": {
                "spec": {
                    "containers": [
                        {"name": role, "image": "img", "args": ["workload", role]} | container
                    ]
                }
            },
        },
    }


def pod_of(owner: dict[str, Any]) -> dict[str, Any]:
    sts = build_workload_statefulset(
        owner, hotkey_secret="hk", chain_endpoint="http://chain:9944", netuid=1
    )
    return sts["spec"]["template"]["spec"]


def neuron(owner: dict[str, Any]) -> dict[str, Any]:
    return pod_of(owner)["containers"][0]


def env_of(ct: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in ct["env"]}


def routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) pairs an aiohttp application serves."""
    return {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"
    }


def test_miner_probes_hit_the_axon_port_and_a_path_the_axon_serves() -> None:
    ct = neuron(resource("Miner"))
    assert {"name": "axon", "containerPort": 9000, "protocol": "TCP"} in ct["ports"]
    kp = Keypair.create_from_uri("//pod-defaults")
    served = routes(Axon(kp, 1, MemoryNetwork().client(kp.ss58_address)).app())
    for key in PROBES:
        get = ct[key]["httpGet"]
        assert get["port"] == 9000, key
        assert ("GET", get["path"]) in served, key
    assert ct["startupProbe"]["failureThreshold"] * ct["startupProbe"]["periodSeconds"] >= 300


def test_validator_serves_health_where_its_probes_point() -> None:
    ct = neuron(resource("Validator"))
    assert env_of(ct)["SUBNETES_HEALTH_PORT"] == str(DEFAULT_HEALTH_PORT)
    assert DEFAULT_HEALTH_PORT == health.DEFAULT_HEALTH_PORT
    assert {"name": "health", "containerPort": DEFAULT_HEALTH_PORT, "protocol": "TCP"} in ct[
        "ports"
    ]
    served = routes(health.HealthServer("127.0.0.1", 0, lambda: True).app())
    assert ct["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": DEFAULT_HEALTH_PORT}
    assert ct["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": DEFAULT_HEALTH_PORT}
    for key in PROBES:
        assert ("GET", ct[key]["httpGet"]["path"]) in served, key
    # It binds the address the kubelet probes: the pod IP, which the SDK takes as SUBNETES_AXON_IP.
    assert env_of(ct)["SUBNETES_AXON_IP"]["fieldRef"]["fieldPath"] == "status.podIP"


@pytest.mark.parametrize("kind", ["Miner", "Validator"])
def test_read_only_root_with_writable_tmp_home_and_non_root(kind: str) -> None:
    pod = pod_of(resource(kind))
    ct = pod["containers"][0]
    assert ct["securityContext"]["readOnlyRootFilesystem"] is True
    assert ct["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    tmp = next(m for m in ct["volumeMounts"] if m["mountPath"] == "/tmp")
    assert tmp["name"] == TMP_VOLUME and not tmp.get("readOnly")
    vol = next(v for v in pod["volumes"] if v["name"] == TMP_VOLUME)
    assert "emptyDir" in vol and memory_bytes(vol["emptyDir"]["sizeLimit"]) >= 2**30
    assert env_of(ct)["HOME"] == "/tmp"  # the image's user has no home directory


@pytest.mark.parametrize(
    ("resources", "limit"),
    [
        ({"requests": {"cpu": "1", "memory": "1Gi"}}, "2048Mi"),
        ({"requests": {"memory": "1.5G"}}, "2862Mi"),
        (None, "2Gi"),
        ({"requests": {"memory": "1Gi"}, "limits": {"memory": "3Gi"}}, "3Gi"),  # kept
    ],
)
def test_validator_gets_a_memory_limit(resources: dict | None, limit: str) -> None:
    extra = {"resources": resources} if resources is not None else {}
    ct = neuron(resource("Validator", **extra))
    assert ct["resources"]["limits"]["memory"] == limit
    request = (ct["resources"].get("requests") or {}).get("memory")
    assert request is None or memory_bytes(limit) >= memory_bytes(request)


def test_miner_memory_is_left_as_written() -> None:
    ct = neuron(resource("Miner", resources={"limits": {"nvidia.com/gpu": 1}}))
    assert ct["resources"] == {"limits": {"nvidia.com/gpu": 1}}


def test_the_template_wins_over_every_default() -> None:
    own_probe = {"exec": {"command": ["true"]}, "periodSeconds": 7}
    vali = resource(
        "Validator",
        readinessProbe=own_probe,
        securityContext={"readOnlyRootFilesystem": False},
        env=[
            {"name": "HOME", "value": "/home/app"},
            {"name": "SUBNETES_HEALTH_PORT", "value": "9100"},
        ],
        volumeMounts=[{"name": "scratch", "mountPath": "/tmp/"}],
    )
    vali["spec"]["template"]["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    before = copy.deepcopy(vali)
    pod = pod_of(vali)
    assert vali == before
    ct = pod["containers"][0]
    assert ct["readinessProbe"] == own_probe
    assert ct["livenessProbe"]["httpGet"]["port"] == 9100  # the template's health port
    assert {"name": "health", "containerPort": 9100, "protocol": "TCP"} in ct["ports"]
    assert ct["securityContext"]["readOnlyRootFilesystem"] is False
    assert env_of(ct)["HOME"] == "/home/app" and env_of(ct)["SUBNETES_HEALTH_PORT"] == "9100"
    assert [m["mountPath"] for m in ct["volumeMounts"]].count("/tmp/") == 1
    assert not any(v["name"] == TMP_VOLUME for v in pod["volumes"])


def test_probes_can_be_turned_off() -> None:
    off = resource("Miner")
    off["metadata"]["annotations"] = {DEFAULT_PROBES_ANNOTATION: "false"}
    assert not set(PROBES) & set(neuron(off))
    # A validator whose template turns the health server off gets no probes to fail.
    no_health = neuron(resource("Validator", env=[{"name": "SUBNETES_HEALTH_PORT", "value": "0"}]))
    assert not set(PROBES) & set(no_health)
    assert all(p.get("name") != "health" for p in no_health.get("ports") or [])


def test_sidecars_keep_their_root_filesystem_and_get_no_probes() -> None:
    miner = resource("Miner")
    miner["spec"]["template"]["spec"]["containers"].append({"name": "log-shipper", "image": "s"})
    sidecar = pod_of(miner)["containers"][1]
    assert "readOnlyRootFilesystem" not in sidecar["securityContext"]
    assert not set(PROBES) & set(sidecar)


def test_examples_build_pods_whose_probe_ports_are_declared() -> None:
    """Every example neuron: each httpGet probe targets a port its container declares."""
    for path in ("examples/10-validators.yaml", "examples/20-miners.yaml"):
        for doc in yaml.safe_load_all((REPO_ROOT / path).read_text()):
            doc["metadata"] |= {"namespace": "ns1", "uid": "u"}
            ct = neuron(doc)
            declared = {p["containerPort"] for p in ct["ports"]}
            for key in PROBES:
                assert ct[key]["httpGet"]["port"] in declared, (doc["metadata"]["name"], key)


def test_memory_quantities() -> None:
    assert memory_bytes("512Mi") == 512 * 2**20
    assert memory_bytes("2G") == 2e9 and memory_bytes("1e3") == 1000 and memory_bytes(64) == 64
    assert memory_bytes("lots") is None


def test_the_api_server_accepts_the_hardened_statefulsets(cluster: Any, namespace: str) -> None:
    """Server-side dry run of every example neuron's StatefulSet plus the minimal ones: the
    probes, ports, volumes and limits added here are valid Kubernetes objects."""
    owners = [resource("Miner"), resource("Validator")]
    for path in ("examples/10-validators.yaml", "examples/20-miners.yaml"):
        owners += list(yaml.safe_load_all((REPO_ROOT / path).read_text()))
    items = []
    for owner in owners:
        owner["metadata"] |= {"namespace": namespace, "uid": "00000000-0000-0000-0000-000000000001"}
        sts = build_workload_statefulset(
            owner, hotkey_secret="hk", chain_endpoint="http://chain:9944", netuid=1
        )
        sts["metadata"].pop("ownerReferences")  # the owners do not exist in this namespace
        items.append(sts)
    doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    out = cluster.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", input=doc)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("(server dry run)") == len(items), out.stdout
