"""HA: two operator replicas with ``--leader-election-lease`` against the real control plane.

Only the Lease holder starts Kopf (the other logs that it is waiting and reconciles nothing);
SIGKILL the holder and the standby takes the Lease over once it expires, then reconciles a new
Miner. Both run under the least-privilege ClusterRole plus the namespaced leader-election Role.
Lease timings are shortened through the environment to keep the test quick.
"""

from __future__ import annotations

import base64
import json
import time
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
    get_all,
    restricted_kubeconfig,
    strip_finalizers,
    wait_for,
)

from subnetes.chain.client import ChainClient
from subnetes.localnet.cluster import LocalCluster
from subnetes.operator import rbac

TAO = 10**9
LEASE = "subnetes-operator"
TIMING = {
    "SUBNETES_LEADER_ELECTION_LEASE_DURATION": "8",
    "SUBNETES_LEADER_ELECTION_RENEW_DEADLINE": "5",
    "SUBNETES_LEADER_ELECTION_RENEW_INTERVAL": "2",
    "SUBNETES_LEADER_ELECTION_RETRY_PERIOD": "0.5",
}
STARTED = "subnetes operator started"


@pytest.fixture
def ha(cluster: LocalCluster, namespace: str, tmp_path: Path) -> Iterator[dict]:
    chain = ChainProcess(tmp_path)
    apply_crds(cluster)
    kubeconfig = tmp_path / "operator.kubeconfig"
    role = restricted_kubeconfig(cluster, namespace, kubeconfig)
    cluster.apply_manifests([
        rbac.leader_election_role(namespace, f"{role}-leader"),
        rbac.leader_election_role_binding(namespace, role, f"{role}-leader"),
    ])  # fmt: skip
    with ChainClient(chain.endpoint) as client:
        for secret in ("owner-coldkey", "miner-coldkey"):
            kp = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
            client.faucet(kp, 10_000 * TAO)
            data = base64.b64encode(serialized_keypair_to_keyfile_data(kp)).decode()
            cluster.apply_manifests([{
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": secret, "namespace": namespace},
                "data": {"coldkey": data},
            }])  # fmt: skip
    ops = {}
    for name in ("op-a", "op-b"):
        op = OperatorProcess(namespace, kubeconfig, chain.endpoint, tmp_path / f"{name}.log")
        op.args += [f"--leader-election-lease={LEASE}"]
        op.env = op.env | TIMING | {"POD_NAME": name, "POD_NAMESPACE": namespace}
        ops[name] = op
    yield {"ops": ops, "chain": chain}
    for op in ops.values():
        op.stop()
    strip_finalizers(cluster, namespace)
    delete_rbac(cluster, role)
    chain.stop()


def holder(cluster: LocalCluster, namespace: str) -> str | None:
    r = cluster.kubectl("get", "lease", LEASE, "-n", namespace, "-o", "json")
    return json.loads(r.stdout)["spec"].get("holderIdentity") if r.returncode == 0 else None


def miner(namespace: str, name: str) -> dict:
    return {
        "apiVersion": "subnetes.io/v1alpha1",
        "kind": "Miner",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "subnetRef": {"name": "ha"},
            "coldkeySecretRef": {"name": "miner-coldkey"},
            "registration": {"maxBurn": "1"},
            "template": {"spec": {"containers": [{"name": "miner", "image": "example/miner:1"}]}},
        },
    }


def ready(cluster: LocalCluster, namespace: str, name: str) -> bool:
    for m in get_all(cluster, namespace, "miners"):
        if m["metadata"]["name"] == name:
            conds = (m.get("status") or {}).get("conditions", [])
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
    return False


def test_only_the_lease_holder_reconciles_and_a_standby_takes_over(
    cluster: LocalCluster, namespace: str, ha: dict
) -> None:
    ops: dict[str, OperatorProcess] = ha["ops"]
    for op in ops.values():  # both campaign at once: exactly one wins
        op.start()

    def logs() -> str:
        return "\n".join(f"--- {n}\n{o.output()[-3000:]}" for n, o in ops.items())

    first = wait_for("a lease holder", lambda: holder(cluster, namespace), 30, debug=logs)
    standby = "op-b" if first == "op-a" else "op-a"
    wait_for(
        "the standby waiting",
        lambda: f"waiting for lease {namespace}/{LEASE}, held by {first}" in ops[standby].output(),
        30,
        debug=logs,
    )
    cluster.apply_manifests([
        {
            "apiVersion": "subnetes.io/v1alpha1", "kind": "Subnet",
            "metadata": {"name": "ha", "namespace": namespace},
            "spec": {"ownerColdkeySecretRef": {"name": "owner-coldkey"},
                     "hyperparameters": {"maxAllowedUids": 16, "maxAllowedValidators": 2}},
        },
        miner(namespace, "before"),
    ])  # fmt: skip
    wait_for("Miner reconciled by the holder", lambda: ready(cluster, namespace, "before"), 45,
             debug=logs)  # fmt: skip
    assert STARTED in ops[first].output()
    assert STARTED not in ops[standby].output(), "the standby ran Kopf"
    assert "reconcile" not in ops[standby].output().lower()
    assert holder(cluster, namespace) == first

    ops[first].kill()  # no release: the standby must wait for the lease to expire
    killed = time.monotonic()
    wait_for("takeover", lambda: holder(cluster, namespace) == standby, 20, 0.2, debug=logs)
    took = time.monotonic() - killed
    assert took <= 8 + 2 + 1, took  # lease duration + renew interval + a poll
    assert f"{standby} acquired lease {namespace}/{LEASE} (previous holder: {first})" in (
        ops[standby].output()
    )
    cluster.apply_manifests([miner(namespace, "after")])
    wait_for("Miner reconciled by the new holder", lambda: ready(cluster, namespace, "after"), 45,
             debug=logs)  # fmt: skip
    assert STARTED in ops[standby].output()

    # The killed replica restarts as a standby; a clean stop of the holder hands over at once.
    ops[first].start()
    wait_for("restarted replica waiting", lambda: f"held by {standby}" in ops[first].output(), 20,
             debug=logs)  # fmt: skip
    ops[standby].stop()  # SIGTERM: Kopf stops, then the Lease is released
    stopped = time.monotonic()
    wait_for("handover", lambda: holder(cluster, namespace) == first, 15, 0.2, debug=logs)
    assert time.monotonic() - stopped < 8, "a released lease is taken without waiting it out"
    for o in ops.values():
        assert "Traceback" not in o.output(), o.output()[-4000:]
