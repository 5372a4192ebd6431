"""The reconcilers as ordered steps: the runner, and each decision's outcome on pure inputs."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest
from bittensor_wallet import Keypair

from subnetes.operator import neurons as n
from subnetes.operator import stake
from subnetes.operator import subnets as sn
from subnetes.operator.chainlink import Chain, ChainError
from subnetes.operator.config import Config
from subnetes.operator.keys import SecretKeyError
from subnetes.operator.neurons import NeuronRun
from subnetes.operator.paths import REPO_ROOT
from subnetes.operator.runtime import Runtime
from subnetes.operator.status import DEREGISTERED, FAILED, PENDING, REGISTERED, REGISTERING
from subnetes.operator.steps import CONTINUE, Continue, Done, Wait, requeue_after, run_steps

TAO = 10**9
ALICE, BOB = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")


def make_run(
    old: dict[str, Any] | None = None,
    spec: dict[str, Any] | None = None,
    kind: str = "Miner",
    delay: float = 3.0,
) -> NeuronRun:
    spec = {"subnetRef": {"name": "sn"}, "coldkeySecretRef": {"name": "ck"}} | (spec or {})
    body = {"metadata": {"namespace": "ns", "name": "m", "generation": 4}, "spec": spec}
    return NeuronRun.begin(kind, body, old or {}, delay)


DEREG_OLD = {
    "phase": DEREGISTERED,
    "hotkey": "5Hk",
    "hotkeySecretName": "m-hotkey",
    "netuid": 1,
    "deregisteredBlock": 77,
    "deregistrationReason": "Pruned",
}


# -- the runner ----------------------------------------------------------------------------------


async def test_runner_runs_in_order_and_stops_at_the_first_stop() -> None:
    seen: list[str] = []

    def step(name: str, outcome: Any):
        async def run(rt: Any, record: list[str]) -> Any:
            record.append(name)
            return outcome

        return run

    stop = Wait("view", 5.0)
    steps = [step("a", CONTINUE), step("b", CONTINUE), step("c", stop), step("d", Done("x"))]
    assert await run_steps(steps, None, seen) is stop
    assert seen == ["a", "b", "c"]  # d never ran

    seen.clear()
    done = Done("y", requeue=30.0)
    assert await run_steps([step("a", CONTINUE), step("b", done)], None, seen) is done
    assert seen == ["a", "b"]

    seen.clear()
    assert await run_steps([step("a", CONTINUE)], None, seen) is CONTINUE
    assert await run_steps([], None, seen) is CONTINUE


def test_requeue_after() -> None:
    assert requeue_after(CONTINUE) is None
    assert requeue_after(Done("v")) is None
    assert requeue_after(Done("v", requeue=30.0)) == 30.0
    assert requeue_after(Wait("v", 2.5)) == 2.5


def test_neuron_steps_order() -> None:
    """Chain first (the UID is looked up before anything is paid), workload after registration,
    the report last."""
    names = [step.__name__ for step in n.NEURON_STEPS]
    assert names == [
        "subnet_ready",
        "hotkey",
        "hotkey_unshared",
        "chain_registration",
        "reregister_backoff",
        "registration_coldkey",
        "burn_within_limit",
        "register",
        "registration_visible",
        "chain_row",
        "validator_stake",
        "workload",
        "axon",
        "report",
    ]


# -- each decision ------------------------------------------------------------------------------


def test_subnet_gate() -> None:
    run = make_run()
    out = n.subnet_gate(run, "sn", None)
    assert isinstance(out, Wait) and out.after == 3.0
    assert out.view.phase == PENDING and out.view.progress is not None
    assert out.view.progress[0] == "SubnetNotFound" and "namespace ns" in out.view.progress[1]

    out = n.subnet_gate(run, "sn", {"status": {"phase": PENDING}})
    assert isinstance(out, Wait) and out.view.progress is not None
    assert out.view.progress[0] == "SubnetNotReady"
    out = n.subnet_gate(run, "sn", {"status": {"phase": REGISTERED}})  # no netuid yet
    assert isinstance(out, Wait)

    assert n.subnet_gate(run, "sn", {"status": {"phase": REGISTERED, "netuid": "3"}}) == 3

    # A deregistered neuron stays Deregistered while it waits; the carried facts stay.
    out = n.subnet_gate(make_run(DEREG_OLD), "sn", None)
    assert isinstance(out, Wait) and out.view.phase == DEREGISTERED
    assert (out.view.hotkey, out.view.hotkey_secret, out.view.netuid) == ("5Hk", "m-hotkey", 1)
    assert out.view.generation == 4


def test_secret_problems_are_stalled() -> None:
    run = make_run(DEREG_OLD)
    run.dereg = (77, "Pruned")
    out = n.missing_secret(run, FAILED, "hk", "spec.hotkeySecretRef", False)
    assert out.view.phase == FAILED and out.after == 3.0
    assert out.view.problem == (
        "SecretNotFound",
        "Secret hk (spec.hotkeySecretRef) does not exist.",
    )
    assert out.view.deregistered_block is None  # no dereg facts unless asked (as before)
    out = n.missing_secret(run, DEREGISTERED, "ck", "spec.coldkeySecretRef", True)
    assert (out.view.deregistered_block, out.view.deregistration_reason) == (77, "Pruned")

    err = SecretKeyError("SecretKeyInvalid", "bad key")
    out = n.unusable_key(run, FAILED, err, False)
    assert out.view.problem == ("SecretKeyInvalid", "bad key")


@pytest.mark.parametrize(
    ("uid", "old", "netuid", "expected"),
    [
        (None, {"phase": REGISTERED, "uid": 5, "netuid": 1}, 1, True),
        (5, {"phase": REGISTERED, "uid": 5, "netuid": 1}, 1, False),  # still there
        (None, {"phase": REGISTERED, "uid": 5, "netuid": 2}, 1, False),  # another subnet
        (None, {"phase": REGISTERED, "netuid": 1}, 1, False),  # never had a UID
        (None, {"phase": REGISTERING, "uid": 5, "netuid": 1}, 1, False),
        (None, {"phase": DEREGISTERED, "uid": 5, "netuid": 1}, 1, False),  # already noticed
    ],
)
def test_pruned(uid: int | None, old: dict, netuid: int, expected: bool) -> None:
    run = make_run(old)
    run.uid, run.netuid = uid, netuid
    assert n.pruned(run) is expected


def test_backoff_gate() -> None:
    run = make_run(DEREG_OLD)
    run.dereg = (77, "Pruned")
    assert n.backoff_gate(run, 0.0) is CONTINUE
    out = n.backoff_gate(run, 8.2)
    assert isinstance(out, Wait) and out.after == 8.2
    assert out.view.phase == DEREGISTERED and out.view.deregistered_block == 77
    assert out.view.progress == ("Reregistering", "Re-registering in 8s (backoff).")


def test_burn_gate() -> None:
    run = make_run(spec={"registration": {"maxBurn": "1"}})
    for burn in (None, 0, TAO):
        run.burn = burn
        assert n.burn_gate(run) is CONTINUE
    run.burn = TAO + 1
    out = n.burn_gate(run)
    assert isinstance(out, Wait) and out.after == 3.0 and out.view.phase == PENDING
    assert out.view.problem is not None and out.view.problem[0] == "BurnAboveLimit"
    assert "1.000000001 TAO, above spec.registration.maxBurn 1.000000000 TAO" in out.view.problem[1]

    unlimited = make_run()
    unlimited.burn = 10**18
    assert n.burn_gate(unlimited) is CONTINUE

    dereg = make_run(DEREG_OLD, spec={"registration": {"maxBurn": "1"}})
    dereg.burn, dereg.dereg = 2 * TAO, (77, "Pruned")
    out = n.burn_gate(dereg)
    assert isinstance(out, Wait) and out.view.phase == DEREGISTERED
    assert out.view.deregistered_block == 77


def test_registration_refused() -> None:
    run = make_run(delay=10.0)
    out = n.registration_refused(run, ChainError("NoNeuronIdAvailable", "full"))
    assert out.view.problem == ("SubnetFull", "full") and out.after == 10.0
    assert out.view.phase == PENDING
    out = n.registration_refused(run, ChainError("TooManyRegistrationsThisBlock", "later"))
    assert out.view.problem is None and out.after == 2.0  # retried soon
    assert out.view.progress == ("RegistrationRetrying", "TooManyRegistrationsThisBlock: later")
    dereg = make_run(DEREG_OLD, delay=1.0)
    out = n.registration_refused(dereg, ChainError("Busy", "x"))
    assert out.view.phase == DEREGISTERED and out.after == 1.0


def test_registered_uid() -> None:
    events = [
        {"type": "NeuronRegistered", "hotkey": "other", "uid": 1, "burn": 5},
        {"type": "Transfer", "hotkey": "me", "uid": 9},
        {"type": "NeuronRegistered", "hotkey": "me", "uid": 2, "burn": 7},
    ]
    assert n.registered_uid({"events": events}, "me", 3) == (2, 7)
    assert n.registered_uid({"events": events[2:3]}, "me", 3) == (2, 7)
    no_burn = [{"type": "NeuronRegistered", "hotkey": "me", "uid": 2}]
    assert n.registered_uid({"events": no_burn}, "me", 3) == (2, 3)  # the burn seen before
    assert n.registered_uid({}, "me", 3) == (None, None)


def test_carried_burn() -> None:
    run = make_run({"uid": 4, "burnPaid": "0.500000000"})
    assert n.carried_burn(run) is None  # no UID yet
    run.uid = 4
    assert n.carried_burn(run) == TAO // 2
    run.uid = 5  # another registration: the old burn is not ours
    assert n.carried_burn(run) is None
    run.burn_paid = 7
    assert n.carried_burn(run) == 7


def test_axon_stale() -> None:
    row = {"axon": {"ip": "10.0.0.1", "port": 8091}}
    assert not n.axon_stale(row, "10.0.0.1", 8091)
    assert n.axon_stale(row, "10.0.0.2", 8091)
    assert n.axon_stale(row, "10.0.0.1", 9000)
    assert n.axon_stale({"axon": None}, "10.0.0.1", 8091)


def test_stake_of() -> None:
    hk = {"stakes": [{"coldkey": "a", "amount": 3}, {"coldkey": "b", "amount": 4}]}
    assert (
        stake.stake_of(hk, "a") == 3
        and stake.stake_of(hk, "c") == 0
        and stake.stake_of({}, "a") == 0
    )


def test_final_view() -> None:
    run = make_run({"phase": REGISTERED, "hotkey": "5Hk", "netuid": 1})
    run.uid, run.burn_paid, run.axon, run.stake_rao = 3, 9, "10.0.0.1:8091", None
    run.row = {"registered_at": "12", "immune_until": 112}
    view = n.final_view(run)
    assert (view.phase, view.uid, view.registered_block, view.immune_until) == (
        REGISTERED, 3, 12, 112,
    )  # fmt: skip
    assert view.burn_paid_rao == 9 and view.axon == "10.0.0.1:8091" and not view.stopped
    assert view.deregistered_block is None

    stop = make_run(DEREG_OLD, spec={"registration": {"policy": "Stop"}})
    stop.dereg = (77, "Pruned")
    assert stop.stopped and not stop.needs_registration
    view = n.final_view(stop)
    assert view.phase == DEREGISTERED and view.stopped and view.uid is None
    assert (view.deregistered_block, view.deregistration_reason) == (77, "Pruned")


# -- steps that decide without the API server or the chain -------------------------------------


async def test_steps_skip_when_registered_and_report_done() -> None:
    """Registered (a UID on chain): the registration steps go on without touching anything
    (``rt`` is None: any use would fail), and report ends the run with Done."""
    run = make_run({"phase": REGISTERED})
    run.uid, run.netuid = 3, 1
    for step in (
        n.reregister_backoff,
        n.registration_coldkey,
        n.burn_within_limit,
        n.register,
        n.registration_visible,
    ):
        assert await step(None, run) is CONTINUE, step.__name__
    out = await n.report(None, run)
    assert isinstance(out, Done) and out.requeue is None and out.view.uid == 3


async def test_registration_visible_waits_for_a_uid() -> None:
    run = make_run()
    run.netuid = 1
    out = await n.registration_visible(None, run)
    assert isinstance(out, Wait) and out.after == 2.0 and out.view.phase == REGISTERING
    assert not isinstance(out, Continue)


# -- the typed chain facade ----------------------------------------------------------------------


def test_chain_facade_has_no_string_dispatch() -> None:
    assert not hasattr(Chain, "call")


def test_operator_uses_only_chain_facade_methods() -> None:
    """Every ``<x>.chain.<method>`` in the operator names a method of Chain (a typo fails here,
    not at run time), ``client`` aside (the event stream)."""
    methods = {m for m in dir(Chain) if not m.startswith("_")} | {"client"}
    used: set[tuple[str, str]] = set()
    for path in sorted((REPO_ROOT / "operator").glob("*.py")):
        for node in ast.walk(ast.parse(Path(path).read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "chain"
            ):
                used.add((path.name, node.attr))
    assert used, "no chain use found: the scan is broken"
    assert {attr for _, attr in used} <= methods, sorted(u for u in used if u[1] not in methods)


# -- the Subnet reconciler's steps ---------------------------------------------------------------


def make_subnet_run(
    old: dict[str, Any] | None = None, spec: dict[str, Any] | None = None, delay: float = 3.0
) -> sn.SubnetRun:
    spec = {"ownerColdkeySecretRef": {"name": "owner"}} | (spec or {})
    body = {"metadata": {"namespace": "ns", "name": "s", "generation": 2}, "spec": spec}
    return sn.SubnetRun.begin(body, old or {}, delay)


def test_subnet_steps_order() -> None:
    names = [s.__name__ for s in sn.SUBNET_STEPS]
    assert names == [
        "owner_coldkey",
        "owner_hotkey",
        "chain_lookup",
        "lock_within_limit",
        "register_network",
        "push_hyperparameters",
        "gateway_workload",
        "subnet_report",
    ]


def test_subnet_views_carry_owner_keys_once_both_are_known() -> None:
    run = make_subnet_run({"netuid": 4})
    out = sn.secret_missing(run, "owner", "spec.ownerColdkeySecretRef")
    assert out.view.phase == FAILED and out.after == 3.0 and out.view.netuid == 4
    assert out.view.problem == (
        "SecretNotFound", "Secret owner (spec.ownerColdkeySecretRef) does not exist.",
    )  # fmt: skip
    assert out.view.owner_hotkey is None
    run.coldkey, run.hotkey, run.hotkey_secret = ALICE, BOB, "s-owner-hotkey"
    view = run.view(PENDING)
    assert (view.owner_coldkey, view.owner_hotkey) == (ALICE.ss58_address, BOB.ss58_address)
    assert view.owner_hotkey_secret == "s-owner-hotkey"
    err = SecretKeyError("SecretKeyInvalid", "bad key")
    assert sn.key_unusable(run, err).view.problem == ("SecretKeyInvalid", "bad key")


def test_subnet_removed_from_chain() -> None:
    for phase, expected in ((REGISTERED, True), (DEREGISTERED, True), (PENDING, False)):
        assert sn.was_registered(make_subnet_run({"phase": phase, "netuid": 4})) is expected
    assert not sn.was_registered(make_subnet_run({"phase": REGISTERED}))
    out = sn.removed(make_subnet_run({"phase": REGISTERED, "netuid": 4}), 90)
    assert isinstance(out, Done) and out.requeue is None  # for good: no retry
    assert (out.view.phase, out.view.deregistered_block, out.view.netuid) == (DEREGISTERED, 90, 4)
    assert out.view.deregistration_reason == "Pruned"
    kept = make_subnet_run(
        {"phase": DEREGISTERED, "netuid": 4, "deregistrationReason": "Dissolved"}
    )
    assert sn.removed(kept, 90).view.deregistration_reason == "Dissolved"


def test_lock_gate() -> None:
    run = make_subnet_run(spec={"registration": {"maxLockCost": "100"}})
    assert sn.max_lock_cost(run) == 100 * TAO
    assert sn.lock_gate(run, 100 * TAO) is CONTINUE
    out = sn.lock_gate(run, 100 * TAO + 1)
    assert isinstance(out, Wait) and out.view.phase == PENDING and out.after == 3.0
    assert out.view.problem is not None and out.view.problem[0] == "LockCostAboveLimit"
    assert sn.max_lock_cost(make_subnet_run()) is None
    assert sn.lock_gate(make_subnet_run(), 10**18) is CONTINUE


def test_network_refused() -> None:
    run = make_subnet_run(delay=10.0)
    out = sn.network_refused(run, ChainError("CannotAffordLockCost", "poor"))
    assert out.view.phase == PENDING and out.view.problem == ("InsufficientBalance", "poor")
    assert out.after == 10.0
    out = sn.network_refused(run, ChainError("Busy", "later"))
    assert out.view.phase == REGISTERING and out.after == 5.0
    assert out.view.progress == ("RegistrationRetrying", "Busy: later")


def test_registered_netuid() -> None:
    events = [
        {"type": "SubnetRegistered", "owner_hotkey": "other", "netuid": 1},
        {"type": "SubnetRegistered", "owner_hotkey": "me", "netuid": 2},
        {"type": "NeuronRegistered", "hotkey": "me", "netuid": 3},
    ]
    assert sn.registered_netuid({"events": events}, "me") == 2
    assert sn.registered_netuid({"events": events[:1]}, "me") is None


def test_hp_condition_and_final_status() -> None:
    now = "2026-01-01T00:00:00Z"
    ok = sn.hp_condition([], 2, now)
    assert (ok["status"], ok["reason"]) == ("True", "InSync")
    bad = sn.hp_condition(["tempo: Refused (no)"], 2, now)
    assert (bad["status"], bad["reason"], bad["message"]) == (
        "False",
        "Refused",
        "tempo: Refused (no)",
    )

    run = make_subnet_run({"phase": PENDING, "conditions": []})
    run.coldkey, run.hotkey, run.hotkey_secret, run.found = ALICE, BOB, "hk", 4
    run.subnet = {
        "registered_at": 10, "immune_until": 20, "lock": 5, "emission_share": 250_000_000,
        "last_epoch_block": 30, "hyperparameters": {"max_allowed_uids": 64},
    }  # fmt: skip
    run.metagraph = {"n": 3, "neurons": [{"validator_permit": True}, {}, {}]}
    view = sn.registered_view(run)
    assert (view.phase, view.netuid, view.neurons_total, view.neurons_validators) == (
        REGISTERED, 4, 3, 1,
    )  # fmt: skip
    assert (view.registered_block, view.immunity_end, view.max_allowed) == (10, 20, 64)
    # Before the hyperparameter step ran (a wait), no HyperparametersApplied condition.
    new = sn.subnet_new_status(run, view, now)
    assert new["lastEpochBlock"] == 30 and new["emissionShare"] == "0.250000"
    assert not any(c["type"] == sn.HP_CONDITION for c in new["conditions"])
    run.refused = []
    new = sn.subnet_new_status(run, view, now)
    assert any(c["type"] == sn.HP_CONDITION and c["status"] == "True" for c in new["conditions"])


class _SubnetReads:
    """A Kube whose only read is a Subnet GET, counted."""

    def __init__(self, subnet: dict[str, Any] | None) -> None:
        self.subnet, self.gets = subnet, 0

    async def get(self, kind: str, ns: str, name: str) -> dict[str, Any] | None:
        assert kind == "Subnet"
        self.gets += 1
        return self.subnet


def test_subnet_ready_takes_a_registered_subnet_from_the_index() -> None:
    """Every reconcile of every neuron read its Subnet from the API server (5,000 GETs per pass
    over the fleet); a registered Subnet now comes from the watch index. Anything else is still
    read: the API server has the last word on a Subnet missing or not registered."""
    kube = _SubnetReads({"status": {"phase": "Registered", "netuid": 3}})
    rt = Runtime(Config(), kube=kube, chain=object())  # type: ignore[arg-type]
    run = make_run()
    assert asyncio.run(n.subnet_ready(rt, run)) is CONTINUE and run.netuid == 3
    assert kube.gets == 1  # not in the index yet: read
    rt.indexes.set_status(("Subnet", "ns", "sn"), {"phase": "Registered", "netuid": 3})
    run = make_run()
    assert asyncio.run(n.subnet_ready(rt, run)) is CONTINUE and run.netuid == 3
    assert kube.gets == 1  # from the index
    rt.indexes.set_status(("Subnet", "ns", "sn"), {"phase": "Pending"})
    kube.subnet = None
    out = asyncio.run(n.subnet_ready(rt, make_run()))
    assert isinstance(out, Wait) and kube.gets == 2  # not registered in the index: asked


class _RefusingChain:
    """A chain link whose serve_axon is refused with ``error``."""

    def __init__(self, error: str) -> None:
        self.error, self.served = error, 0

    async def serve_axon(self, hotkey: Keypair, netuid: int, ip: str, port: int) -> None:
        self.served += 1
        raise ChainError(self.error, "refused")


@pytest.mark.parametrize(
    ("error", "delay"),
    [("HotKeyNotRegisteredInSubNet", 1.0), ("ServingRateLimitExceeded", 3.0)],
)
def test_a_refused_serve_axon_is_retried_not_raised(error: str, delay: float) -> None:
    """A Miner pruned between reading its row and serving its axon (the other Miner's
    registration filled the subnet meanwhile) got a refusal that went up to Kopf as a
    traceback (seen in CI, test_pruned_miner_is_deregistered_stopped_and_reregistered). Now
    the reconcile is requeued: soon for a pruned UID (the next run reports Deregistered),
    after the usual delay otherwise."""
    from subnetes.operator.status import PodState

    chain = _RefusingChain(error)
    rt = Runtime(Config(), kube=object(), chain=chain)  # type: ignore[arg-type]
    run = make_run({"phase": REGISTERED, "hotkey": ALICE.ss58_address, "netuid": 1})
    run.keypair, run.netuid, run.uid = ALICE, 1, 3
    run.row = {"axon": None}  # type: ignore[typeddict-item]
    run.pod = PodState(name="m-0", node="n", ip="127.64.0.9", running=True)
    with pytest.raises(n.Retry) as retry:
        asyncio.run(n.axon(rt, run))
    assert chain.served == 1 and retry.value.delay == delay
