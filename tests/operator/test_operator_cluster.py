"""The operator against the real control plane and a real chain process.

The operator runs as a subprocess under its least-privilege ClusterRole (a ServiceAccount token,
not the admin identity), namespaced to the test namespace, with ``--standalone``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from argocd_health import argo_health
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
from subnetes.operator.paths import REPO_ROOT

TAO = 10**9


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    proc = ChainProcess(tmp_path)
    yield proc
    proc.stop()


@pytest.fixture
def env(
    cluster: LocalCluster, namespace: str, chain: ChainProcess, tmp_path: Path
) -> Iterator[dict]:
    """CRDs, RBAC-limited operator running, funded coldkey Secrets."""
    apply_crds(cluster)
    kubeconfig = tmp_path / "operator.kubeconfig"
    role = restricted_kubeconfig(cluster, namespace, kubeconfig)
    keys = {}
    with ChainClient(chain.endpoint) as client:
        for secret in ("owner-coldkey", "validator-coldkey", "miner-coldkey"):
            mnemonic = Keypair.generate_mnemonic()
            kp = Keypair.create_from_mnemonic(mnemonic)
            client.faucet(kp, 50_000 * TAO)
            keys[secret] = mnemonic
            data = base64.b64encode(serialized_keypair_to_keyfile_data(kp)).decode()
            cluster.apply_manifests([{
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": secret, "namespace": namespace},
                "data": {"coldkey": data},
            }])  # fmt: skip
    op = OperatorProcess(namespace, kubeconfig, chain.endpoint, tmp_path / "operator.log")
    op.start()
    yield {"operator": op, "keys": keys, "chain": chain, "kubeconfig": kubeconfig}
    op.stop()
    strip_finalizers(cluster, namespace)
    delete_rbac(cluster, role)


def example_docs(namespace: str) -> list[dict]:
    docs = []
    for f in ("00-subnet.yaml", "10-validators.yaml", "20-miners.yaml"):
        for doc in yaml.safe_load_all((REPO_ROOT / "examples" / f).read_text()):
            doc["metadata"]["namespace"] = namespace
            docs.append(doc)
    return docs


def status_of(items: list[dict]) -> dict[str, dict]:
    return {o["metadata"]["name"]: o.get("status") or {} for o in items}


def cond(status: dict, type_: str) -> dict:
    return next((c for c in status.get("conditions", []) if c["type"] == type_), {})


def test_examples_register_schedule_and_earn(
    cluster: LocalCluster, namespace: str, env: dict
) -> None:
    """Subnet + 2 Validators + 6 Miners: netuid, UIDs, GPU pods on GPU nodes, status, emission.

    The operator is SIGKILLed at its first status write and started again: every hotkey still
    holds exactly one UID (a smoke test: the chain itself refuses a second registration of a
    hotkey; the kills between paying and recording, audited against the chain's blocks, are in
    test_operator_faults_cluster.py).
    """
    op: OperatorProcess = env["operator"]
    dbg = op.output
    cluster.apply_manifests(example_docs(namespace))
    wait_for(
        "first status",
        lambda: any(status_of(get_all(cluster, namespace, "miners")).values()),
        60,
        debug=dbg,
    )
    op.kill()
    op.start()

    subnet = wait_for(
        "subnet registered",
        lambda: (
            (s := status_of(get_all(cluster, namespace, "subnets"))["text-prompting"]).get("phase")
            == "Registered"
            and s
        ),
        debug=dbg,
    )
    netuid = subnet["netuid"]
    assert cond(subnet, "Ready")["status"] == "True"
    assert cond(subnet, "HyperparametersApplied")["status"] == "True"

    def all_ready() -> dict | None:
        sts = status_of(get_all(cluster, namespace, "miners")) | status_of(
            get_all(cluster, namespace, "validators")
        )
        ok = len(sts) == 8 and all(cond(s, "Ready").get("status") == "True" for s in sts.values())
        return sts if ok else None

    sts = wait_for("8 neurons Ready", all_ready, 120, debug=dbg)
    uids = [s["uid"] for s in sts.values()]
    assert len(set(uids)) == 8 and 0 not in uids  # UID 0 is the owner
    for name, s in sts.items():
        assert s["netuid"] == netuid and s["phase"] == "Registered"
        assert s["observedGeneration"] >= 1 and s["hotkeySecretName"] == f"{name}-hotkey"
        assert s["podName"] == f"{name}-0"
    for name in ("miner-0", "miner-1", "miner-2", "validator-0"):
        assert sts[name]["nodeName"].startswith("gpu-node-"), name
    for name in ("miner-3", "miner-4", "miner-5"):
        assert sts[name]["nodeName"].startswith("cpu-node-"), name
    pods = {
        p["metadata"]["name"]: p
        for p in json.loads(
            cluster.kubectl("get", "pods", "-n", namespace, "-o", "json", check=True).stdout
        )["items"]
    }
    assert (
        pods["miner-2-0"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    )
    assert sts["miner-3"]["axon"] == f"{pods['miner-3-0']['status']['podIP']}:9000"
    assert float(sts["validator-0"]["stake"]) >= 1000  # grows with dividends

    with ChainClient(env["chain"].endpoint) as client:
        # Restart-safety: one UID per hotkey, nothing registered twice.
        for s in sts.values():
            regs = client.hotkey(s["hotkey"])["registrations"]
            assert regs == [{"netuid": netuid, "uid": s["uid"]}]
        assert client.metagraph(netuid)["n"] == 9
        # Validators set weights on the miners (their hotkeys come from the operator's Secrets).
        miner_uids = sorted(sts[f"miner-{i}"]["uid"] for i in range(6))
        vkeys = []
        for v in ("validator-0", "validator-1"):
            raw = cluster.kubectl(
                "get",
                "secret",
                f"{v}-hotkey",
                "-n",
                namespace,
                "-o",
                "jsonpath={.data.hotkey}",
                check=True,
            ).stdout
            from bittensor_wallet.keyfile import deserialize_keypair_from_keyfile_data

            vkeys.append(deserialize_keypair_from_keyfile_data(base64.b64decode(raw)))

        def permits() -> bool:
            mg = client.metagraph(netuid)
            return all(
                r["validator_permit"]
                for r in mg["neurons"]
                if r["hotkey"] in {k.ss58_address for k in vkeys}
            )

        wait_for("validator permits", permits, 60)
        for k in vkeys:
            client.set_weights(
                k, netuid, miner_uids, [65535 - 1000 * i for i in range(len(miner_uids))]
            )

    def earned() -> dict | None:
        m = status_of(get_all(cluster, namespace, "miners"))
        v = status_of(get_all(cluster, namespace, "validators"))
        ok = all(
            float(s.get("incentive", 0)) > 0 and float(s.get("totalEmission", 0)) > 0
            for s in m.values()
        )
        ok = ok and all(
            s.get("validatorPermit") and float(s.get("dividends", 0)) > 0 for s in v.values()
        )
        return (m, v) if ok else None

    m, v = wait_for("incentive, emission and dividends in status", earned, 90, debug=dbg)
    # Argo CD's view of the live objects (examples/gitops/argocd/health.lua, real Lua).
    for plural in ("subnets", "validators", "miners"):
        for obj in get_all(cluster, namespace, plural):
            health = argo_health(obj)
            assert health["status"] == "Healthy", (obj["metadata"]["name"], health)
    assert all(len(s["lastEmission"].split(".")[1]) == 9 for s in m.values())
    assert all(len(s["incentive"].split(".")[1]) == 6 for s in m.values())
    subnet = status_of(get_all(cluster, namespace, "subnets"))["text-prompting"]
    assert subnet["neurons"]["total"] == 9 and subnet["lastEpochBlock"] > 0
    assert_no_traceback(op.output())
    # Waiting (for the Subnet, for a pod) is a requeue, not an ERROR line from Kopf.
    assert "failed temporarily" not in op.output(), op.output()[-4000:]
    # Secrets never leave the Secret: not in status, not in the operator's log.
    dump = json.dumps(m) + json.dumps(v) + op.output()
    events = cluster.kubectl("get", "events", "-n", namespace, "-o", "json", check=True).stdout
    for mnemonic in env["keys"].values():
        assert mnemonic not in dump and mnemonic not in events
    hk = json.loads(
        base64.b64decode(
            cluster.kubectl(
                "get",
                "secret",
                "miner-0-hotkey",
                "-n",
                namespace,
                "-o",
                "jsonpath={.data.hotkey}",
                check=True,
            ).stdout
        )
    )
    assert hk["secretPhrase"] not in dump + events and hk["secretSeed"] not in dump + events


def small_subnet(namespace: str) -> dict:
    return {
        "apiVersion": "subnetes.io/v1alpha1",
        "kind": "Subnet",
        "metadata": {"name": "tiny", "namespace": namespace},
        "spec": {
            "ownerColdkeySecretRef": {"name": "owner-coldkey"},
            # The owner holds UID 0, so one miner fits; the next registration prunes it.
            "hyperparameters": {
                "maxAllowedUids": 2,
                "maxAllowedValidators": 1,
                "immunityPeriod": 1,
            },
        },
    }


def miner(namespace: str, name: str, policy: str) -> dict:
    return {
        "apiVersion": "subnetes.io/v1alpha1",
        "kind": "Miner",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "subnetRef": {"name": "tiny"},
            "coldkeySecretRef": {"name": "miner-coldkey"},
            "registration": {"policy": policy, "maxBurn": "1"},
            "template": {"spec": {"containers": [{"name": "miner", "image": "example/miner:1"}]}},
        },
    }


def test_pruned_miner_is_deregistered_stopped_and_reregistered(
    cluster: LocalCluster, namespace: str, env: dict
) -> None:
    """Fill a subnet: the pruned Miner goes Deregistered with an Event; Stop scales it to zero;
    switching it to Reregister registers it again (pruning the other one, which stops)."""
    op: OperatorProcess = env["operator"]
    dbg = op.output

    def miners() -> dict[str, dict]:
        return status_of(get_all(cluster, namespace, "miners"))

    def replicas(name: str) -> int:
        out = cluster.kubectl(
            "get",
            "statefulset",
            name,
            "-n",
            namespace,
            "-o",
            "jsonpath={.spec.replicas}",
            check=True,
        )
        return int(out.stdout)

    def pods() -> set[str]:
        out = cluster.kubectl("get", "pods", "-n", namespace, "-o", "json", check=True).stdout
        return {
            p["metadata"]["name"]
            for p in json.loads(out)["items"]
            if not p["metadata"].get("deletionTimestamp")
        }

    cluster.apply_manifests([small_subnet(namespace), miner(namespace, "first", "Stop")])
    wait_for(
        "first Ready",
        lambda: cond(miners().get("first", {}), "Ready").get("status") == "True",
        debug=dbg,
    )
    assert "first-0" in pods()
    # A StatefulSet deleted by hand comes back: the operator skips re-applying unchanged
    # children, but its pod's deletion drops what it remembers of them.
    cluster.kubectl("delete", "statefulset", "first", "-n", namespace, "--wait=false", check=True)
    wait_for("first's StatefulSet and pod back",
             lambda: "first-0" in pods() and replicas("first") == 1, debug=dbg)  # fmt: skip

    cluster.apply_manifests([miner(namespace, "second", "Stop")])
    first = wait_for(
        "first Deregistered and stopped",
        lambda: (
            (s := miners().get("first", {})).get("phase") == "Deregistered"
            and cond(s, "Scheduled").get("reason") == "Stopped"
            and s
        ),
        debug=dbg,
    )
    assert cond(first, "Deregistered")["status"] == "True"
    assert cond(first, "Stalled") == cond(first, "Stalled") | {
        "status": "True",
        "reason": "Deregistered",
    }
    assert cond(first, "Ready")["status"] == "False"
    assert first["deregisteredBlock"] > 0 and first["deregistrationReason"] == "Pruned"
    live = {o["metadata"]["name"]: o for o in get_all(cluster, namespace, "miners")}
    assert argo_health(live["first"])["status"] == "Degraded"  # Stop: stays down until edited
    assert replicas("first") == 0
    wait_for("first's pod gone", lambda: "first-0" not in pods())
    wait_for(
        "second Ready",
        lambda: cond(miners().get("second", {}), "Ready").get("status") == "True",
        debug=dbg,
    )
    events = json.loads(
        cluster.kubectl("get", "events", "-n", namespace, "-o", "json", check=True).stdout
    )["items"]
    assert any(
        e["reason"] == "Deregistered"
        and e["involvedObject"]["name"] == "first"
        and e["type"] == "Warning"
        for e in events
    )

    # Policy Reregister: pays the burn again (within maxBurn) and comes back.
    cluster.kubectl(
        "patch",
        "miner",
        "first",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"registration":{"policy":"Reregister"}}}',
        check=True,
    )
    first = wait_for(
        "first registered again",
        lambda: (
            (s := miners().get("first", {})).get("phase") == "Registered"
            and cond(s, "Ready").get("status") == "True"
            and s
        ),
        debug=dbg,
    )
    assert "deregisteredBlock" not in first and replicas("first") == 1
    wait_for(
        "second Deregistered",
        lambda: miners().get("second", {}).get("phase") == "Deregistered",
        debug=dbg,
    )
    with ChainClient(env["chain"].endpoint) as client:
        netuid = status_of(get_all(cluster, namespace, "subnets"))["tiny"]["netuid"]
        hotkeys = {r["hotkey"] for r in client.metagraph(netuid)["neurons"]}
    assert first["hotkey"] in hotkeys and miners()["second"]["hotkey"] not in hotkeys
    assert_no_traceback(op.output())


def test_lock_cost_limit_and_subnet_deletion_waits_for_neurons(
    cluster: LocalCluster, namespace: str, env: dict
) -> None:
    """maxLockCost is never exceeded (Stalled condition); deleting a Subnet with a live Miner is
    held by a condition until the Miner is gone, then the subnet is dissolved on chain."""
    dbg = env["operator"].output
    pricey = small_subnet(namespace) | {"metadata": {"name": "pricey", "namespace": namespace}}
    pricey["spec"] = dict(pricey["spec"], registration={"maxLockCost": "0.5"})
    cluster.apply_manifests([small_subnet(namespace), miner(namespace, "m", "Stop"), pricey])

    def subnets() -> dict[str, dict]:
        return status_of(get_all(cluster, namespace, "subnets"))

    stalled = wait_for(
        "pricey Stalled",
        lambda: (
            cond(subnets().get("pricey", {}), "Stalled").get("status") == "True"
            and subnets()["pricey"]
        ),
        debug=dbg,
    )
    assert cond(stalled, "Stalled")["reason"] == "LockCostAboveLimit"
    assert "netuid" not in stalled
    wait_for(
        "m Ready",
        lambda: (
            cond(status_of(get_all(cluster, namespace, "miners")).get("m", {}), "Ready").get(
                "status"
            )
            == "True"
        ),
        debug=dbg,
    )
    netuid = subnets()["tiny"]["netuid"]

    cluster.kubectl("delete", "subnet", "tiny", "-n", namespace, "--wait=false", check=True)
    held = wait_for(
        "deletion held",
        lambda: (
            cond(subnets().get("tiny", {}), "Ready").get("reason") == "NeuronsRemaining"
            and subnets()["tiny"]
        ),
        debug=dbg,
    )
    assert "Miner/m" in cond(held, "Ready")["message"]
    cluster.kubectl("delete", "miner", "m", "-n", namespace, "--wait=false", check=True)
    wait_for("subnet gone", lambda: "tiny" not in subnets(), 60, debug=dbg)
    with ChainClient(env["chain"].endpoint) as client:
        assert all(s["netuid"] != netuid for s in client.subnets())


def test_validator_stake_follows_spec_and_keeps_dividends(
    cluster: LocalCluster, namespace: str, env: dict
) -> None:
    """spec.stake is the principal: raised, the stake is topped up; stake credited on top
    (dividends) stays while spec.stake is unchanged or raised, and across an operator restart;
    lowered, the coldkey's stake on the hotkey goes back to exactly the new value, and
    status.stakeTarget follows every applied value."""
    op: OperatorProcess = env["operator"]
    dbg = op.output
    coldkey = Keypair.create_from_mnemonic(env["keys"]["validator-coldkey"])
    subnet = small_subnet(namespace)
    # No epoch during the test (the first would be hours away): the only stake credited on
    # top of spec.stake is what the test adds in place of dividends.
    subnet["spec"]["hyperparameters"]["tempo"] = 50_400
    cluster.apply_manifests([subnet])

    def subnet_applied() -> bool:
        s = status_of(get_all(cluster, namespace, "subnets")).get("tiny", {})
        return cond(s, "HyperparametersApplied").get("status") == "True"

    wait_for("subnet hyperparameters applied", subnet_applied, debug=dbg)

    def validator(stake: str, max_burn: str = "1") -> dict:
        return {
            "apiVersion": "subnetes.io/v1alpha1",
            "kind": "Validator",
            "metadata": {"name": "v", "namespace": namespace},
            "spec": {
                "subnetRef": {"name": "tiny"},
                "coldkeySecretRef": {"name": "validator-coldkey"},
                "stake": stake,
                "registration": {"maxBurn": max_burn},
                "template": {
                    "spec": {"containers": [{"name": "validator", "image": "example/vali:1"}]}
                },
            },
        }

    def status() -> dict:
        return status_of(get_all(cluster, namespace, "validators")).get("v", {})

    def generation() -> int:
        return get_all(cluster, namespace, "validators")[0]["metadata"]["generation"]

    with ChainClient(env["chain"].endpoint) as client:

        def held(hotkey: str) -> int:
            """The coldkey's stake on the hotkey, rao."""
            return sum(
                int(s["amount"])
                for s in client.hotkey(hotkey)["stakes"]
                if s["coldkey"] == coldkey.ss58_address
            )

        def applied(stake: str, rao: int) -> str | None:
            """The hotkey once status.stakeTarget is ``stake`` and the chain holds ``rao``."""
            s = status()
            ok = s.get("stakeTarget") == stake and s.get("hotkey") and held(s["hotkey"]) == rao
            return s["hotkey"] if ok else None

        cluster.apply_manifests([validator("100")])
        hotkey = wait_for(
            "100 TAO staked", lambda: applied("100.000000000", 100 * TAO), 60, debug=dbg
        )

        # Dividends: the chain credits them to the coldkey's stake on the hotkey.
        client.add_stake(coldkey, hotkey, 7 * TAO)
        # An unrelated spec change reconciles: the dividends stay.
        cluster.apply_manifests([validator("100", max_burn="2")])
        gen = generation()
        wait_for("reconciled", lambda: status().get("observedGeneration") == gen, debug=dbg)
        assert held(hotkey) == 107 * TAO
        # Raised: topped up to the new level (the dividends count toward it), never past it.
        cluster.apply_manifests([validator("120", max_burn="2")])
        wait_for("raised to 120", lambda: applied("120.000000000", 120 * TAO), debug=dbg)

        # More dividends, then a restart (every object is reconciled on resume): kept.
        client.add_stake(coldkey, hotkey, 5 * TAO)
        op.kill()
        op.start()
        cluster.apply_manifests([validator("120", max_burn="3")])
        gen = generation()
        wait_for("reconciled after restart", lambda: status().get("observedGeneration") == gen)
        assert held(hotkey) == 125 * TAO and status()["stakeTarget"] == "120.000000000"

        # Lowered: back to exactly the new value, dividends included; the rest is on the coldkey.
        balance = int(client.account(coldkey.ss58_address)["balance"])
        cluster.apply_manifests([validator("60", max_burn="3")])
        wait_for("lowered to 60", lambda: applied("60.000000000", 60 * TAO), debug=dbg)
        assert int(client.account(coldkey.ss58_address)["balance"]) == balance + 65 * TAO
        assert float(status()["stake"]) == 60  # total on the hotkey: only this coldkey stakes
        # Raised again after lowering: topped up.
        cluster.apply_manifests([validator("80", max_burn="3")])
        wait_for("raised to 80", lambda: applied("80.000000000", 80 * TAO), debug=dbg)
    assert cond(status(), "Stalled").get("status") != "True", status()
    assert_no_traceback(op.output())
    events = json.loads(
        cluster.kubectl("get", "events", "-n", namespace, "-o", "json", check=True).stdout
    )["items"]
    mine = [e for e in events if e["involvedObject"].get("kind") == "Validator"]
    assert any(
        e["reason"] == "StakeRemoved" and "Returned 65.000000000 TAO" in e["message"] for e in mine
    ), [(e["reason"], e["message"]) for e in mine]
    assert any(e["reason"] == "StakeAdded" for e in mine)


def test_status_totals_equal_the_chain_after_an_outage(
    cluster: LocalCluster, namespace: str, env: dict
) -> None:
    """The operator is stopped across several epochs and started again: every Miner's and
    Validator's totalEmission equals the chain's per-registration total_emission exactly (the
    epochs it never saw included), and the Validator's lastWeightsBlock is its weights_block.
    (Adding up the epochs it saw, as status used to, under-counts for good.)"""
    from subnetes.chain.units import rao_to_tao, tao_to_rao
    from subnetes.wire.events import EventKind

    op: OperatorProcess = env["operator"]
    dbg = op.output
    subnet = small_subnet(namespace)
    subnet["spec"]["hyperparameters"] = {"tempo": 10, "maxAllowedUids": 8}
    validator = {
        "apiVersion": "subnetes.io/v1alpha1",
        "kind": "Validator",
        "metadata": {"name": "v", "namespace": namespace},
        "spec": {
            "subnetRef": {"name": "tiny"},
            "coldkeySecretRef": {"name": "validator-coldkey"},
            "stake": "100",
            "registration": {"maxBurn": "1"},
            "template": {"spec": {"containers": [{"name": "validator", "image": "example/v:1"}]}},
        },
    }
    names = ("m-a", "m-b")
    cluster.apply_manifests([subnet, validator] + [miner(namespace, n, "Stop") for n in names])

    def neurons() -> dict[str, dict]:
        return status_of(get_all(cluster, namespace, "miners")) | status_of(
            get_all(cluster, namespace, "validators")
        )

    def all_ready() -> dict | None:
        sts = neurons()
        ok = len(sts) == 3 and all(cond(s, "Ready").get("status") == "True" for s in sts.values())
        return sts if ok else None

    sts = wait_for("3 neurons Ready", all_ready, 120, debug=dbg)
    netuid = sts["v"]["netuid"]
    raw = cluster.kubectl(
        "get", "secret", "v-hotkey", "-n", namespace, "-o", "jsonpath={.data.hotkey}", check=True
    ).stdout
    from bittensor_wallet.keyfile import deserialize_keypair_from_keyfile_data

    vkey = deserialize_keypair_from_keyfile_data(base64.b64decode(raw))

    with ChainClient(env["chain"].endpoint) as client:

        def row_of(uid: int) -> dict:
            return next(r for r in client.metagraph(netuid)["neurons"] if r["uid"] == uid)

        wait_for("validator permit", lambda: row_of(sts["v"]["uid"])["validator_permit"], 60)
        client.set_weights(vkey, netuid, [sts[n]["uid"] for n in names], [65535, 30000])

        def earning() -> dict | None:
            cur = neurons()
            ok = all(float(cur[n].get("totalEmission", 0)) > 0 for n in names)
            return cur if ok and cur["v"].get("lastWeightsBlock") is not None else None

        before = wait_for("emission and lastWeightsBlock in status", earning, 60, debug=dbg)

        # The outage: at least three epochs the operator never sees.
        op.stop()
        stopped_at = int(client.subnet(netuid)["last_epoch_block"])
        wait_for(
            "three epochs while the operator is down",
            lambda: int(client.subnet(netuid)["last_epoch_block"]) >= stopped_at + 3 * 11,
            60,
        )
        restart_epoch = int(client.subnet(netuid)["last_epoch_block"])
        op.start()

        def chain_row(status: dict) -> dict:
            """The status's neuron in the EpochResult of the epoch the status reflects."""
            block = client.block(int(status["lastEpochBlock"]))
            ev = next(
                e
                for e in block["events"]
                if e["type"] == EventKind.EPOCH_RESULT and e["netuid"] == netuid
            )
            return next(r for r in ev["uids"] if r["uid"] == status["uid"])

        def equal_to_chain() -> dict | None:
            cur = neurons()
            if any(int(s.get("lastEpochBlock") or 0) < restart_epoch for s in cur.values()):
                return None
            for s in cur.values():
                if s.get("totalEmission") != rao_to_tao(chain_row(s)["total_emission"]):
                    return None
            return cur

        after = wait_for("status totals equal the chain's", equal_to_chain, 90, debug=dbg)
        for n in names:
            row = chain_row(after[n])
            # The epochs missed while down are in the total: more than the old status plus the
            # last epoch (all the old repair added).
            assert row["total_emission"] > tao_to_rao(before[n]["totalEmission"]) + row["emission"]
            assert row["hotkey"] == after[n]["hotkey"]
        vrow = chain_row(after["v"])
        assert vrow["weights_block"] >= 0
        assert after["v"]["lastWeightsBlock"] == vrow["weights_block"]
    assert_no_traceback(op.output())
