"""Pure manifest builders: StatefulSet, pod template, axon Service, hotkey Secret."""

import base64
import copy

import yaml

from subnetes.operator.labels import HOTKEY_PATH
from subnetes.operator.manifests import (
    GPU_TOLERATION,
    build_axon_service,
    build_hotkey_secret,
    build_workload_statefulset,
    requested_gpus,
)
from subnetes.operator.paths import REPO_ROOT


def example(kind: str, name: str) -> dict:
    files = {"Miner": "20-miners.yaml", "Validator": "10-validators.yaml"}
    for doc in yaml.safe_load_all((REPO_ROOT / "examples" / files[kind]).read_text()):
        if doc["metadata"]["name"] == name:
            doc["metadata"] |= {"namespace": "ns1", "uid": "u-123"}
            return doc
    raise KeyError(name)


def build(owner: dict, **kw) -> dict:
    return build_workload_statefulset(
        owner, hotkey_secret="h-secret", chain_endpoint="http://127.0.0.1:9944", netuid=3, **kw
    )


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_statefulset_shape_and_owner() -> None:
    miner = example("Miner", "miner-0")
    before = copy.deepcopy(miner)
    sts = build(miner)
    assert miner == before  # pure: the resource is not modified
    assert sts["kind"] == "StatefulSet" and sts["metadata"]["name"] == "miner-0"
    assert sts["metadata"]["namespace"] == "ns1"
    ref = sts["metadata"]["ownerReferences"][0]
    assert ref["kind"] == "Miner" and ref["uid"] == "u-123" and ref["controller"] is True
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["serviceName"] == "miner-0"
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert labels["app.kubernetes.io/managed-by"] == "subnetes-operator"
    assert labels["app.kubernetes.io/part-of"] == "subnetes"
    assert labels["subnetes.io/subnet"] == "text-prompting"
    assert all(
        k.startswith(("app.kubernetes.io/", "subnetes.io/")) for k in sts["metadata"]["labels"]
    )


def test_env_hotkey_mount_and_axon_port() -> None:
    sts = build(example("Miner", "miner-3"))
    pod = sts["spec"]["template"]["spec"]
    ct = pod["containers"][0]
    env = env_of(ct)
    assert env["SUBNETES_CHAIN_ENDPOINT"] == "http://127.0.0.1:9944"
    assert env["SUBNETES_NETUID"] == "3"
    assert env["SUBNETES_HOTKEY_PATH"] == HOTKEY_PATH == "/var/run/subnetes/hotkey/hotkey"
    assert env["SUBNETES_AXON_PORT"] == "9000"
    assert env["SUBNETES_AXON_IP"] == {
        "fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}
    }
    assert env["LOG_LEVEL"] == "info"
    mount = next(m for m in ct["volumeMounts"] if m["mountPath"] == "/var/run/subnetes/hotkey")
    assert mount["readOnly"] is True
    vol = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert vol["secret"]["secretName"] == "h-secret"
    assert vol["secret"]["items"] == [{"key": "hotkey", "path": "hotkey"}]
    assert {"name": "axon", "containerPort": 9000, "protocol": "TCP"} in ct["ports"]
    assert pod["automountServiceAccountToken"] is False


def test_security_context_restricted() -> None:
    pod = build(example("Miner", "miner-4"))["spec"]["template"]["spec"]
    sc = pod["containers"][0]["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_gpu_toleration_added_only_when_needed() -> None:
    miner = example("Miner", "miner-2")
    miner["spec"]["template"]["spec"].pop("tolerations")
    pod = build(miner)["spec"]["template"]["spec"]
    assert requested_gpus(pod) == 2
    assert GPU_TOLERATION in pod["tolerations"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    # Already tolerated: not duplicated.
    pod0 = build(example("Miner", "miner-0"))["spec"]["template"]["spec"]
    assert len(pod0["tolerations"]) == 1
    # CPU miner: no toleration invented.
    cpu = build(example("Miner", "miner-3"))["spec"]["template"]["spec"]
    assert "tolerations" not in cpu


def test_affinity_and_extra_fields_pass_through() -> None:
    miner = example("Miner", "miner-3")
    aff = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "subnetes.io/pool", "operator": "In", "values": ["cpu"]}
                        ]
                    }
                ]
            }
        }
    }
    miner["spec"]["template"]["spec"]["affinity"] = aff
    miner["spec"]["template"]["spec"]["priorityClassName"] = "high"
    miner["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "SUBNETES_NETUID", "value": "999"}
    )
    pod = build(miner)["spec"]["template"]["spec"]
    assert pod["affinity"] == aff and pod["priorityClassName"] == "high"
    netuids = [e for e in pod["containers"][0]["env"] if e["name"] == "SUBNETES_NETUID"]
    assert netuids == [{"name": "SUBNETES_NETUID", "value": "3"}]


def test_validator_no_service_name_no_axon_port_and_stop() -> None:
    vali = example("Validator", "validator-1")
    sts = build(vali, stopped=True)
    assert sts["spec"]["replicas"] == 0
    assert "serviceName" not in sts["spec"]
    ports = sts["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert [p["name"] for p in ports] == ["health"]  # no axon port; the health port only


def test_axon_service() -> None:
    svc = build_axon_service(example("Miner", "miner-3"))
    assert svc["metadata"]["name"] == "miner-3"
    assert svc["spec"]["ports"][0]["port"] == 9000
    assert svc["spec"]["selector"] == {
        "app.kubernetes.io/name": "miner",
        "app.kubernetes.io/instance": "miner-3",
    }
    assert svc["metadata"]["ownerReferences"][0]["name"] == "miner-3"


def test_hotkey_secret() -> None:
    sec = build_hotkey_secret(example("Miner", "miner-1"), "miner-1-hotkey", b'{"a": 1}')
    assert base64.b64decode(sec["data"]["hotkey"]) == b'{"a": 1}'
    assert sec["metadata"]["ownerReferences"][0]["kind"] == "Miner"
    assert sec["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "subnetes-operator"
