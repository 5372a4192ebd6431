"""A user's request through the gateway, end to end on the local control plane (issue 17).

The operator (least-privilege ClusterRole, a real chain process) reconciles Subnet compute with
``spec.gateway`` and two Miners; the dev pod runner runs their pods as real processes on their
loopback pod IPs (the gateway's Deployment pod included). The gateway's hotkey is registered and
staked (a validator permit at the next epoch: miners answer only permit holders). Then a
``POST /v1/matmul`` to the gateway pod returns a product that is checked here in full, and the
same request through the network router (``SUBNETES_ROUTER_DISCOVERY=kubernetes``, its own
ServiceAccount with ``list`` on Subnets and nothing else) reaches the same gateway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
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
from test_operator_gateway_cluster import _get, _secret

from subnetes.chain.client import ChainClient
from subnetes.localnet.cluster import REPO_ROOT, LocalCluster, free_port
from subnetes.localnet.devrunner import DevRunner, stop_process
from subnetes.operator.labels import HOTKEY_CLAIM_ANNOTATION
from subnetes.workloads.compute.challenge import Challenge, operands
from subnetes.workloads.compute.protocol import MatmulResponse

TAO = 10**9
KEY = "sk-e2e-gateway-user-key"
IMAGE = "ghcr.io/subnetes/subnetes:0.1.0"
SIZE = 16


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    proc = ChainProcess(tmp_path)
    yield proc
    proc.stop()


def _miner(namespace: str, name: str) -> dict:
    return {
        "apiVersion": "subnetes.io/v1alpha1",
        "kind": "Miner",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "subnetRef": {"name": "compute"},
            "coldkeySecretRef": {"name": "neuron-coldkey"},
            "axonPort": 8091,
            "registration": {"maxBurn": "10"},
            "template": {
                "spec": {
                    "containers": [{"name": "miner", "image": IMAGE, "args": ["workload", "miner"]}]
                }
            },
        },
    }


def _router_rbac(cluster: LocalCluster, namespace: str) -> str:
    """The chart's router RBAC (list on Subnets, nothing else) for a ServiceAccount here."""
    name = f"subnetes-router-{namespace}"
    rules = [{"apiGroups": ["subnetes.io"], "resources": ["subnets"], "verbs": ["list"]}]
    cluster.apply_manifests(
        [
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": name, "namespace": namespace}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": name}, "rules": rules},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": name},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": name},
             "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]},
        ]
    )  # fmt: skip
    return name


def _ask(url: str, seed: int) -> httpx.Response | None:
    body = {"seed": seed, "m": SIZE, "k": SIZE, "n": SIZE}
    try:
        return httpx.post(
            f"{url}/v1/matmul",
            json=body,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=30,
            trust_env=False,
        )
    except httpx.HTTPError:
        return None


def _verified(resp: httpx.Response, seed: int) -> bool:
    ch = Challenge(seed=seed, m=SIZE, k=SIZE, n=SIZE)
    a, b = operands(ch)
    c = MatmulResponse.model_validate_json(resp.content).array(ch)
    return bool(np.allclose(c, a @ b, rtol=1e-4, atol=1e-4))


def test_a_request_through_the_gateway_pod_and_the_router_succeeds(
    cluster: LocalCluster, namespace: str, chain: ChainProcess, tmp_path: Path
) -> None:
    apply_crds(cluster)
    kubeconfig = tmp_path / "operator.kubeconfig"
    role = restricted_kubeconfig(cluster, namespace, kubeconfig)
    router_role = _router_rbac(cluster, namespace)
    owner, neurons, gw = (Keypair.create_from_mnemonic(Keypair.generate_mnemonic()) for _ in "123")
    with ChainClient(chain.endpoint) as client:
        client.faucet(owner, 50_000 * TAO)
        client.faucet(neurons, 10_000 * TAO)

    def coldkey(name: str, kp: Keypair) -> dict:
        return _secret(namespace, name, {"coldkey": serialized_keypair_to_keyfile_data(kp)})

    cluster.apply_manifests(
        [
            coldkey("owner-coldkey", owner),
            coldkey("neuron-coldkey", neurons),
            _secret(
                namespace,
                "gw-hotkey",
                {"hotkey": serialized_keypair_to_keyfile_data(gw)},
                **{HOTKEY_CLAIM_ANNOTATION: "Gateway/compute"},
            ),
            _secret(namespace, "gw-keys", {"keys.yaml": f"keys:\n- {{name: e2e, key: {KEY}}}\n".encode()}),
            {
                "apiVersion": "subnetes.io/v1alpha1",
                "kind": "Subnet",
                "metadata": {"name": "compute", "namespace": namespace},
                "spec": {
                    "ownerColdkeySecretRef": {"name": "owner-coldkey"},
                    "registration": {"maxLockCost": "100"},
                    "hyperparameters": {
                        "tempo": 10, "maxAllowedUids": 8, "maxAllowedValidators": 4,
                        "weightsRateLimit": 0, "immunityPeriod": 50, "activityCutoff": 500,
                    },
                    "gateway": {
                        "image": IMAGE,
                        "hotkeySecretRef": {"name": "gw-hotkey"},
                        "authSecretRef": {"name": "gw-keys"},
                        "routing": {"policy": "Health", "deadlineMilliseconds": 20000},
                        "capabilities": ["matmul"],
                    },
                },
            },
            _miner(namespace, "miner-a"),
            _miner(namespace, "miner-b"),
        ]
    )  # fmt: skip
    op = OperatorProcess(namespace, kubeconfig, chain.endpoint, tmp_path / "operator.log")
    runner = DevRunner(
        cluster.kubeconfig,
        tmp_path / "pods",
        namespaces=[namespace],
        base_env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )
    thread = threading.Thread(target=runner.run, kwargs={"interval": 0.5}, daemon=True)
    router: subprocess.Popen | None = None
    op.start()
    thread.start()

    def logs() -> str:
        out = op.output()[-3000:]
        for f in sorted((tmp_path / "pods" / "logs").glob("*.log")):
            out += f"\n--- {f.name}\n" + f.read_text()[-1500:]
        return out

    try:
        netuid = wait_for(
            "the subnet's netuid",
            lambda: ((_get(cluster, "subnet", namespace, "compute") or {}).get("status") or {}).get(
                "netuid"
            ),
            120,
            debug=logs,
        )
        with ChainClient(chain.endpoint) as client:
            client.burned_register(owner, netuid, gw.ss58_address)
            client.add_stake(owner, gw.ss58_address, 100 * TAO)  # a permit at the next epoch

        def gateway_ip() -> str | None:
            out = cluster.kubectl(
                "get", "pods", "-n", namespace, "-l", "app.kubernetes.io/name=gateway",
                "-o", "json", check=True,
            )  # fmt: skip
            ips = [(p.get("status") or {}).get("podIP") for p in json.loads(out.stdout)["items"]]
            return ips[0] if len(ips) == 1 and ips[0] else None

        ip = wait_for("the gateway pod's IP", gateway_ip, 120, debug=logs)
        url = f"http://{ip}:8080"

        def answered(u: str, seed: int) -> httpx.Response | None:
            r = _ask(u, seed)
            return r if r is not None and r.status_code == 200 else None

        # Miners registered and serving, the gateway's permit given at an epoch: then 200.
        resp = wait_for("a verified answer from the gateway", lambda: answered(url, 7), 240,
                        interval=2, debug=logs)  # fmt: skip
        assert _verified(resp, 7)
        uid = int(resp.headers["X-Subnetes-Uid"])
        miners = {
            r["uid"] for r in ChainClient(chain.endpoint).metagraph(netuid)["neurons"]
            if r["hotkey"] != gw.ss58_address and r["uid"] != 0
        }  # fmt: skip
        assert uid in miners
        bad = httpx.post(f"{url}/v1/matmul", json={"seed": 1}, trust_env=False, timeout=10)
        assert bad.status_code == 401  # no key: a specific 4xx, never a miner's work

        # The router, under its own RBAC, discovers the Subnet and forwards to its gateway.
        router_kc = cluster.token_kubeconfig(namespace, router_role, tmp_path / "router.kc")
        port = free_port()
        router = subprocess.Popen(
            [sys.executable, "-m", "subnetes.gateway.router"],
            env={
                **os.environ,
                "KUBECONFIG": str(router_kc),
                "SUBNETES_ROUTER_DISCOVERY": "kubernetes",
                "SUBNETES_ROUTER_NAMESPACES": namespace,
                # No cluster DNS here: the gateway's pod address stands in for its Service.
                "SUBNETES_ROUTER_GATEWAY_URL": f"http://{ip}:{{port}}",
                "SUBNETES_CHAIN_ENDPOINT": chain.endpoint,
                "SUBNETES_ROUTER_PORT": str(port),
                "SUBNETES_ROUTER_REFRESH": "1",
            },
            stdout=(tmp_path / "router.log").open("wb"),
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
        rurl = f"http://127.0.0.1:{port}"

        def routes() -> list | None:
            try:
                got = httpx.get(f"{rurl}/v1/routes", trust_env=False, timeout=2).json()
            except httpx.HTTPError:
                return None
            return got or None

        table = wait_for("the router's routes", routes, 60,
                         debug=lambda: (tmp_path / "router.log").read_text())  # fmt: skip
        assert [(r["netuid"], r["url"], r["capabilities"]) for r in table] == [
            (netuid, url, ["matmul"])
        ]
        via = wait_for("a verified answer through the router", lambda: answered(rurl, 11), 60,
                       interval=1, debug=lambda: (tmp_path / "router.log").read_text())  # fmt: skip
        assert via.headers["X-Subnetes-Netuid"] == str(netuid) and _verified(via, 11)
        # Least privilege: the router's account cannot read Secrets.
        denied = subprocess.run(
            [str(cluster.bins / "kubectl"), "--kubeconfig", str(router_kc), "get", "secrets",
             "-n", namespace],
            capture_output=True, text=True,
        )  # fmt: skip
        assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()
    finally:
        if router is not None:
            stop_process(router)
        runner.stop()
        thread.join(30)
        op.stop()
        strip_finalizers(cluster, namespace)
        delete_rbac(cluster, role)
        delete_rbac(cluster, router_role)
