"""Crash the operator exactly between paying on the chain and recording it; audit the chain.

For each kill point the operator runs with ``SUBNETES_FAULT_KILL_AT`` (test-only, faults.py):
it SIGKILLs itself right after the chain included that extrinsic, before any status write.
It is started again without the hook; every resource must converge (Ready, a UID), and the
chain's own blocks must show each lock, burn and stake paid exactly once. The audit reads the
applied extrinsics and their events from the blocks (``GET /v1/blocks/{n}``), so it counts
payments the chain would accept twice (a second add_stake is valid; only a re-registration is
refused) and checks the coldkey's balance against the amounts the events record, fees included
when the chain records any: no amount here is hard-coded.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from subnetes.operator.faults import KILL_ENV

TAO = 10**9
STAKE_TAO = 100
FUNDS = 20_000 * TAO


@pytest.fixture
def rig(cluster: LocalCluster, namespace: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A chain, the CRDs, the operator's RBAC, funded owner and validator coldkey Secrets."""
    chain = ChainProcess(tmp_path)
    apply_crds(cluster)
    kubeconfig = tmp_path / "operator.kubeconfig"
    role = restricted_kubeconfig(cluster, namespace, kubeconfig)
    keys: dict[str, Keypair] = {}
    with ChainClient(chain.endpoint) as client:
        for secret in ("owner-coldkey", "validator-coldkey"):
            kp = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
            client.faucet(kp, FUNDS)
            keys[secret] = kp
            data = base64.b64encode(serialized_keypair_to_keyfile_data(kp)).decode()
            cluster.apply_manifests([{
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": secret, "namespace": namespace},
                "data": {"coldkey": data},
            }])  # fmt: skip
    op = OperatorProcess(namespace, kubeconfig, chain.endpoint, tmp_path / "operator.log")
    yield {"chain": chain, "keys": keys, "op": op}
    op.stop()
    strip_finalizers(cluster, namespace)
    delete_rbac(cluster, role)
    chain.stop()


def manifests(namespace: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "subnetes.io/v1alpha1", "kind": "Subnet",
            "metadata": {"name": "fi", "namespace": namespace},
            "spec": {"ownerColdkeySecretRef": {"name": "owner-coldkey"},
                     "hyperparameters": {"maxAllowedUids": 16}},
        },
        {
            "apiVersion": "subnetes.io/v1alpha1", "kind": "Validator",
            "metadata": {"name": "v", "namespace": namespace},
            "spec": {
                "subnetRef": {"name": "fi"},
                "coldkeySecretRef": {"name": "validator-coldkey"},
                "stake": str(STAKE_TAO),
                "registration": {"maxBurn": "1"},
                "template": {"spec": {"containers": [{"name": "v", "image": "example/v:1"}]}},
            },
        },
    ]  # fmt: skip


# ---- the chain's ledger -----------------------------------------------------------------------


@dataclass
class Applied:
    """An extrinsic the chain applied, with the events it caused."""

    signer: str
    call: str
    args: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    fee: int = 0  # fee + tip the chain's FeePaid event records as charged to the signer


def applied_extrinsics(client: ChainClient) -> list[Applied]:
    """Every applied extrinsic of every block, with its events (attributed by index)."""
    out: list[Applied] = []
    head = int(client.block()["number"])
    for n in range(1, head + 1):
        block = client.block(n)
        xts = [
            Applied(x["signer"], x["call"], dict(x.get("args") or {})) for x in block["extrinsics"]
        ]
        for ev in block["events"]:
            if ev.get("extrinsic") is not None:
                xt = xts[int(ev["extrinsic"])]
                xt.events.append(ev)
                if ev["type"] == "FeePaid" and ev.get("who") == xt.signer:
                    xt.fee += int(ev["fee"]) + int(ev.get("tip") or 0)  # charged: fee + tip
        out += xts
    return out


def by(xts: list[Applied], signer: str, call: str) -> list[Applied]:
    return [x for x in xts if x.signer == signer and x.call == call]


def events_of(xts: list[Applied], kind: str) -> list[dict[str, Any]]:
    return [e for x in xts for e in x.events if e["type"] == kind]


def audit(client: ChainClient, owner: str, coldkey: str, hotkey: str) -> dict[str, int]:
    """Assert from the blocks that each lock, burn and stake was paid exactly once, and that
    the validator coldkey's balance is what those payments (and recorded fees) leave."""
    xts = applied_extrinsics(client)
    mine = [x for x in xts if x.signer == coldkey]
    # One subnet lock: one register_network applied for the owner, one SubnetRegistered.
    assert len(by(xts, owner, "register_network")) == 1, by(xts, owner, "register_network")
    assert [e["owner"] for e in events_of(xts, "SubnetRegistered")] == [owner]
    # One burn: one burned_register of the hotkey, one NeuronRegistered for it.
    regs = [x for x in by(mine, coldkey, "burned_register") if x.args.get("hotkey") == hotkey]
    assert len(regs) == 1, regs
    registered = [e for e in events_of(xts, "NeuronRegistered") if e["hotkey"] == hotkey]
    assert len(registered) == 1, registered
    burn = int(registered[0]["burn"])
    # Stake: what the coldkey's extrinsics moved onto the hotkey, never more than spec.stake.
    moves = [e for e in events_of(mine, "StakeChanged") if e["hotkey"] == hotkey]
    added = sum(int(e["delta"]) for e in moves if int(e["delta"]) > 0)
    removed = -sum(int(e["delta"]) for e in moves if int(e["delta"]) < 0)
    assert added == STAKE_TAO * TAO, moves
    assert len(by(mine, coldkey, "add_stake")) == 1
    fees = sum(x.fee for x in mine)
    balance = int(client.account(coldkey)["balance"])
    assert balance == FUNDS - burn - added + removed - fees, (balance, burn, added, removed, fees)
    return {"burn": burn, "added": added, "removed": removed, "fees": fees}


def client_of(rig: dict[str, Any]) -> ChainClient:
    return ChainClient(rig["chain"].endpoint)


def last_removal(client: ChainClient, coldkey: str, hotkey: str) -> tuple[int, int]:
    """(the coldkey's stake left on the hotkey right after its last removal, that block)."""
    with client:
        xts = applied_extrinsics(client)
    moves = [
        e for e in events_of(by(xts, coldkey, "remove_stake"), "StakeChanged")
        if e["hotkey"] == hotkey
    ]  # fmt: skip
    last = max(moves, key=lambda e: (int(e["block"]), int(e["index"])))
    return int(last["stake"]), int(last["block"])


def credited_after(client: ChainClient, hotkey: str, block: int) -> int:
    """Rao the epochs of blocks after ``block`` credited to ``hotkey`` (server and validator
    emission; with no other staker all of it lands on the owner coldkey's stake)."""
    total = 0
    with client:
        head = int(client.block()["number"])
        for n in range(block + 1, head + 1):
            for ev in client.block(n)["events"]:
                if ev["type"] != "EpochResult":
                    continue
                for row in ev["uids"]:
                    if row["hotkey"] == hotkey:
                        total += int(row["server_emission"]) + int(row["validator_emission"])
    return total


# ---- the test ---------------------------------------------------------------------------------


def neurons_ready(cluster: LocalCluster, namespace: str) -> dict[str, Any] | None:
    subs = get_all(cluster, namespace, "subnets")
    vals = get_all(cluster, namespace, "validators")

    def ready(o: dict[str, Any]) -> bool:
        conds = (o.get("status") or {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

    if len(subs) == 1 and len(vals) == 1 and ready(subs[0]) and ready(vals[0]):
        v = vals[0]["status"]
        if v.get("uid") is not None and float(v.get("stake") or 0) >= STAKE_TAO:
            return v
    return None


def crash_at(op: OperatorProcess, point: str) -> None:
    """Wait for the operator to kill itself at ``point``."""
    wait_for(
        f"the operator killed at {point}",
        lambda: op.proc is not None and op.proc.poll() is not None,
        90,
        debug=op.output,
    )
    assert op.proc is not None and op.proc.returncode == -9, op.output()[-3000:]
    assert f"fault injection: kill at {point}" in op.output()


# Extrinsic points fire once the chain included the extrinsic (tightest: nothing recorded yet);
# step:register is the step runner's boundary after the registration step (its Event posted,
# status not yet written).
@pytest.mark.parametrize(
    "point", ["register_network", "burned_register", "step:register", "add_stake", "remove_stake"]
)
def test_killed_after_paying_the_operator_never_pays_twice(
    cluster: LocalCluster, namespace: str, rig: dict[str, Any], point: str
) -> None:
    op: OperatorProcess = rig["op"]
    plain_env = dict(op.env)
    owner, coldkey = rig["keys"]["owner-coldkey"], rig["keys"]["validator-coldkey"]
    if point != "remove_stake":
        op.env = plain_env | {KILL_ENV: point}
    op.start()
    cluster.apply_manifests(manifests(namespace))
    if point != "remove_stake":
        crash_at(op, point)
        op.env = plain_env
        op.start()
    status = wait_for("Subnet and Validator Ready", lambda: neurons_ready(cluster, namespace),
                      120, debug=op.output)  # fmt: skip
    hotkey = status["hotkey"]
    if point == "remove_stake":  # deregistration: deleting the Validator returns its stake
        op.stop()
        op.env = plain_env | {KILL_ENV: point}
        op.start()
        cluster.kubectl("delete", "validator", "v", "-n", namespace, "--wait=false", check=True)
        crash_at(op, point)
        op.env = plain_env
        op.start()
        wait_for("the Validator deleted", lambda: not get_all(cluster, namespace, "validators"),
                 90, debug=op.output)  # fmt: skip
    with ChainClient(rig["chain"].endpoint) as client:
        paid = audit(client, owner.ss58_address, coldkey.ss58_address, hotkey)
        stake_left = sum(
            int(s["amount"])
            for s in (client.hotkey(hotkey) or {}).get("stakes", [])
            if s.get("coldkey") == coldkey.ss58_address
        )
    if point == "remove_stake":
        assert paid["removed"] >= STAKE_TAO * TAO
        # The hotkey is still a neuron after the deletion, so epochs after the last removal
        # credit it again: exactly those credits may be left, nothing the deletion owed.
        left_at, last_block = last_removal(client_of(rig), coldkey.ss58_address, hotkey)
        assert left_at == 0, left_at
        assert stake_left == credited_after(client_of(rig), hotkey, last_block), stake_left
        assert len([ln for ln in op.output().splitlines() if "fault injection" in ln]) == 1
    else:
        assert stake_left >= STAKE_TAO * TAO and paid["removed"] == 0
    assert_no_traceback(op.output().split("fault injection")[-1])


# ---- negative controls: the same crash with the protection removed must fail the audit -------

# Each replaces the chain lookup that makes a step level-based with bookkeeping in the status
# (what a naive reconciler does): correct without a crash, paying twice after one.
UNPROTECTED = {
    # The Subnet trusts status.netuid instead of asking the chain which netuid its owner
    # hotkey holds: killed after register_network (before the status write), it pays again.
    "register_network": (
        "from subnetes.operator import subnets as S\n"
        "async def status_lookup(rt, run):\n"
        "    if run.old.get('phase') == 'Registered':\n"
        "        run.found = run.old.get('netuid')\n"
        "    return S.CONTINUE\n"
        "S.SUBNET_STEPS = tuple(status_lookup if s is S.chain_lookup else s"
        " for s in S.SUBNET_STEPS)\n"
    ),
    # The Validator adds spec.stake unless the status says it was applied, ignoring the stake
    # the chain shows: killed after add_stake (before stakeTarget is written), it adds again.
    "add_stake": (
        "from subnetes.operator import stake as S\n"
        "S.stake_change = lambda want, have, target: 0 if target == want else want\n"
    ),
}


@pytest.mark.parametrize("point", sorted(UNPROTECTED))
def test_the_audit_catches_a_double_payment_without_the_protection(
    cluster: LocalCluster, namespace: str, rig: dict[str, Any], point: str
) -> None:
    op: OperatorProcess = rig["op"]
    run = "from subnetes.operator.__main__ import main\nmain()\n"
    op.args[1:3] = ["-c", UNPROTECTED[point] + run]
    plain_env = dict(op.env)
    op.env = plain_env | {KILL_ENV: point}
    op.start()
    cluster.apply_manifests(manifests(namespace))
    crash_at(op, point)
    op.env = plain_env
    op.start()
    status = wait_for("Subnet and Validator Ready", lambda: neurons_ready(cluster, namespace),
                      120, debug=op.output)  # fmt: skip
    owner, coldkey = rig["keys"]["owner-coldkey"], rig["keys"]["validator-coldkey"]
    with ChainClient(rig["chain"].endpoint) as client, pytest.raises(AssertionError) as e:
        audit(client, owner.ss58_address, coldkey.ss58_address, status["hotkey"])
    print(f"{point} paid twice, caught: {str(e.value)[:300]}")
