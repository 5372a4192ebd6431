"""Reconcile a Subnet: owner keys, registration within maxLockCost, hyperparameter drift, status.

The owner hotkey identifies the subnet on chain (it holds UID 0), so a lost status or a restart
finds the registered netuid by looking the hotkey up before paying any lock cost.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from subnetes.chain.units import SHARE_ONE, parts_to_fraction, rao_to_tao, tao_to_rao

from . import conditions as c
from . import hyperparams, metrics
from .chainlink import ChainError
from .keys import SecretKeyError, coldkey_from_secret, hotkey_from_secret
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


async def _reconcile(rt: Runtime, ns: str, name: str) -> None:
    body = await rt.kube.get("Subnet", ns, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return
    spec: dict[str, Any] = body.get("spec") or {}
    old: dict[str, Any] = body.get("status") or {}
    gen = body["metadata"].get("generation")
    delay = rt.config.retry_delay
    if not old.get("conditions"):
        first = {"phase": PENDING, "conditions": c.first_visit(gen, c.now_rfc3339())}
        await write_status(rt, "Subnet", ns, name, old, first)
        old = first
    base: dict[str, Any] = {"generation": gen, "netuid": old.get("netuid")}

    async def finish(
        view: SubnetView, retry: float | None = None, extra: list | None = None
    ) -> None:
        new = subnet_status(view, old, c.now_rfc3339())
        if extra:
            new["conditions"] = c.merge(new["conditions"], extra)
        await write_status(rt, "Subnet", ns, name, old, new)
        if retry is not None:
            raise Retry(retry)

    # -- keys ---------------------------------------------------------------------------------
    ck_name = spec["ownerColdkeySecretRef"]["name"]
    ck_data = await rt.kube.secret_data(ns, ck_name)
    if ck_data is None:
        msg = f"Secret {ck_name} (spec.ownerColdkeySecretRef) does not exist."
        return await finish(
            SubnetView(phase=FAILED, problem=("SecretNotFound", msg), **base), delay
        )
    try:
        coldkey = coldkey_from_secret(ck_name, ck_data)
    except SecretKeyError as e:
        return await finish(SubnetView(phase=FAILED, problem=(e.reason, str(e)), **base), delay)
    ref = (spec.get("ownerHotkeySecretRef") or {}).get("name")
    hk_name = ref or old.get("ownerHotkeySecretName") or owner_hotkey_secret_name(name)
    hk_data = await rt.kube.secret_data(ns, hk_name)
    if hk_data is None and ref:
        msg = f"Secret {hk_name} (spec.ownerHotkeySecretRef) does not exist."
        return await finish(
            SubnetView(phase=FAILED, problem=("SecretNotFound", msg), **base), delay
        )
    if hk_data is None:
        hk_data, _created = await create_hotkey_secret(rt, body, ns, hk_name)
    try:
        hotkey = hotkey_from_secret(hk_name, hk_data)
    except SecretKeyError as e:
        return await finish(SubnetView(phase=FAILED, problem=(e.reason, str(e)), **base), delay)
    base |= {
        "owner_coldkey": coldkey.ss58_address,
        "owner_hotkey": hotkey.ss58_address,
        "owner_hotkey_secret": hk_name,
    }

    # -- registration: look the owner hotkey up first -------------------------------------------
    netuid = None
    for n, uid in (await rt.chain.registrations(hotkey.ss58_address)).items():
        sub = await rt.chain.subnet(n)
        if uid == 0 and sub and sub.get("owner_hotkey") == hotkey.ss58_address:
            netuid = n
            break
    if (
        netuid is None
        and old.get("phase") in (REGISTERED, DEREGISTERED)
        and old.get("netuid") is not None
    ):
        block = old.get("deregisteredBlock") or await rt.chain.head()
        if old.get("phase") == REGISTERED:
            await rt.kube.event(
                body,
                "Warning",
                "Deregistered",
                f"Netuid {old['netuid']} was removed from the chain at block {block}.",
            )
        msg = "The subnet was removed from the chain; delete and re-create the resource to register again."
        return await finish(
            SubnetView(
                phase=DEREGISTERED,
                deregistered_block=block,
                deregistration_reason=old.get("deregistrationReason") or "Pruned",
                problem=("Deregistered", msg),
                **base,
            )
        )
    if netuid is None:
        max_text = (spec.get("registration") or {}).get("maxLockCost")
        max_lock = tao_to_rao(max_text) if max_text else None
        lock = await rt.chain.lock_cost()
        if max_lock is not None and lock > max_lock:
            msg = f"The lock cost is {rao_to_tao(lock)} TAO, above spec.registration.maxLockCost {rao_to_tao(max_lock)} TAO; waiting."
            return await finish(
                SubnetView(phase=PENDING, problem=("LockCostAboveLimit", msg), **base), delay
            )
        try:
            res = await rt.chain.register_network(
                coldkey, hotkey.ss58_address, max_lock_cost=max_lock
            )
        except ChainError as e:
            reason = {
                "LockCostExceedsLimit": "LockCostAboveLimit",
                "CannotAffordLockCost": "InsufficientBalance",
            }.get(e.name)
            if reason:
                return await finish(
                    SubnetView(phase=PENDING, problem=(reason, e.message), **base), delay
                )
            return await finish(
                SubnetView(
                    phase=REGISTERING,
                    progress=("RegistrationRetrying", f"{e.name}: {e.message}"),
                    **base,
                ),
                min(delay, 5.0),
            )
        for ev in res.get("events", []):
            if (
                ev.get("type") == "SubnetRegistered"
                and ev.get("owner_hotkey") == hotkey.ss58_address
            ):
                netuid = int(ev["netuid"])
        await rt.kube.event(
            body, "Normal", "Registered", f"Registered the subnet as netuid {netuid}."
        )
    assert netuid is not None

    # -- hyperparameters: push spec drift with the owner key ---------------------------------------
    chain_hp = await rt.chain.hyperparameters(netuid)
    refused: list[str] = []
    todo = hyperparams.drift(spec.get("hyperparameters"), chain_hp)
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
    now = c.now_rfc3339()
    hp_cond = (
        c.make(HP_CONDITION, c.FALSE, "Refused", "; ".join(refused)[:4000], gen, now)
        if refused
        else c.make(
            HP_CONDITION, c.TRUE, "InSync", "The chain's hyperparameters match the spec.", gen, now
        )
    )

    sub = await rt.chain.subnet(netuid) or {}
    mg = await rt.chain.metagraph(netuid)
    validators = sum(1 for r in mg.get("neurons", []) if r.get("validator_permit"))
    view = SubnetView(
        phase=REGISTERED,
        registered_block=sub.get("registered_at"),
        immunity_end=sub.get("immune_until"),
        lock_cost_paid_rao=sub.get("lock"),
        neurons_total=int(mg.get("n", 0)),
        neurons_validators=validators,
        max_allowed=int((sub.get("hyperparameters") or {}).get("max_allowed_uids", 0)) or None,
        **(base | {"netuid": netuid}),
    )
    new = subnet_status(view, old, now)
    new["conditions"] = c.merge(new["conditions"], [hp_cond])
    if sub.get("emission_share") is not None:
        new["emissionShare"] = emission_share_fraction(sub["emission_share"])
    if sub.get("last_epoch_block") is not None:
        new["lastEpochBlock"] = int(sub["last_epoch_block"])
    became_ready = old.get("phase") != REGISTERED
    await write_status(rt, "Subnet", ns, name, old, new)
    rt.indexes.netuids[netuid] = ("Subnet", ns, name)
    if became_ready:
        # Neurons waiting for this subnet go now rather than at their next retry.
        for kind in ("Miner", "Validator"):
            for obj in await rt.kube.list(kind, ns):
                if (obj.get("spec") or {}).get("subnetRef", {}).get("name") == name:
                    rt.kick((kind, ns, obj["metadata"]["name"]))
    if refused:
        raise Retry(max(delay, 30.0))


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
        if e.name not in ("SubNetworkDoesNotExist", "NotSubnetOwner"):
            raise
