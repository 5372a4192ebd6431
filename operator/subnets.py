"""Reconcile a Subnet: owner keys, registration within maxLockCost, hyperparameter drift, status.

The owner hotkey identifies the subnet on chain (it holds UID 0), so a lost status or a restart
finds the registered netuid by looking the hotkey up before paying any lock cost.

The reconcile is :data:`SUBNET_STEPS`, run in order by :func:`~.steps.run_steps` on one
:class:`SubnetRun` (as the neuron reconciler in neurons.py); the decisions are pure functions.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from bittensor_wallet import Keypair

from subnetes.chain.units import SHARE_ONE, parts_to_fraction, rao_to_tao, tao_to_rao
from subnetes.wire.blocks import SubmitResult
from subnetes.wire.errors import ErrorName
from subnetes.wire.rows import MetagraphRow

from . import conditions as c
from . import hyperparams, metrics
from .chainlink import ChainError
from .gateway import build_gateway_deployment, build_gateway_service, gateway_name
from .hotkey_claims import claim_problem
from .keys import SecretKeyError, coldkey_from_secret, hotkey_from_secret
from .neuron_run import ObjectRun, begin_reconcile
from .neurons import create_hotkey_secret, write_status
from .runtime import Retry, Runtime
from .status import (
    DEREGISTERED,
    FAILED,
    PENDING,
    REGISTERED,
    REGISTERING,
    SubnetView,
    subnet_status,
)
from .steps import CONTINUE, Continue, Done, Outcome, Step, Wait, requeue_after, run_steps
from .tracing import tracer

log = logging.getLogger("subnetes.operator.subnets")
HP_CONDITION = "HyperparametersApplied"


def owner_hotkey_secret_name(name: str) -> str:
    return f"{name}-owner-hotkey"


def emission_share_fraction(share: int) -> str:
    """The chain's emission share (parts per SHARE_ONE) as a 6-decimal status string."""
    return parts_to_fraction(share, SHARE_ONE)


async def reconcile_subnet(rt: Runtime, ns: str, name: str) -> None:
    start = time.perf_counter()
    result = "ok"
    with tracer.start_as_current_span("reconcile.Subnet") as span:
        span.set_attribute("k8s.namespace.name", ns)
        span.set_attribute("subnetes.name", name)
        try:
            await _reconcile(rt, ns, name)
        except Retry:
            result = "retry"
            raise
        except Exception:
            result = "error"
            metrics.RECONCILE_ERRORS.labels("Subnet").inc()
            raise
        finally:
            metrics.RECONCILES.labels("Subnet", result).inc()
            metrics.RECONCILE_SECONDS.labels("Subnet").observe(time.perf_counter() - start)


# -- the run's record ---------------------------------------------------------------------------


@dataclass
class SubnetRun(ObjectRun):
    """What one reconcile of a Subnet has learned so far; the steps fill it in order.

    ``netuid`` starts from the last status (views carry it) until the chain says which netuid
    the owner hotkey holds (``found``). ``refused`` is None until the hyperparameter step ran.
    """

    body: dict[str, Any]
    old: dict[str, Any]
    delay: float  # config.retry_delay: the wait after a problem
    netuid: int | None = None
    found: int | None = None  # the netuid the chain says the owner hotkey holds UID 0 of
    coldkey: Keypair | None = None
    hotkey: Keypair | None = None
    hotkey_secret: str | None = None
    refused: list[str] | None = None  # hyperparameters the chain refused ("name: error")
    subnet: dict[str, Any] | None = None  # the chain's view of the registered subnet
    metagraph: MetagraphRow | None = None

    @classmethod
    def begin(cls, body: dict[str, Any], old: dict[str, Any], delay: float) -> SubnetRun:
        """A run of ``body`` whose current status is ``old``."""
        return cls(body=body, old=old, delay=delay, netuid=old.get("netuid"))

    @property
    def spec(self) -> dict[str, Any]:
        return self.body.get("spec") or {}

    @property
    def generation(self) -> int | None:
        return self.body["metadata"].get("generation")

    def view(self, phase: str, **fields: Any) -> SubnetView:
        """A view with the carried facts (netuid, owner keys once known) and ``fields``."""
        owner: dict[str, Any] = {}
        if self.coldkey is not None and self.hotkey is not None:
            owner = {
                "owner_coldkey": self.coldkey.ss58_address,
                "owner_hotkey": self.hotkey.ss58_address,
                "owner_hotkey_secret": self.hotkey_secret,
            }
        fields.setdefault("netuid", self.netuid)
        return SubnetView(generation=self.generation, phase=phase, **owner, **fields)


SubnetOutcome = Outcome[SubnetView]


# -- pure decisions ------------------------------------------------------------------------------


def secret_missing(run: SubnetRun, secret: str, field: str) -> Wait:
    """Failed on a Secret the spec names that does not exist."""
    msg = f"Secret {secret} ({field}) does not exist."
    return Wait(run.view(FAILED, problem=("SecretNotFound", msg)), run.delay)


def key_unusable(run: SubnetRun, e: SecretKeyError) -> Wait:
    """Failed on a Secret whose key cannot be read."""
    return Wait(run.view(FAILED, problem=(e.reason, str(e))), run.delay)


def removed(run: SubnetRun, block: int) -> SubnetOutcome:
    """Registered before (per the last status), not on the chain now: Deregistered for good."""
    msg = "The subnet was removed from the chain; delete and re-create the resource to register again."
    view = run.view(
        DEREGISTERED,
        deregistered_block=block,
        deregistration_reason=run.old.get("deregistrationReason") or "Pruned",
        problem=("Deregistered", msg),
    )
    return Done(view)


def was_registered(run: SubnetRun) -> bool:
    """Whether the last status says the subnet was on the chain (now or until pruned)."""
    return run.old.get("phase") in (REGISTERED, DEREGISTERED) and run.old.get("netuid") is not None


def lock_gate(run: SubnetRun, lock: int) -> SubnetOutcome:
    """Wait while the lock cost is above spec.registration.maxLockCost."""
    max_lock = max_lock_cost(run)
    if max_lock is None or lock <= max_lock:
        return CONTINUE
    msg = f"The lock cost is {rao_to_tao(lock)} TAO, above spec.registration.maxLockCost {rao_to_tao(max_lock)} TAO; waiting."
    return Wait(run.view(PENDING, problem=("LockCostAboveLimit", msg)), run.delay)


def max_lock_cost(run: SubnetRun) -> int | None:
    """spec.registration.maxLockCost in rao; None when unset."""
    text = (run.spec.get("registration") or {}).get("maxLockCost")
    return tao_to_rao(text) if text else None


def network_refused(run: SubnetRun, e: ChainError) -> Wait:
    """A refused register_network: Pending on a user's problem, else retried soon."""
    reasons: dict[str, str] = {
        ErrorName.LOCK_COST_EXCEEDS_LIMIT: "LockCostAboveLimit",
        ErrorName.CANNOT_AFFORD_LOCK_COST: "InsufficientBalance",
        ErrorName.CANNOT_PAY_FEE: "InsufficientBalance",
    }
    reason = reasons.get(e.name)
    if reason:
        return Wait(run.view(PENDING, problem=(reason, e.message)), run.delay)
    progress = ("RegistrationRetrying", f"{e.name}: {e.message}")
    return Wait(run.view(REGISTERING, progress=progress), min(run.delay, 5.0))


def registered_netuid(result: SubmitResult, owner_hotkey: str) -> int | None:
    """The netuid from a register_network result's events; None when none is ours."""
    netuid = None
    for ev in result.get("events", []):
        # The Literal tag narrows the event type (wire/events.py): a typo here is a type error.
        if ev["type"] == "SubnetRegistered" and ev["owner_hotkey"] == owner_hotkey:
            netuid = int(ev["netuid"])
    return netuid


def hp_condition(refused: list[str], generation: int | None, now: str) -> c.Condition:
    """HyperparametersApplied: InSync, or Refused with what the chain refused."""
    if refused:
        return c.make(HP_CONDITION, c.FALSE, "Refused", "; ".join(refused)[:4000], generation, now)
    msg = "The chain's hyperparameters match the spec."
    return c.make(HP_CONDITION, c.TRUE, "InSync", msg, generation, now)


def registered_view(run: SubnetRun) -> SubnetView:
    """Registered, with the chain's facts about the subnet and its metagraph."""
    sub = run.subnet or {}
    neurons = run.metagraph["neurons"] if run.metagraph else []
    validators = sum(1 for r in neurons if r.get("validator_permit"))
    return run.view(
        REGISTERED,
        netuid=run.found,
        registered_block=sub.get("registered_at"),
        immunity_end=sub.get("immune_until"),
        lock_cost_paid_rao=sub.get("lock"),
        neurons_total=int(run.metagraph["n"]) if run.metagraph else 0,
        neurons_validators=validators,
        max_allowed=int((sub.get("hyperparameters") or {}).get("max_allowed_uids", 0)) or None,
    )


def subnet_new_status(run: SubnetRun, view: SubnetView, now: str) -> dict[str, Any]:
    """The status to write for ``view``; after the hyperparameter step, with its condition and
    the chain's emission share and last epoch."""
    new = subnet_status(view, run.old, now)
    if run.refused is not None:
        new["conditions"] = c.merge(
            new["conditions"], [hp_condition(run.refused, run.generation, now)]
        )
    sub = run.subnet or {}
    if sub.get("emission_share") is not None:
        new["emissionShare"] = emission_share_fraction(sub["emission_share"])
    if sub.get("last_epoch_block") is not None:
        new["lastEpochBlock"] = int(sub["last_epoch_block"])
    return new


# -- the steps -----------------------------------------------------------------------------------


async def owner_coldkey(rt: Runtime, run: SubnetRun) -> SubnetOutcome:
    """The owner coldkey (spec.ownerColdkeySecretRef): pays the lock, sets hyperparameters."""
    name = run.spec["ownerColdkeySecretRef"]["name"]
    data = await rt.kube.secret_data(run.ns, name)
    if data is None:
        return secret_missing(run, name, "spec.ownerColdkeySecretRef")
    try:
        run.coldkey = coldkey_from_secret(name, data)
    except SecretKeyError as e:
        return key_unusable(run, e)
    return CONTINUE


async def owner_hotkey(rt: Runtime, run: SubnetRun) -> SubnetOutcome:
    """The owner hotkey: from spec.ownerHotkeySecretRef, or a Secret of the operator's."""
    ref = (run.spec.get("ownerHotkeySecretRef") or {}).get("name")
    name = ref or run.old.get("ownerHotkeySecretName") or owner_hotkey_secret_name(run.name)
    data = await rt.kube.secret_data(run.ns, name)
    if data is None and ref:
        return secret_missing(run, name, "spec.ownerHotkeySecretRef")
    if data is None:
        data, _created = await create_hotkey_secret(rt, run.body, run.ns, name)
    try:
        hotkey = hotkey_from_secret(name, data)
    except SecretKeyError as e:
        return key_unusable(run, e)
    run.hotkey, run.hotkey_secret = hotkey, name
    return CONTINUE


async def chain_lookup(rt: Runtime, run: SubnetRun) -> SubnetOutcome:
    """The netuid whose UID 0 the owner hotkey holds (looked up before any lock is paid); a
    subnet registered before and gone now is Deregistered."""
    assert run.hotkey is not None
    ss58 = run.hotkey.ss58_address
    for netuid, uid in (await rt.chain.registrations(ss58)).items():
        sub = await rt.chain.subnet(netuid)
        if uid == 0 and sub and sub.get("owner_hotkey") == ss58:
            run.found = netuid
            return CONTINUE
    if not was_registered(run):
        return CONTINUE
    block = run.old.get("deregisteredBlock") or await rt.chain.head()
    if run.old.get("phase") == REGISTERED:
        msg = f"Netuid {run.old['netuid']} was removed from the chain at block {block}."
        await rt.kube.event(run.body, "Warning", "Deregistered", msg)
    return removed(run, block)


async def lock_within_limit(rt: Runtime, run: SubnetRun) -> SubnetOutcome:
    """Not registered yet: the lock cost now, within spec.registration.maxLockCost."""
    if run.found is not None:
        return CONTINUE
    return lock_gate(run, await rt.chain.lock_cost())


async def register_network(rt: Runtime, run: SubnetRun) -> SubnetOutcome:
    """Not registered yet: register_network, the owner coldkey paying the lock."""
    if run.found is not None:
        return CONTINUE
    assert run.coldkey is not None and run.hotkey is not None
    try:
        res = await rt.chain.register_network(
            run.coldkey, run.hotkey.ss58_address, max_lock_cost=max_lock_cost(run)
        )
    except ChainError as e:
        return network_refused(run, e)
    run.found = registered_netuid(res, run.hotkey.ss58_address)
    msg = f"Registered the subnet as netuid {run.found}."
    await rt.kube.event(run.body, "Normal", "Registered", msg)
    return CONTINUE


async def push_hyperparameters(rt: Runtime, run: SubnetRun) -> SubnetOutcome:
    """Push spec drift with the owner key; what the chain refuses twice is recorded."""
    netuid, coldkey = run.found, run.coldkey
    assert netuid is not None and coldkey is not None
    chain_hp = await rt.chain.hyperparameters(netuid)
    refused: list[str] = []
    todo = hyperparams.drift(run.spec.get("hyperparameters"), chain_hp)
    for attempt in range(2):  # a second pass settles order-dependent pairs (min <= max)
        failed = []
        for hp_name, value in todo:
            try:
                await rt.chain.set_hyperparameter(coldkey, netuid, hp_name, value)
            except ChainError as e:
                failed.append((hp_name, value))
                if attempt:
                    refused.append(f"{hp_name}: {e.name} ({e.message})")
        todo = failed
    run.refused = refused
    return CONTINUE


async def subnet_report(rt: Runtime, run: SubnetRun) -> SubnetOutcome:
    """The end: Registered with the chain's facts; requeued while hyperparameters are refused."""
    assert run.found is not None
    run.subnet = await rt.chain.subnet(run.found) or {}
    run.metagraph = await rt.chain.metagraph(run.found)
    return Done(registered_view(run), requeue=max(run.delay, 30.0) if run.refused else None)


async def gateway_workload(rt: Runtime, run: SubnetRun) -> SubnetOutcome:
    """spec.gateway: apply the gateway's Deployment and Service. A hotkey Secret that is missing
    or not claimed for the gateway (``Gateway/<subnet>``) gets a Warning event and no gateway;
    the subnet itself stays Registered."""
    gw = run.spec.get("gateway")
    if not gw:
        await remove_gateway(rt, run)
        return CONTINUE
    if run.found is None:
        return CONTINUE
    secret = gw["hotkeySecretRef"]["name"]
    found = await rt.kube.secret(run.ns, secret)
    if found is None:
        msg = f"Secret {secret} (spec.gateway.hotkeySecretRef) does not exist."
        problem: tuple[str, str] | None = ("SecretNotFound", msg)
    else:
        problem = claim_problem("Gateway", run.name, None, secret, found[0])
    if problem is not None:
        await rt.kube.event(run.body, "Warning", f"Gateway{problem[0]}", problem[1])
        return CONTINUE
    endpoint = rt.config.endpoint_for_workloads
    await rt.kube.apply(
        build_gateway_deployment(run.body, netuid=run.found, chain_endpoint=endpoint)
    )
    await rt.kube.apply(build_gateway_service(run.body))
    return CONTINUE


async def remove_gateway(rt: Runtime, run: SubnetRun) -> None:
    """No spec.gateway (never set, or removed): the gateway this Subnet owns goes, Deployment
    first (its pods stop taking traffic), then the Service. Owner references alone would keep
    them until the Subnet itself is deleted."""
    uid = run.body["metadata"].get("uid")
    if not uid:
        return
    name = gateway_name(run.name)
    gone = [
        k for k in ("Deployment", "Service") if await rt.kube.delete_owned(k, run.ns, name, uid)
    ]
    if gone:
        msg = f"spec.gateway was removed: deleted {' and '.join(gone)} {name}."
        await rt.kube.event(run.body, "Normal", "GatewayRemoved", msg)


SUBNET_STEPS: tuple[Step[Runtime, SubnetRun, SubnetView], ...] = (
    owner_coldkey,
    owner_hotkey,
    chain_lookup,
    lock_within_limit,
    register_network,
    push_hyperparameters,
    gateway_workload,
    subnet_report,
)


async def _reconcile(rt: Runtime, ns: str, name: str) -> None:
    begun = await begin_reconcile(rt, "Subnet", ns, name)
    if begun is None:
        return
    body, old = begun
    run = SubnetRun.begin(body, old, rt.config.retry_delay)
    outcome = await run_steps(SUBNET_STEPS, rt, run)
    if isinstance(outcome, Continue):  # the last step always stops; nothing to write
        return
    became_ready = run.old.get("phase") != REGISTERED
    new = subnet_new_status(run, outcome.view, c.now_rfc3339())
    await write_status(rt, "Subnet", ns, name, run.old, new)
    if outcome.view.phase == REGISTERED and run.found is not None:
        rt.indexes.netuids[run.found] = ("Subnet", ns, name)
        if became_ready:
            kick_waiting_neurons(rt, ns, name)
    after = requeue_after(outcome)
    if after is not None:
        raise Retry(after)


def kick_waiting_neurons(rt: Runtime, ns: str, name: str) -> None:
    """Neurons waiting for Subnet ``name`` go now rather than at their next retry.

    From the watch-fed index, not a listing: at 5,000 neurons every Subnet turning Ready listed
    (and decoded) every Miner and Validator of the namespace. A neuron the watch has not shown
    yet has not been reconciled yet either, so none that waits is missed.
    """
    for key in rt.indexes.neurons_of(ns, name):
        rt.kick(key)


async def neurons_of(rt: Runtime, ns: str, name: str) -> list[str]:
    """Names of the Miners and Validators that reference Subnet ``name``."""
    out = []
    for kind in ("Miner", "Validator"):
        for obj in await rt.kube.list(kind, ns):
            if (obj.get("spec") or {}).get("subnetRef", {}).get("name") == name:
                out.append(f"{kind}/{obj['metadata']['name']}")
    return out


async def delete_subnet(rt: Runtime, body: dict[str, Any]) -> None:
    """Deletion per spec.deletionPolicy: Wait (refuse while neurons remain), Dissolve, Retain."""
    ns, name = body["metadata"]["namespace"], body["metadata"]["name"]
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    policy = spec.get("deletionPolicy", "Wait")
    if policy == "Retain":
        return
    if policy == "Wait":
        remaining = await neurons_of(rt, ns, name)
        if remaining:
            now = c.now_rfc3339()
            gen = body["metadata"].get("generation")
            msg = f"Deletion waits until no neuron references this subnet: {', '.join(remaining[:20])}."
            conds = c.merge(
                status.get("conditions"),
                [
                    c.make(c.READY, c.FALSE, "NeuronsRemaining", msg, gen, now),
                    c.make(c.RECONCILING, c.TRUE, "NeuronsRemaining", msg, gen, now),
                ],
            )
            if conds != status.get("conditions"):
                await rt.kube.patch_status("Subnet", ns, name, {"conditions": conds})
            raise Retry(rt.config.retry_delay, msg)
    netuid = status.get("netuid")
    if netuid is None or status.get("phase") != REGISTERED:
        return
    ck_name = spec["ownerColdkeySecretRef"]["name"]
    try:
        coldkey = coldkey_from_secret(ck_name, await rt.kube.secret_data(ns, ck_name) or {})
    except SecretKeyError:
        log.warning("cannot dissolve netuid %s: owner coldkey Secret %s unusable", netuid, ck_name)
        return
    try:
        await rt.chain.dissolve_network(coldkey, int(netuid))
    except ChainError as e:
        if e.name not in (ErrorName.SUB_NETWORK_DOES_NOT_EXIST, ErrorName.NOT_SUBNET_OWNER):
            raise
