"""Status documents for Subnet, Miner and Validator, computed from observations (pure).

The reconcilers gather facts (chain, Secrets, pods) into small dataclasses; the functions here
turn them into the fields of ``.status`` and :func:`status_patch` reduces that to the minimal
merge patch, or ``None`` when nothing changed (so unchanged objects are never written).
Conditions follow the Kubernetes API conventions (docs/operator.md): a summary ``Ready``;
``Reconciling`` while work is in progress; ``Stalled`` when a user must act (kstatus: Failed; Argo CD: Degraded).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from subnetes.chain.units import rao_to_tao, u16_to_fraction

from . import conditions as c

Reason = tuple[str, str]  # (CamelCase reason, human message)

PENDING, REGISTERING, REGISTERED, DEREGISTERED, FAILED = (
    "Pending",
    "Registering",
    "Registered",
    "Deregistered",
    "Failed",
)


def summary(
    generation: int | None,
    now: str,
    *,
    problem: Reason | None = None,
    progress: Reason | None = None,
    ready: Reason | None = None,
) -> list[c.Condition]:
    """Ready / Reconciling / Stalled, as kstatus reads them.

    ``problem`` (user must act) wins over ``progress`` (work under way), which wins over
    ``ready``. With none of them the object is not ready yet for an unknown reason.
    """
    if problem is not None:
        reason, msg = problem
        return [
            c.make(c.READY, c.FALSE, reason, msg, generation, now),
            c.make(c.RECONCILING, c.FALSE, reason, "", generation, now),
            c.make(c.STALLED, c.TRUE, reason, msg, generation, now),
        ]
    if progress is not None:
        reason, msg = progress
        return [
            c.make(c.READY, c.FALSE, reason, msg, generation, now),
            c.make(c.RECONCILING, c.TRUE, reason, msg, generation, now),
            c.make(c.STALLED, c.FALSE, reason, "", generation, now),
        ]
    if ready is not None:
        reason, msg = ready
        return [
            c.make(c.READY, c.TRUE, reason, msg, generation, now),
            c.make(c.RECONCILING, c.FALSE, reason, "", generation, now),
            c.make(c.STALLED, c.FALSE, reason, "", generation, now),
        ]
    return c.first_visit(generation, now)


# ---- neurons ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodState:
    """What the operator saw of the workload pod ``<name>-0``."""

    name: str
    node: str | None = None
    ip: str | None = None
    running: bool = False


@dataclass(frozen=True)
class NeuronView:
    """Facts about one Miner/Validator gathered by a reconcile (no secrets in here)."""

    generation: int | None
    phase: str
    hotkey: str | None = None
    hotkey_secret: str | None = None
    netuid: int | None = None
    uid: int | None = None
    registered_block: int | None = None
    immune_until: int | None = None
    burn_paid_rao: int | None = None
    deregistered_block: int | None = None
    deregistration_reason: str | None = None
    stopped: bool = False  # policy Stop scaled the workload to zero
    pod: PodState | None = None
    axon: str | None = None
    stake_rao: int | None = None  # validators
    problem: Reason | None = None
    progress: Reason | None = None
    # A hotkey refused (not claimed for this neuron, or another's): status drops the hotkey
    # and its Secret, so no one reads another neuron's key as this one's.
    hotkey_refused: bool = False


def neuron_conditions(view: NeuronView, now: str) -> list[c.Condition]:
    """All conditions of a neuron for ``view``."""
    gen = view.generation
    registered = view.phase == REGISTERED and view.uid is not None
    conds: list[c.Condition] = []
    if registered:
        conds.append(
            c.make(
                c.REGISTERED,
                c.TRUE,
                "Registered",
                f"Hotkey {view.hotkey} holds UID {view.uid} on netuid {view.netuid}.",
                gen,
                now,
            )
        )
    elif view.phase == DEREGISTERED:
        conds.append(c.make(c.REGISTERED, c.FALSE, "Deregistered", "The UID was pruned.", gen, now))
    else:
        conds.append(
            c.make(c.REGISTERED, c.FALSE, "NotRegistered", "Not registered yet.", gen, now)
        )

    if view.phase == DEREGISTERED:
        why = view.deregistration_reason or "Pruned"
        conds.append(
            c.make(
                c.DEREGISTERED,
                c.TRUE,
                why,
                f"The chain deregistered the UID at block {view.deregistered_block} ({why}).",
                gen,
                now,
            )
        )
    else:
        conds.append(
            c.make(
                c.DEREGISTERED,
                c.FALSE,
                "Registered" if registered else "NotRegistered",
                "",
                gen,
                now,
            )
        )

    pod = view.pod
    scheduled = bool(pod and pod.node and pod.running)
    if view.stopped:
        conds.append(
            c.make(
                c.SCHEDULED, c.FALSE, "Stopped", "Workload scaled to zero by policy Stop.", gen, now
            )
        )
    elif scheduled:
        assert pod is not None
        conds.append(
            c.make(
                c.SCHEDULED,
                c.TRUE,
                "PodRunning",
                f"Pod {pod.name} runs on node {pod.node}.",
                gen,
                now,
            )
        )
    elif pod and pod.node:
        conds.append(
            c.make(
                c.SCHEDULED,
                c.FALSE,
                "PodStarting",
                f"Pod {pod.name} is bound to {pod.node} and starting.",
                gen,
                now,
            )
        )
    else:
        conds.append(
            c.make(
                c.SCHEDULED,
                c.FALSE,
                "PodPending",
                "The workload pod is not scheduled yet.",
                gen,
                now,
            )
        )

    problem, progress, ready = view.problem, view.progress, None
    if problem is None and view.phase == DEREGISTERED and view.stopped:
        # Stopped after deregistration: a failure the GitOps user must see.
        problem = ("Deregistered", "The UID was deregistered and policy Stop removed the workload.")
    if problem is None and progress is None:
        if view.phase == DEREGISTERED:
            progress = ("Reregistering", "The UID was deregistered; registering again.")
        elif not registered:
            progress = ("Registering", "Registering the hotkey on the subnet.")
        elif not scheduled:
            progress = ("PodPending", "Registered; waiting for the workload pod to run.")
        else:
            ready = (
                "Ready",
                f"UID {view.uid} on netuid {view.netuid}; pod runs on {pod.node if pod else ''}.",
            )
    return conds + summary(gen, now, problem=problem, progress=progress, ready=ready)


def neuron_fields(view: NeuronView) -> dict[str, Any]:
    """Status fields (besides conditions and epoch outputs) the reconcile owns."""
    fields: dict[str, Any] = {"phase": view.phase}
    if view.generation is not None:
        fields["observedGeneration"] = view.generation
    optional = {
        "hotkey": view.hotkey,
        "hotkeySecretName": view.hotkey_secret,
        "netuid": view.netuid,
        "uid": view.uid,
        "registeredBlock": view.registered_block,
        "immuneUntilBlock": view.immune_until,
        "burnPaid": rao_to_tao(view.burn_paid_rao) if view.burn_paid_rao is not None else None,
        "deregisteredBlock": view.deregistered_block,
        "deregistrationReason": view.deregistration_reason,
        "axon": view.axon,
        "stake": rao_to_tao(view.stake_rao) if view.stake_rao is not None else None,
    }
    for key, value in optional.items():
        if value is not None:
            fields[key] = value
    if view.hotkey_refused:
        fields["hotkey"] = fields["hotkeySecretName"] = None
    if view.phase != DEREGISTERED:
        # A fresh registration clears the record of the previous deregistration.
        fields["deregisteredBlock"] = None
        fields["deregistrationReason"] = None
    if view.pod is not None:
        fields["podName"] = view.pod.name
        fields["nodeName"] = view.pod.node
    elif view.stopped:
        fields["podName"] = None
        fields["nodeName"] = None
    return fields


def neuron_status(view: NeuronView, old: dict[str, Any] | None, now: str) -> dict[str, Any]:
    """The new status (old status updated with ``view``); epoch outputs are kept as they were."""
    new = dict(old or {})
    for key, value in neuron_fields(view).items():
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
    new["conditions"] = c.merge((old or {}).get("conditions"), neuron_conditions(view, now))
    return new


# Epoch outputs: chain field -> status field, all u16 fractions.
MINER_FRACTIONS = {
    "incentive": "incentive",
    "trust": "trust",
    "consensus": "consensus",
    "rank": "rank",
}
VALIDATOR_FRACTIONS = MINER_FRACTIONS | {
    "validator_trust": "validatorTrust",
    "dividends": "dividends",
}


def epoch_fields(kind: str, row: Mapping[str, Any], block: int) -> dict[str, Any]:
    """Status fields from one UID's epoch outputs (an EpochResult row or a metagraph neuron)
    as of the epoch at ``block``.

    Every field mirrors the chain: ``totalEmission`` is the chain's per-registration
    ``total_emission``, not a sum kept here, so a status written after any outage (epochs the
    operator never saw) equals the chain's, and writing the same row twice changes nothing.
    ``lastWeightsBlock`` is the row's ``weights_block``; None (remove the field) while this
    registration never set weights (the chain says -1).
    """
    fractions = VALIDATOR_FRACTIONS if kind == "Validator" else MINER_FRACTIONS
    out: dict[str, Any] = {
        dst: u16_to_fraction(row[src]) for src, dst in fractions.items() if src in row
    }
    out["lastEmission"] = rao_to_tao(int(row.get("emission", 0)))
    if "total_emission" in row:
        out["totalEmission"] = rao_to_tao(int(row["total_emission"]))
    out["lastEpochBlock"] = block
    if kind == "Validator":
        if "validator_permit" in row:
            out["validatorPermit"] = bool(row["validator_permit"])
        if "stake" in row:
            out["stake"] = rao_to_tao(int(row["stake"]))
        if "weights_block" in row:
            weights_block = int(row["weights_block"])
            out["lastWeightsBlock"] = weights_block if weights_block >= 0 else None
    return out


def epoch_is_stale(old: dict[str, Any], block: int) -> bool:
    """Whether an epoch at ``block`` is older than the one ``old`` already reflects (a replayed
    stream): its totals are older too, so writing them would move status back."""
    prev = old.get("lastEpochBlock")
    return prev is not None and block < int(prev)


# ---- subnets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubnetView:
    """Facts about one Subnet gathered by a reconcile."""

    generation: int | None
    phase: str
    netuid: int | None = None
    owner_coldkey: str | None = None
    owner_hotkey: str | None = None
    owner_hotkey_secret: str | None = None
    registered_block: int | None = None
    immunity_end: int | None = None
    lock_cost_paid_rao: int | None = None
    neurons_total: int | None = None
    neurons_validators: int | None = None
    max_allowed: int | None = None
    deregistered_block: int | None = None
    deregistration_reason: str | None = None
    problem: Reason | None = None
    progress: Reason | None = None


def subnet_status(view: SubnetView, old: dict[str, Any] | None, now: str) -> dict[str, Any]:
    """The new Subnet status for ``view`` (other fields of ``old`` kept)."""
    new = dict(old or {})
    fields: dict[str, Any] = {
        "phase": view.phase,
        "observedGeneration": view.generation,
        "netuid": view.netuid,
        "ownerColdkey": view.owner_coldkey,
        "ownerHotkey": view.owner_hotkey,
        "ownerHotkeySecretName": view.owner_hotkey_secret,
        "registeredBlock": view.registered_block,
        "immunityEnd": view.immunity_end,
        "lockCostPaid": (
            rao_to_tao(view.lock_cost_paid_rao) if view.lock_cost_paid_rao is not None else None
        ),
        "deregisteredBlock": view.deregistered_block,
        "deregistrationReason": view.deregistration_reason,
    }
    for key, value in fields.items():
        if value is not None:
            new[key] = value
        elif key in ("deregisteredBlock", "deregistrationReason"):
            new.pop(key, None)
    if view.neurons_total is not None:
        counts = {"total": view.neurons_total}
        if view.neurons_validators is not None:
            counts["validators"] = view.neurons_validators
        if view.max_allowed is not None:
            counts["maxAllowed"] = view.max_allowed
        new["neurons"] = counts
    registered = view.phase == REGISTERED
    conds = [
        c.make(
            c.REGISTERED,
            c.TRUE if registered else c.FALSE,
            "Registered"
            if registered
            else ("Deregistered" if view.phase == DEREGISTERED else "NotRegistered"),
            f"Registered as netuid {view.netuid}." if registered else "",
            view.generation,
            now,
        )
    ]
    ready = ("Registered", f"Netuid {view.netuid} is registered.") if registered else None
    progress = view.progress
    if progress is None and ready is None and view.problem is None:
        progress = ("Registering", "Registering the subnet on the chain.")
    conds += summary(view.generation, now, problem=view.problem, progress=progress, ready=ready)
    new["conditions"] = c.merge((old or {}).get("conditions"), conds)
    return new


# ---- patching -----------------------------------------------------------------------------------


def status_patch(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any] | None:
    """Minimal JSON merge patch turning ``old`` into ``new`` (top-level keys), or None if equal.

    Removed keys become ``None`` (merge-patch deletion). ``conditions`` is replaced whole, as a
    merge patch replaces lists anyway.
    """
    old = old or {}
    patch: dict[str, Any] = {}
    for key, value in new.items():
        if old.get(key) != value:
            patch[key] = value
    for key in old:
        if key not in new:
            patch[key] = None
    return patch or None
