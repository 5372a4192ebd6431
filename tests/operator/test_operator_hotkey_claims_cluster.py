"""Hotkey Secrets are bound to one neuron (issue 13, hole 8: the confused deputy).

A user who may create Miners but not read Secrets must not get another neuron's hotkey mounted
into a pod of theirs: the operator refuses a Secret that carries no claim for the neuron (the
operator's own Secret is claimed by its owner reference and annotation), and a hotkey that
another neuron already uses. Real control plane, real chain, the operator under its RBAC.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import test_operator_cluster as base
from bittensor_wallet import Keypair
from bittensor_wallet.keyfile import serialized_keypair_to_keyfile_data
from operator_harness import assert_no_traceback, get_all, wait_for
from test_operator_cluster import cond, miner, status_of

from subnetes.localnet.cluster import LocalCluster
from subnetes.operator.labels import HOTKEY_CLAIM_ANNOTATION

# The chain process and the RBAC-limited operator of the operator's cluster tests.
chain, env = base.chain, base.env


def roomy_subnet(namespace: str) -> dict[str, Any]:
    """A subnet with room for every miner of the test (nobody is pruned)."""
    return {
        "apiVersion": "subnetes.io/v1alpha1",
        "kind": "Subnet",
        "metadata": {"name": "tiny", "namespace": namespace},
        "spec": {
            "ownerColdkeySecretRef": {"name": "owner-coldkey"},
            "hyperparameters": {"maxAllowedUids": 16, "immunityPeriod": 100},
        },
    }


def miner_with_key(namespace: str, name: str, secret: str) -> dict[str, Any]:
    doc = miner(namespace, name, "Reregister")
    doc["spec"]["hotkeySecretRef"] = {"name": secret}
    return doc


def hotkey_secret(
    namespace: str, name: str, raw: bytes, claim: str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if claim:
        meta["annotations"] = {HOTKEY_CLAIM_ANNOTATION: claim}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "data": {"hotkey": base64.b64encode(raw).decode()},
    }


def test_hotkey_secrets_are_bound_to_one_neuron(
    cluster: LocalCluster, namespace: str, env: dict
) -> None:
    dbg = env["operator"].output

    def miners() -> dict[str, dict]:
        return status_of(get_all(cluster, namespace, "miners"))

    def registered(name: str) -> dict | None:
        s = miners().get(name, {})
        return s if s.get("phase") == "Registered" and s.get("uid") is not None else None

    def stalled(name: str, reason: str) -> dict | None:
        s = miners().get(name, {})
        st = cond(s, "Stalled")
        return s if st.get("status") == "True" and st.get("reason") == reason else None

    def statefulsets() -> dict[str, dict]:
        out = cluster.kubectl("get", "statefulsets", "-n", namespace, "-o", "json", check=True)
        return {s["metadata"]["name"]: s for s in json.loads(out.stdout)["items"]}

    def events_for(name: str) -> set[str]:
        out = cluster.kubectl("get", "events", "-n", namespace, "-o", "json", check=True).stdout
        return {
            e["reason"]
            for e in json.loads(out)["items"]
            if e["involvedObject"].get("kind") == "Miner" and e["involvedObject"]["name"] == name
        }

    cluster.apply_manifests([roomy_subnet(namespace), miner(namespace, "a", "Reregister")])
    a = wait_for("a Registered", lambda: registered("a"), 120, debug=dbg)

    # b names a's Secret (owned by Miner a): refused, a keeps its key, b gets no workload.
    cluster.apply_manifests([miner_with_key(namespace, "b", "a-hotkey")])
    b = wait_for("b refused", lambda: stalled("b", "HotkeySecretNotClaimed"), 60, debug=dbg)
    assert cond(b, "Ready")["status"] == "False"
    assert "hotkey" not in b and "uid" not in b
    assert "a-hotkey" in cond(b, "Stalled")["message"]
    wait_for("b's Event", lambda: "HotkeySecretNotClaimed" in events_for("b"), 30, debug=dbg)

    # A Secret made by hand without a claim: refused; annotated for the Miner: accepted.
    kp = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    raw = serialized_keypair_to_keyfile_data(kp)
    cluster.apply_manifests(
        [hotkey_secret(namespace, "c-key", raw), miner_with_key(namespace, "c", "c-key")]
    )
    wait_for("c refused", lambda: stalled("c", "HotkeySecretNotClaimed"), 60, debug=dbg)
    assert "c" not in statefulsets()
    cluster.kubectl(
        "annotate", "secret", "c-key", "-n", namespace, f"{HOTKEY_CLAIM_ANNOTATION}=Miner/c",
        check=True,
    )  # fmt: skip
    c = wait_for("c Registered", lambda: registered("c"), 60, debug=dbg)
    assert c["hotkey"] == kp.ss58_address and c["hotkeySecretName"] == "c-key"

    # The same hotkey in another Secret claimed for d: refused, the first claimant keeps it.
    cluster.apply_manifests(
        [hotkey_secret(namespace, "d-key", raw, "Miner/d"), miner_with_key(namespace, "d", "d-key")]
    )
    d = wait_for("d refused", lambda: stalled("d", "HotkeyInUse"), 60, debug=dbg)
    assert "hotkey" not in d and "uid" not in d
    wait_for("d's Event", lambda: "HotkeyInUse" in events_for("d"), 30, debug=dbg)

    sts = statefulsets()
    assert "b" not in sts and "d" not in sts
    volumes = {
        name: [
            v["secret"]["secretName"]
            for v in s["spec"]["template"]["spec"].get("volumes", [])
            if "secret" in v
        ]
        for name, s in sts.items()
    }
    assert volumes["a"] == ["a-hotkey"] and volumes["c"] == ["c-key"]
    assert registered("a") is not None and registered("a")["uid"] == a["uid"]  # type: ignore[index]
    assert registered("c") is not None
    # The operator's own Secret carries the claim too (visible to whoever imports keys).
    out = cluster.kubectl(
        "get", "secret", "a-hotkey", "-n", namespace, "-o", "jsonpath={.metadata.annotations}",
        check=True,
    )  # fmt: skip
    annotations = json.loads(out.stdout)
    assert annotations[HOTKEY_CLAIM_ANNOTATION] == "Miner/a"
    # Refusals never print key material.
    assert kp.ss58_address not in json.dumps(miners()["d"])
    assert_no_traceback(dbg())
