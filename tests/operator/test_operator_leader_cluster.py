"""HA: two operator replicas with ``--leader-election-lease`` against the real control plane.

Only the Lease holder starts Kopf (the other logs that it is waiting and reconciles nothing);
SIGKILL the holder and the standby takes the Lease over once it expires, then reconciles a new
Miner. Both run under the least-privilege ClusterRole plus the namespaced leader-election Role.
Lease timings are shortened through the environment to keep the test quick.
"""

from __future__ import annotations

import base64
import json
import signal
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
    assert_no_traceback,
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
        assert_no_traceback(o.output())


def stopped(pid: int) -> bool:
    """Whether process ``pid`` is stopped (SIGSTOP): state T in /proc/<pid>/stat."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "Tt"
    except OSError:
        return False


# The fence removed (kube and chain writes only note themselves): the negative control.
UNFENCED = (
    "from subnetes.operator import chainlink, faults, kube\n"
    "chainlink.fence = kube.fence = faults.note_write\n"
    "from subnetes.operator.__main__ import main\nmain()\n"
)


@pytest.mark.parametrize("fenced", [True, False], ids=["fenced", "unfenced"])
def test_split_brain_a_frozen_holder_writes_nothing_after_it_resumes(
    cluster: LocalCluster, namespace: str, ha: dict, tmp_path: Path, fenced: bool
) -> None:
    """SIGSTOP the holder mid-reconcile (right after its burned_register was included, before
    it records anything), past its lease; the standby takes over and finishes the Miner. SIGCONT
    the old holder: it resumes inside that reconcile, and the lease fence before each write
    makes it exit without writing. Every write a replica makes (status and metadata patches,
    applies, Secrets, Events, extrinsics) is journalled with its pid (SUBNETES_FAULT_WRITE_LOG,
    test-only): none from the old holder after it resumed. Without the fence it writes."""
    ops: dict[str, OperatorProcess] = ha["ops"]
    old, new = ops["op-a"], ops["op-b"]
    journal = tmp_path / "writes.log"
    for op in ops.values():
        op.env = op.env | {"SUBNETES_FAULT_WRITE_LOG": str(journal)}
    old.env = old.env | {"SUBNETES_FAULT_STOP_AT": "burned_register"}
    if not fenced:
        old.args[1:3] = ["-c", UNFENCED]

    def logs() -> str:
        return "\n".join(f"--- {n}\n{o.output()[-3000:]}" for n, o in ops.items())

    old.start()
    wait_for("op-a holds the lease", lambda: holder(cluster, namespace) == "op-a", 30, debug=logs)
    new.start()
    cluster.apply_manifests([
        {
            "apiVersion": "subnetes.io/v1alpha1", "kind": "Subnet",
            "metadata": {"name": "ha", "namespace": namespace},
            "spec": {"ownerColdkeySecretRef": {"name": "owner-coldkey"},
                     "hyperparameters": {"maxAllowedUids": 16, "maxAllowedValidators": 2}},
        },
        miner(namespace, "m"),
    ])  # fmt: skip
    assert old.proc is not None and new.proc is not None
    pid = old.proc.pid
    wait_for("op-a frozen after burned_register", lambda: stopped(pid), 60, 0.1, debug=logs)
    assert "fault injection: stop at burned_register" in old.output()
    wait_for("op-b took over", lambda: holder(cluster, namespace) == "op-b", 30, 0.2, debug=logs)
    wait_for("op-b reconciled the Miner", lambda: ready(cluster, namespace, "m"), 45, debug=logs)
    resumed = time.time()
    old.proc.send_signal(signal.SIGCONT)
    wait_for("op-a gone", lambda: old.proc is not None and old.proc.poll() is not None, 30,
             debug=logs)  # fmt: skip
    lines = [ln.split(" ", 2) for ln in journal.read_text().splitlines()]
    late = [w for p, t, w in lines if int(p) == pid and float(t) >= resumed]
    if not fenced:  # the control: the same freeze without the fence does write
        assert late, "the unfenced replica made no write after resuming: the test shows nothing"
        return
    assert late == [], late
    assert old.proc.returncode == 1
    assert "no longer held; refusing to" in old.output()
    assert any(int(p) == new.proc.pid for p, _, _ in lines)  # the journal sees op-b's writes
    assert_no_traceback(new.output())
