"""Pod -> local process translation of the dev runner (pure)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from subnetes.localnet.devrunner import build_process_spec, runs_here


def pod(**container) -> dict:
    return {
        "metadata": {"name": "miner-0-0", "namespace": "net", "uid": "u1"},
        "spec": {
            "nodeName": "gpu-node-0",
            "containers": [
                {"name": "miner", "image": "ghcr.io/subnetes/subnetes:0.1.0", **container}
            ],
            "volumes": [{"name": "hotkey", "secret": {"secretName": "miner-0-hotkey"}}],
        },
        "status": {"phase": "Running", "podIP": "127.64.0.7", "hostIP": "127.0.0.1"},
    }


SECRETS = {
    ("net", "miner-0-hotkey"): {"hotkey": b'{"ss58Address": "5F..."}'},
    ("net", "tok"): {"t": b"abc"},
}


def lookup(namespace: str, name: str) -> dict[str, bytes]:
    return SECRETS[(namespace, name)]


def test_env_downward_api_secret_refs_and_mounts_are_resolved(tmp_path: Path) -> None:
    p = pod(
        args=["workload", "miner"],
        env=[
            {"name": "SUBNETES_HOTKEY_PATH", "value": "/var/run/subnetes/hotkey/hotkey"},
            {"name": "SUBNETES_AXON_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "t"}}},
            {"name": "PLAIN", "value": "x"},
        ],
        volumeMounts=[
            {"name": "hotkey", "mountPath": "/var/run/subnetes/hotkey", "readOnly": True}
        ],
    )
    spec = build_process_spec(p, lookup, tmp_path)
    assert spec.argv == [sys.executable, "-m", "subnetes.cli", "workload", "miner"]
    hotkey = str(tmp_path / "var/run/subnetes/hotkey/hotkey")
    assert spec.env == {
        "SUBNETES_HOTKEY_PATH": hotkey,
        "SUBNETES_AXON_IP": "127.64.0.7",
        "TOKEN": "abc",
        "PLAIN": "x",
    }
    assert spec.files == {hotkey: b'{"ss58Address": "5F..."}'}


def test_explicit_python_command_uses_this_interpreter(tmp_path: Path) -> None:
    spec = build_process_spec(pod(command=["python", "-c"], args=["print(1)"]), lookup, tmp_path)
    assert spec.argv == [sys.executable, "-c", "print(1)"]


def test_unsupported_downward_field_is_a_clear_error(tmp_path: Path) -> None:
    p = pod(env=[{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels"}}}])
    with pytest.raises(ValueError, match=r"metadata\.labels"):
        build_process_spec(p, lookup, tmp_path)


@pytest.mark.parametrize(
    ("image", "phase", "ip", "expected"),
    [
        ("ghcr.io/subnetes/subnetes:0.1.0", "Running", "127.64.0.1", True),
        ("subnetes:dev", "Running", "127.64.0.1", True),
        ("ghcr.io/subnetes/subnetes@sha256:abc", "Running", "127.64.0.1", True),
        ("ghcr.io/subnetes/example-miner:0.1", "Running", "127.64.0.1", False),
        ("ghcr.io/subnetes/subnetes:0.1.0", "Pending", "", False),
        ("ghcr.io/subnetes/subnetes:0.1.0", "Running", "", False),
    ],
)
def test_only_running_subnetes_image_pods_run_here(image, phase, ip, expected) -> None:
    p = pod()
    p["spec"]["containers"][0]["image"] = image
    p["status"] = {"phase": phase, "podIP": ip}
    assert runs_here(p) is expected
