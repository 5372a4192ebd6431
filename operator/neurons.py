"""Reconcile a Miner or Validator: hotkey, registration, stake, axon, workload, status.

Level-based and idempotent: every run starts from what the chain and the API server say now
(the chain is the source of truth for registration: the hotkey is looked up before anything is
paid), so a run interrupted anywhere and repeated never registers or pays twice.

The reconcile is :data:`NEURON_STEPS`, run in order by :func:`~.steps.run_steps` on one
:class:`~.neuron_run.NeuronRun` (validators' stake step lives in stake.py). Each step returns
CONTINUE, :class:`~.steps.Wait` or :class:`~.steps.Done`; the decisions are pure functions of
the run (``subnet_gate``, ``pruned``, ``burn_gate``, ...) so tests check them without a
cluster or a chain.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from subnetes.chain.units import rao_to_tao, tao_to_rao
from subnetes.wire.blocks import SubmitResult
from subnetes.wire.errors import ErrorName
from subnetes.wire.rows import NeuronRow

from . import conditions as c
from . import metrics
from .chainlink import ChainError
from .hotkey_claims import (
    IN_USE,
    Holder,
    claim_problem,
    event_due,
    first_claimant,
    holders,
    refused,
    rival_message,
)
from .keys import SecretKeyError, hotkey_from_secret
from .labels import hotkey_secret_name
from .manifests import build_axon_service, build_workload_statefulset
from .neuron_run import (
    USER_ERRORS,
    NeuronOutcome,
    NeuronRun,
    begin_reconcile,
    create_hotkey_secret,
    load_coldkey,
    missing_secret,
    unusable_key,
    write_status,
)
from .runtime import Retry, Runtime
from .stake import release, validator_stake
from .status import (
    DEREGISTERED,
    FAILED,
    PENDING,
    REGISTERED,
    REGISTERING,
    NeuronView,
    PodState,
    neuron_status,
)
from .steps import CONTINUE, Continue, Done, Step, Wait, requeue_after, run_steps
from .tracing import tracer

# write_status, create_hotkey_secret and release are re-exported: events.py, subnets.py and
# handlers.py import them from here.
__all__ = [
    "NEURON_STEPS",
    "NeuronRun",
    "create_hotkey_secret",
    "reconcile_miner",
    "reconcile_validator",
    "release",
    "write_status",
]

log = logging.getLogger("subnetes.operator.neurons")


async def reconcile(rt: Runtime, kind: str, ns: str, name: str) -> None:
    """One reconcile of ``kind/ns/name``; raises :class:`Retry` to be called again later."""
    start = time.perf_counter()
    result = "ok"
    with tracer.start_as_current_span(f"reconcile.{kind}") as span:
        span.set_attribute("k8s.namespace.name", ns)
        span.set_attribute("subnetes.name", name)
        try:
            await _reconcile(rt, kind, ns, name)
        except Retry:
            result = "retry"
            raise
        except Exception:
            result = "error"
            metrics.RECONCILE_ERRORS.labels(kind).inc()
            raise
        finally:
            metrics.RECONCILES.labels(kind, result).inc()
            metrics.RECONCILE_SECONDS.labels(kind).observe(time.perf_counter() - start)


async def reconcile_miner(rt: Runtime, ns: str, name: str) -> None:
    await reconcile(rt, "Miner", ns, name)


async def reconcile_validator(rt: Runtime, ns: str, name: str) -> None:
    await reconcile(rt, "Validator", ns, name)


# -- pure decisions ------------------------------------------------------------------------------


def subnet_gate(run: NeuronRun, subnet_name: str, subnet: dict[str, Any] | None) -> Wait | int:
    """The netuid of the referenced Subnet, or a Wait while it is missing or not registered."""
    if subnet is None:
        msg = f"Subnet {subnet_name} does not exist in namespace {run.ns}."
        view = run.view(run.unless_deregistered(PENDING), progress=("SubnetNotFound", msg))
        return Wait(view, run.delay)
    sub_status = subnet.get("status") or {}
    if sub_status.get("phase") != REGISTERED or sub_status.get("netuid") is None:
        msg = f"Waiting for Subnet {subnet_name} to be registered on the chain."
        view = run.view(run.unless_deregistered(PENDING), progress=("SubnetNotReady", msg))
        return Wait(view, run.delay)
    return int(sub_status["netuid"])


def pruned(run: NeuronRun) -> bool:
    """Registered before (per the last status), gone from the chain now: pruned, maybe while
    the operator was down."""
    return (
        run.uid is None
        and run.was_phase == REGISTERED
        and run.old.get("uid") is not None
        and run.old.get("netuid") == run.netuid
    )


def backoff_gate(run: NeuronRun, wait: float) -> NeuronOutcome:
    """Wait out the re-registration backoff (``wait`` seconds left), else go on."""
    if wait <= 0:
        return CONTINUE
    progress = ("Reregistering", f"Re-registering in {wait:.0f}s (backoff).")
    return Wait(run.view(DEREGISTERED, with_dereg=True, progress=progress), wait)


def burn_gate(run: NeuronRun) -> NeuronOutcome:
    """Wait while the registration burn (``run.burn``) is above spec.registration.maxBurn."""
    max_burn = run.max_burn
    if max_burn is None or run.burn is None or run.burn <= max_burn:
        return CONTINUE
    msg = (
        f"The registration burn is {rao_to_tao(run.burn)} TAO, above spec.registration.maxBurn "
        f"{rao_to_tao(max_burn)} TAO; waiting for it to fall."
    )
    phase = run.unless_deregistered(PENDING)
    return Wait(run.view(phase, with_dereg=True, problem=("BurnAboveLimit", msg)), run.delay)


def registration_refused(run: NeuronRun, e: ChainError) -> Wait:
    """A refused burned_register: Stalled on a user's problem, else retried soon."""
    phase = run.unless_deregistered(PENDING)
    if e.name in USER_ERRORS:
        view = run.view(phase, with_dereg=True, problem=(USER_ERRORS[e.name], e.message))
        return Wait(view, run.delay)
    progress = ("RegistrationRetrying", f"{e.name}: {e.message}")
    return Wait(run.view(phase, with_dereg=True, progress=progress), min(run.delay, 2.0))


def registered_uid(
    result: SubmitResult, hotkey: str, burn: int | None
) -> tuple[int | None, int | None]:
    """(uid, burn paid) from a burned_register result's events; Nones when none is ours."""
    uid = paid = None
    for ev in result.get("events", []):
        # The Literal tag narrows the event type (wire/events.py): a typo here is a type error.
        if ev["type"] == "NeuronRegistered" and ev["hotkey"] == hotkey:
            uid = int(ev["uid"])
            paid = ev.get("burn", burn)
    return uid, paid


def carried_burn(run: NeuronRun) -> int | None:
    """The burn paid: this run's, else the last status's while the UID is the same."""
    if run.burn_paid is not None:
        return run.burn_paid
    if run.old.get("burnPaid") and run.uid is not None and run.old.get("uid") == run.uid:
        return tao_to_rao(run.old["burnPaid"])
    return None


def axon_stale(row: NeuronRow, ip: str, port: int) -> bool:
    """Whether the chain's axon for the UID differs from the pod's ``ip:port``."""
    served = row.get("axon")
    return served is None or served.get("ip") != ip or int(served.get("port") or 0) != port


def final_view(run: NeuronRun) -> NeuronView:
    """The status view at the end of a run: Registered with the chain's facts, or Stopped."""
    if run.stopped:
        return run.view(DEREGISTERED, with_dereg=True, stopped=True)
    row = run.row
    return run.view(
        REGISTERED,
        uid=run.uid,
        registered_block=int(row["registered_at"]) if row else None,
        immune_until=int(row["immune_until"]) if row else None,
        burn_paid_rao=run.burn_paid,
        pod=run.pod,
        axon=run.axon,
        stake_rao=run.stake_rao,
    )


# -- the steps -----------------------------------------------------------------------------------


async def subnet_ready(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """The referenced Subnet exists and is registered: its netuid."""
    subnet_name = run.spec["subnetRef"]["name"]
    # A registered Subnet is taken from the watch index (its status there is at least as new as
    # the operator's own writes): one GET less per reconcile, 5,000 per pass over the fleet.
    # Anything else is read from the API server, which has the last word on "not there".
    held = rt.indexes.status.get(("Subnet", run.ns, subnet_name)) or {}
    if held.get("phase") == REGISTERED and held.get("netuid") is not None:
        subnet: dict[str, Any] | None = {"status": held}
    else:
        subnet = await rt.kube.get("Subnet", run.ns, subnet_name)
    gate = subnet_gate(run, subnet_name, subnet)
    if isinstance(gate, Wait):
        return gate
    run.netuid = gate
    return CONTINUE


async def hotkey(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """The hotkey: from spec.hotkeySecretRef, or a Secret of the operator's (created once);
    refused unless the Secret is claimed for this neuron (hotkey_claims.py), before its
    contents are read."""
    ref = (run.spec.get("hotkeySecretRef") or {}).get("name")
    secret_name = ref or run.old.get("hotkeySecretName") or hotkey_secret_name(run.name)
    run.hotkey_secret = secret_name
    found = await rt.kube.secret(run.ns, secret_name)
    if found is None and ref:
        return missing_secret(run, FAILED, secret_name, "spec.hotkeySecretRef", False)
    if found is None:
        _data, created = await create_hotkey_secret(rt, run.body, run.ns, secret_name)
        if created:
            msg = f"Created a new hotkey in Secret {secret_name}."
            await rt.kube.event(run.body, "Normal", "HotkeyCreated", msg)
        found = await rt.kube.secret(run.ns, secret_name)  # ours, or a racing creator's
    meta, data = found or ({}, {})
    uid = run.body["metadata"].get("uid")
    problem = claim_problem(run.kind, run.name, uid, secret_name, meta)
    if problem is not None:
        return await refuse_hotkey(rt, run, problem)
    try:
        keypair = hotkey_from_secret(secret_name, data)
    except SecretKeyError as e:
        return unusable_key(run, FAILED, e, False)
    run.keypair, run.hotkey = keypair, keypair.ss58_address
    return CONTINUE


async def hotkey_unshared(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """The hotkey is no other neuron's (the first claimant keeps it); then it is indexed as
    this neuron's. No await between the check and the index: concurrent reconciles of two
    neurons with one hotkey cannot both pass. Rivals in other namespaces are known from the
    watch only."""
    assert run.hotkey is not None
    idx = rt.indexes
    held_before = run.old.get("hotkey") == run.hotkey
    if not held_before and run.ns not in idx.seeded:
        # Just after a start the watch may not have shown every neuron yet: the first new claim
        # in a namespace lists its neurons once, so an older holder there is never missed.
        for kind in ("Miner", "Validator"):
            for body in await rt.kube.list(kind, run.ns):
                idx.observe(kind, body)
        idx.seeded.add(run.ns)
    me = Holder(run.key, run.hotkey, str(run.body["metadata"].get("creationTimestamp") or ""))
    # Only this hotkey's holders (indexed): a scan of every status per reconcile was quadratic.
    indexed = idx.hotkeys.get(run.hotkey)
    others = holders(
        idx.statuses_naming(run.hotkey),
        {run.hotkey: indexed} if indexed is not None else {},
        idx.bodies,
    )
    rival = first_claimant(me, held_before, others)
    if rival is not None:
        return await refuse_hotkey(
            rt, run, (IN_USE, rival_message(run.key, rival, run.hotkey_secret))
        )
    idx.hotkeys[run.hotkey] = run.key
    return CONTINUE


async def refuse_hotkey(rt: Runtime, run: NeuronRun, problem: tuple[str, str]) -> NeuronOutcome:
    """Stalled on a hotkey this neuron may not use: no workload (the steps stop here), no key in
    status or in the hotkey index, a Warning Event when the refusal is new."""
    for ss58 in [k for k, v in rt.indexes.hotkeys.items() if v == run.key]:
        del rt.indexes.hotkeys[ss58]
    if event_due(run.old, problem[0]):
        await rt.kube.event(run.body, "Warning", problem[0], problem[1])
    return refused(run, problem)


async def chain_registration(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """The hotkey's UID on the chain (before anything is paid); notices a pruned UID."""
    assert run.hotkey is not None
    run.uid = (await rt.chain.registrations(run.hotkey)).get(run.netuid)  # type: ignore[arg-type]
    if pruned(run):
        block, reason = rt.dereg_hints.pop(run.key, (None, "Pruned"))
        if block is None:
            block = await rt.chain.head()
        run.dereg = (block, reason)
        run.was_phase = DEREGISTERED
        msg = (
            f"UID {run.old.get('uid')} on netuid {run.netuid} was deregistered at block {block} "
            f"({reason}); policy {run.policy}."
        )
        await rt.kube.event(run.body, "Warning", "Deregistered", msg)
    elif run.was_phase == DEREGISTERED:
        run.dereg = (run.old.get("deregisteredBlock"), run.old.get("deregistrationReason"))
    return CONTINUE


async def reregister_backoff(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """A deregistered neuron re-registers no sooner than its backoff allows."""
    if not run.needs_registration or run.was_phase != DEREGISTERED:
        return CONTINUE
    return backoff_gate(run, rt.next_reregister_delay(run.key))


async def registration_coldkey(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """The coldkey that pays the registration."""
    if not run.needs_registration:
        return CONTINUE
    coldkey = await load_coldkey(rt, run, registering=True)
    if isinstance(coldkey, Wait):
        return coldkey
    run.coldkey = coldkey
    return CONTINUE


async def burn_within_limit(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """The burn now, within spec.registration.maxBurn."""
    if not run.needs_registration:
        return CONTINUE
    assert run.netuid is not None
    run.burn = await rt.chain.burn(run.netuid)
    return burn_gate(run)


async def register(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """burned_register (Registering status first on a first registration); a hotkey already
    registered by a run that died before writing status is taken from the chain."""
    if not run.needs_registration:
        return CONTINUE
    assert run.netuid is not None and run.hotkey is not None and run.coldkey is not None
    if run.was_phase == DEREGISTERED:
        rt.note_reregister(run.key)
    else:
        msg = f"Registering on netuid {run.netuid}, burn {rao_to_tao(run.burn or 0)} TAO."
        view = run.view(REGISTERING, progress=("Registering", msg))
        await write_status(
            rt, run.kind, run.ns, run.name, run.old, neuron_status(view, run.old, c.now_rfc3339())
        )
        run.old = rt.indexes.status.get(run.key, run.old)
    try:
        async with rt.unslotted():  # waits for the coldkey's turn and a block
            res = await rt.chain.burned_register(
                run.coldkey, run.netuid, run.hotkey, max_burn=run.max_burn
            )
    except ChainError as e:
        if e.name != ErrorName.HOT_KEY_ALREADY_REGISTERED_IN_SUB_NET:
            return registration_refused(run, e)
        # Registered by a run that died before writing status: the chain knows best.
        run.uid = (await rt.chain.registrations(run.hotkey)).get(run.netuid)
    else:
        uid, paid = registered_uid(res, run.hotkey, run.burn)
        run.uid = uid
        if paid is not None:
            run.burn_paid = paid
        if run.uid is None:
            run.uid = (await rt.chain.registrations(run.hotkey)).get(run.netuid)
        msg = f"Registered on netuid {run.netuid} as UID {run.uid}."
        await rt.kube.event(run.body, "Normal", "Registered", msg)
    run.dereg = None
    rt.backoff.pop(run.key, None)
    return CONTINUE


async def registration_visible(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """Wait until the registration shows on the chain (a UID, or Stopped by policy)."""
    if not run.needs_registration:
        return CONTINUE
    progress = ("Registering", "Waiting for the registration to show on chain.")
    return Wait(run.view(REGISTERING, progress=progress), 2.0)


async def chain_row(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """The UID's metagraph row (registration block, immunity, axon) and the burn paid."""
    if run.uid is not None:
        assert run.netuid is not None
        run.row = await rt.chain.neuron(run.netuid, run.uid)
    run.burn_paid = carried_burn(run)
    return CONTINUE


async def workload(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """The StatefulSet (zero replicas when stopped), the Miner's axon Service, the pod."""
    assert run.netuid is not None and run.hotkey_secret is not None
    await rt.kube.apply(
        build_workload_statefulset(
            run.body,
            hotkey_secret=run.hotkey_secret,
            chain_endpoint=rt.config.endpoint_for_workloads,
            netuid=run.netuid,
            stopped=run.stopped,
        )
    )
    if run.kind == "Miner":
        await rt.kube.apply(build_axon_service(run.body))
    run.pod = None if run.stopped else await workload_pod(rt, run.ns, f"{run.name}-0")
    return CONTINUE


async def workload_pod(rt: Runtime, ns: str, name: str) -> PodState | None:
    """The workload pod as the pod watch last showed it, else as the API server has it now (a
    pod the watch has not shown yet: its first event kicks another reconcile anyway)."""
    held = rt.indexes.pods.get((ns, name))
    return held if held is not None else await rt.kube.pod(ns, name)


async def axon(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """Miners: the axon served with the pod IP, again whenever it changes."""
    run.axon = run.old.get("axon")
    pod = run.pod
    if run.kind == "Miner" and run.row is not None and pod is not None and pod.ip:
        assert run.keypair is not None and run.netuid is not None
        port = int(run.spec.get("axonPort") or 8091)
        if axon_stale(run.row, pod.ip, port):
            try:
                async with rt.unslotted():
                    await rt.chain.serve_axon(run.keypair, run.netuid, pod.ip, port)
            except ChainError as e:
                raise axon_refused(run, e) from e
        run.axon = f"{pod.ip}:{port}"
    return CONTINUE


def axon_refused(run: NeuronRun, e: ChainError) -> Retry:
    """A refused serve_axon: reconcile again rather than fail. The usual cause is a UID pruned
    since this run read its row (a registration filled the subnet meanwhile): the next run reads
    the chain again and reports Deregistered. A rate limit or an address the chain refuses waits
    the usual requeue delay."""
    log.warning("%s %s/%s: serve_axon refused (%s); retrying", *run.key, e.name)
    pruned = e.name == ErrorName.HOT_KEY_NOT_REGISTERED_IN_SUB_NET
    return Retry(1.0 if pruned else run.delay, f"serve_axon refused: {e.name}")


async def report(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """The end: Registered (or Stopped) with everything the run learned."""
    return Done(final_view(run))


NEURON_STEPS: tuple[Step[Runtime, NeuronRun, NeuronView], ...] = (
    subnet_ready,
    hotkey,
    hotkey_unshared,
    chain_registration,
    reregister_backoff,
    registration_coldkey,
    burn_within_limit,
    register,
    registration_visible,
    chain_row,
    validator_stake,
    workload,
    axon,
    report,
)


async def _reconcile(rt: Runtime, kind: str, ns: str, name: str) -> None:
    begun = await begin_reconcile(rt, kind, ns, name)
    if begun is None:
        return
    body, old = begun
    run = NeuronRun.begin(kind, body, old, rt.config.retry_delay)
    outcome = await run_steps(NEURON_STEPS, rt, run)
    if isinstance(outcome, Continue):  # the last step always stops; nothing to write
        return
    view = outcome.view
    await write_status(rt, kind, ns, name, run.old, neuron_status(view, run.old, c.now_rfc3339()))
    after = requeue_after(outcome)
    if after is not None:
        raise Retry(after, (view.problem or view.progress or ("", ""))[1])
