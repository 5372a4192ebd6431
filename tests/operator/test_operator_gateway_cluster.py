"""Subnet.spec.gateway on the real control plane: the operator (least-privilege ClusterRole, a
real chain process) reconciles it into the Deployment and Service <subnet>-gateway, the API
server accepts them, and the gateway pods are scheduled."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from bittensor_wallet import Keypair
from bittensor_wallet.keyfile import serialized_keypair_to_keyfile_data
from operator_harness import (
    ChainProcess,
    OperatorProcess,
    apply_crds,
    delete_rbac,
    restricted_kubeconfig,
    strip_finalizers,
    wait_for,
)

from subnetes.chain.client import ChainClient
from subnetes.localnet.cluster import LocalCluster
from subnetes.operator.labels import HOTKEY_CLAIM_ANNOTATION

TAO = 10**9


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    proc = ChainProcess(tmp_path)
    yield proc
    proc.stop()


def _secret(namespace: str, name: str, data: dict[str, bytes], **annotations: str) -> dict:
    meta: dict = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }


def _get(cluster: LocalCluster, kind: str, namespace: str, name: str) -> dict | None:
    out = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json")
    return json.loads(out.stdout) if out.returncode == 0 else None


def _apply_subnet_with_gateway(
    cluster: LocalCluster, namespace: str, chain: ChainProcess, replicas: int
) -> None:
    """The owner's funded coldkey, the gateway's claimed hotkey and keys Secrets, and Subnet
    compute with spec.gateway."""
    owner = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    gw = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    with ChainClient(chain.endpoint) as client:
        client.faucet(owner, 50_000 * TAO)
    cluster.apply_manifests(
        [
            _secret(
                namespace, "owner-coldkey", {"coldkey": serialized_keypair_to_keyfile_data(owner)}
            ),
            _secret(
                namespace,
                "gw-hotkey",
                {"hotkey": serialized_keypair_to_keyfile_data(gw)},
                **{HOTKEY_CLAIM_ANNOTATION: "Gateway/compute"},
            ),
            _secret(
                namespace,
                "gw-keys",
                {"keys.yaml": b"keys:\n- {name: a, key: sk-aaaaaaaaaaaaaaaa}\n"},
            ),
            {
                "apiVersion": "subnetes.io/v1alpha1",
                "kind": "Subnet",
                "metadata": {"name": "compute", "namespace": namespace},
                "spec": {
                    "ownerColdkeySecretRef": {"name": "owner-coldkey"},
                    "gateway": {
                        "image": "ghcr.io/subnetes/subnetes:0.1.0",
                        "replicas": replicas,
                        "hotkeySecretRef": {"name": "gw-hotkey"},
                        "authSecretRef": {"name": "gw-keys"},
                        "routing": {"policy": "Health"},
                    },
                },
            },
        ]
    )


def test_gateway_is_reconciled_and_its_pods_are_scheduled(
    cluster: LocalCluster, namespace: str, chain: ChainProcess, tmp_path: Path
) -> None:
    apply_crds(cluster)
    kubeconfig = tmp_path / "operator.kubeconfig"
    role = restricted_kubeconfig(cluster, namespace, kubeconfig)
    _apply_subnet_with_gateway(cluster, namespace, chain, replicas=2)
    op = OperatorProcess(namespace, kubeconfig, chain.endpoint, tmp_path / "operator.log")
    op.start()
    try:
        deploy = wait_for(
            "the gateway Deployment",
            lambda: _get(cluster, "deployment", namespace, "compute-gateway"),
            120,
            debug=op.output,
        )
        subnet = _get(cluster, "subnet", namespace, "compute")
        assert subnet is not None
        assert deploy["metadata"]["ownerReferences"][0]["uid"] == subnet["metadata"]["uid"]
        assert deploy["spec"]["replicas"] == 2
        env = {
            e["name"]: e.get("value")
            for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        netuid = wait_for(
            "netuid",
            lambda: (
                (_get(cluster, "subnet", namespace, "compute") or {})
                .get("status", {})
                .get("netuid")
            ),
            60,
        )
        assert env["SUBNETES_NETUID"] == str(netuid) and env["SUBNETES_GATEWAY_POLICY"] == "health"
        svc = wait_for(
            "the gateway Service",
            lambda: _get(cluster, "service", namespace, "compute-gateway"),
            30,
        )
        assert svc["spec"]["selector"] == deploy["spec"]["selector"]["matchLabels"]

        def scheduled() -> list[str] | None:
            out = cluster.kubectl(
                "get", "pods", "-n", namespace, "-l", "app.kubernetes.io/name=gateway", "-o", "json",
                check=True,
            )  # fmt: skip
            nodes = [p["spec"].get("nodeName") for p in json.loads(out.stdout)["items"]]
            return nodes if len(nodes) == 2 and all(nodes) else None

        nodes = wait_for("2 gateway pods scheduled", scheduled, 120, debug=op.output)
        assert all(n for n in nodes)
    finally:
        op.stop()
        strip_finalizers(cluster, namespace)
        delete_rbac(cluster, role)


def test_removing_spec_gateway_deletes_its_deployment_and_service(
    cluster: LocalCluster, namespace: str, chain: ChainProcess, tmp_path: Path
) -> None:
    """Before the fix the operator only applied: without spec.gateway it did nothing, and the
    owner references kept the gateway running until the Subnet itself was deleted."""
    apply_crds(cluster)
    kubeconfig = tmp_path / "operator.kubeconfig"
    role = restricted_kubeconfig(cluster, namespace, kubeconfig)
    _apply_subnet_with_gateway(cluster, namespace, chain, replicas=1)
    op = OperatorProcess(namespace, kubeconfig, chain.endpoint, tmp_path / "operator.log")
    op.start()
    try:
        for kind in ("deployment", "service"):
            wait_for(
                f"the gateway {kind}",
                lambda kind=kind: _get(cluster, kind, namespace, "compute-gateway"),
                120,
                debug=op.output,
            )
        cluster.kubectl(
            "patch", "subnet", "compute", "-n", namespace, "--type=json",
            "-p", '[{"op": "remove", "path": "/spec/gateway"}]', check=True,
        )  # fmt: skip
        for kind in ("deployment", "service"):
            wait_for(
                f"the gateway {kind} deleted",
                lambda kind=kind: _get(cluster, kind, namespace, "compute-gateway") is None,
                60,
                debug=op.output,
            )

        def removed_event() -> list:
            out = cluster.kubectl(
                "get", "events", "-n", namespace, "--field-selector", "reason=GatewayRemoved",
                "-o", "json", check=True,
            )  # fmt: skip
            return json.loads(out.stdout)["items"]

        wait_for("the GatewayRemoved event", removed_event, 30, debug=op.output)
    finally:
        op.stop()
        strip_finalizers(cluster, namespace)
        delete_rbac(cluster, role)
