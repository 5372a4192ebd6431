"""Reconcile a Miner or Validator: hotkey, registration, stake, axon, workload, status.

Level-based and idempotent: every run starts from what the chain and the API server say now
(the chain is the source of truth for registration: the hotkey is looked up before anything is
paid), so a run interrupted anywhere and repeated never registers or pays twice.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from subnetes.chain.units import rao_to_tao, tao_to_rao

from . import conditions as c
from . import metrics
from .chainlink import ChainError
from .keys import SecretKeyError, coldkey_from_secret, hotkey_from_secret, new_hotkey
from .labels import hotkey_secret_name
from .manifests import build_axon_service, build_hotkey_secret, build_workload_statefulset
from .runtime import Key, Retry, Runtime
from .status import (
    DEREGISTERED,
    FAILED,
    PENDING,
    REGISTERED,
    REGISTERING,
    NeuronView,
    neuron_status,
    status_patch,
)
from .tracing import tracer

log = logging.getLogger("subnetes.operator.neurons")

# Chain errors that need a user's action (Stalled) rather than a retry soon.
USER_ERRORS = {
    "BurnExceedsLimit": "BurnAboveLimit",
    "NotEnoughBalanceToStake": "InsufficientBalance",
    "InsufficientBalance": "InsufficientBalance",
    "SubNetRegistrationDisabled": "RegistrationDisabled",
    "NoNeuronIdAvailable": "SubnetFull",
    "HotKeyAlreadyRegisteredInSubNet": "HotkeyInUse",
    "NonAssociatedColdKey": "HotkeyOwnedElsewhere",
}


async def write_status(rt: Runtime, kind: str, ns: str, name: str, old: dict, new: dict) -> bool:
    """Patch only what changed; True when a patch was sent."""
    patch = status_patch(old, new)
    if patch is None:
        return False
    version = await rt.kube.patch_status(kind, ns, name, patch)
    metrics.STATUS_PATCHES.labels(kind).inc()
    rt.indexes.wrote((kind, ns, name), new, version)
    return True


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


async def _reconcile(rt: Runtime, kind: str, ns: str, name: str) -> None:
    body = await rt.kube.get(kind, ns, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return
    key: Key = (kind, ns, name)
    spec: dict[str, Any] = body.get("spec") or {}
    old: dict[str, Any] = body.get("status") or {}
    gen = body["metadata"].get("generation")
    now = c.now_rfc3339()
    delay = rt.config.retry_delay

    if not old.get("conditions"):
        # First visit: Ready=Unknown before any work, so kstatus waits for us.
        first = {"phase": PENDING, "conditions": c.first_visit(gen, now)}
        await write_status(rt, kind, ns, name, old, first)
        old = first

    async def finish(view: NeuronView, retry: float | None = None) -> None:
        await write_status(rt, kind, ns, name, old, neuron_status(view, old, c.now_rfc3339()))
        if retry is not None:
            raise Retry(retry, (view.problem or view.progress or ("", ""))[1])

    # Carried over from the last status until the chain says otherwise.
    base = {
        "generation": gen,
        "hotkey": old.get("hotkey"),
        "hotkey_secret": old.get("hotkeySecretName"),
        "netuid": old.get("netuid"),
    }
    was_phase = old.get("phase", PENDING)

    # -- the subnet ----------------------------------------------------------------------------
    subnet_name = spec["subnetRef"]["name"]
    subnet = await rt.kube.get("Subnet", ns, subnet_name)
    sub_status = (subnet or {}).get("status") or {}
    if subnet is None:
        msg = f"Subnet {subnet_name} does not exist in namespace {ns}."
        return await finish(
            NeuronView(
                phase=was_phase if was_phase == DEREGISTERED else PENDING,
                progress=("SubnetNotFound", msg),
                **base,
            ),
            delay,
        )
    if sub_status.get("phase") != REGISTERED or sub_status.get("netuid") is None:
        msg = f"Waiting for Subnet {subnet_name} to be registered on the chain."
        return await finish(
            NeuronView(
                phase=PENDING if was_phase != DEREGISTERED else was_phase,
                progress=("SubnetNotReady", msg),
                **base,
            ),
            delay,
        )
    netuid = int(sub_status["netuid"])
    base["netuid"] = netuid

    # -- the hotkey ----------------------------------------------------------------------------
    ref = (spec.get("hotkeySecretRef") or {}).get("name")
    secret_name = ref or old.get("hotkeySecretName") or hotkey_secret_name(name)
    base["hotkey_secret"] = secret_name
    data = await rt.kube.secret_data(ns, secret_name)
    if data is None and ref:
        msg = f"Secret {secret_name} (spec.hotkeySecretRef) does not exist."
        return await finish(
            NeuronView(phase=FAILED, problem=("SecretNotFound", msg), **base), delay
        )
    if data is None:
        data, created = await create_hotkey_secret(rt, body, ns, secret_name)
        if created:
            await rt.kube.event(
                body, "Normal", "HotkeyCreated", f"Created a new hotkey in Secret {secret_name}."
            )
    try:
        hotkey = hotkey_from_secret(secret_name, data)
    except SecretKeyError as e:
        return await finish(NeuronView(phase=FAILED, problem=(e.reason, str(e)), **base), delay)
    ss58 = hotkey.ss58_address
    base["hotkey"] = ss58
    rt.indexes.hotkeys[ss58] = key

    # -- registration (chain first: never pay twice) --------------------------------------------
    regs = await rt.chain.registrations(ss58)
    uid = regs.get(netuid)
    policy = (spec.get("registration") or {}).get("policy", "Reregister")
    max_burn_text = (spec.get("registration") or {}).get("maxBurn")
    max_burn = tao_to_rao(max_burn_text) if max_burn_text else None
    dereg: dict[str, Any] = {}
    burn_paid: int | None = None

    if (
        uid is None
        and was_phase == REGISTERED
        and old.get("uid") is not None
        and old.get("netuid") == netuid
    ):
        # Registered before, gone now: the chain pruned it (maybe while we were down).
        block, reason = rt.dereg_hints.pop(key, (None, "Pruned"))
        if block is None:
            block = await rt.chain.head()
        dereg = {"deregistered_block": block, "deregistration_reason": reason}
        was_phase = DEREGISTERED
        await rt.kube.event(
            body,
            "Warning",
            "Deregistered",
            f"UID {old.get('uid')} on netuid {netuid} was deregistered at block {block} ({reason}); "
            f"policy {policy}.",
        )
    elif was_phase == DEREGISTERED:
        dereg = {
            "deregistered_block": old.get("deregisteredBlock"),
            "deregistration_reason": old.get("deregistrationReason"),
        }

    coldkey = None
    if uid is None and was_phase == DEREGISTERED and policy == "Stop":
        # Stop: no re-registration; the workload goes to zero replicas below.
        pass
    elif uid is None:
        if was_phase == DEREGISTERED:
            wait = rt.next_reregister_delay(key)
            if wait > 0:
                return await finish(
                    NeuronView(
                        phase=DEREGISTERED,
                        progress=("Reregistering", f"Re-registering in {wait:.0f}s (backoff)."),
                        **base,
                        **dereg,
                    ),
                    wait,
                )
        coldkey = await _coldkey(rt, ns, spec, base, finish, was_phase, dereg)
        burn = int(await rt.chain.call("burn", netuid))
        if max_burn is not None and burn > max_burn:
            msg = (
                f"The registration burn is {rao_to_tao(burn)} TAO, above spec.registration.maxBurn "
                f"{rao_to_tao(max_burn)} TAO; waiting for it to fall."
            )
            phase = DEREGISTERED if was_phase == DEREGISTERED else PENDING
            return await finish(
                NeuronView(phase=phase, problem=("BurnAboveLimit", msg), **base, **dereg), delay
            )
        if was_phase == DEREGISTERED:
            rt.note_reregister(key)
        else:
            await write_status(
                rt,
                kind,
                ns,
                name,
                old,
                neuron_status(
                    NeuronView(
                        phase=REGISTERING,
                        progress=(
                            "Registering",
                            f"Registering on netuid {netuid}, burn {rao_to_tao(burn)} TAO.",
                        ),
                        **base,
                    ),
                    old,
                    c.now_rfc3339(),
                ),
            )
            old = rt.indexes.status.get(key, old)
        try:
            async with rt.unslotted():  # waits for the coldkey's turn and a block
                res = await rt.chain.call(
                    "burned_register", coldkey, netuid, ss58, max_burn=max_burn
                )
        except ChainError as e:
            if e.name == "HotKeyAlreadyRegisteredInSubNet":
                # Registered by a run that died before writing status: the chain knows best.
                regs = await rt.chain.registrations(ss58)
                uid = regs.get(netuid)
            elif e.name in USER_ERRORS:
                phase = DEREGISTERED if was_phase == DEREGISTERED else PENDING
                return await finish(
                    NeuronView(
                        phase=phase, problem=(USER_ERRORS[e.name], e.message), **base, **dereg
                    ),
                    delay,
                )
            else:
                phase = DEREGISTERED if was_phase == DEREGISTERED else PENDING
                return await finish(
                    NeuronView(
                        phase=phase,
                        progress=("RegistrationRetrying", f"{e.name}: {e.message}"),
                        **base,
                        **dereg,
                    ),
                    min(delay, 2.0),
                )
        else:
            for ev in res.get("events", []):
                if ev.get("type") == "NeuronRegistered" and ev.get("hotkey") == ss58:
                    uid = int(ev["uid"])
                    burn_paid = int(ev.get("burn", burn))
            if uid is None:
                uid = (await rt.chain.registrations(ss58)).get(netuid)
            await rt.kube.event(
                body, "Normal", "Registered", f"Registered on netuid {netuid} as UID {uid}."
            )
        dereg = {}
        rt.backoff.pop(key, None)

    stopped = uid is None and was_phase == DEREGISTERED and policy == "Stop"
    if uid is None and not stopped:
        return await finish(
            NeuronView(
                phase=REGISTERING,
                progress=("Registering", "Waiting for the registration to show on chain."),
                **base,
            ),
            2.0,
        )

    row = await rt.chain.neuron(netuid, uid) if uid is not None else None
    if burn_paid is None and old.get("burnPaid") and uid is not None and old.get("uid") == uid:
        burn_paid = tao_to_rao(old["burnPaid"])

    # -- validators: stake and take ---------------------------------------------------------------
    stake_rao = None
    if kind == "Validator" and uid is not None:
        stake_rao, applied = await _ensure_stake(
            rt, body, ss58, base, finish, coldkey, old.get("stakeTarget")
        )
        if applied is not None and old.get("stakeTarget") != applied:
            # Recorded at once, not with the final status: a later step that fails (and is
            # retried) must not leave the old target behind, or the retry would sweep the
            # dividends earned meanwhile.
            new = dict(old, stakeTarget=applied)
            await write_status(rt, kind, ns, name, old, new)
            old = rt.indexes.status.get(key, new)

    # -- workload ------------------------------------------------------------------------------------
    await rt.kube.apply(
        build_workload_statefulset(
            body,
            hotkey_secret=secret_name,
            chain_endpoint=rt.config.endpoint_for_workloads,
            netuid=netuid,
            stopped=stopped,
        )
    )
    if kind == "Miner":
        await rt.kube.apply(build_axon_service(body))
    pod = None if stopped else await rt.kube.pod(ns, f"{name}-0")

    # -- axon: served with the pod IP, again whenever it changes --------------------------------------
    axon = old.get("axon")
    if kind == "Miner" and row is not None and pod is not None and pod.ip:
        port = int(spec.get("axonPort") or 8091)
        served = row.get("axon") or {}
        if served.get("ip") != pod.ip or int(served.get("port") or 0) != port:
            async with rt.unslotted():
                await rt.chain.call("serve_axon", hotkey, netuid, pod.ip, port)
        axon = f"{pod.ip}:{port}"

    if stopped:
        view = NeuronView(phase=DEREGISTERED, stopped=True, **base, **dereg)
    else:
        view = NeuronView(
            phase=REGISTERED,
            uid=uid,
            registered_block=int(row["registered_at"]) if row else None,
            immune_until=int(row["immune_until"]) if row else None,
            burn_paid_rao=burn_paid,
            pod=pod,
            axon=axon,
            stake_rao=stake_rao,
            **base,
        )
    await finish(view)


async def _coldkey(rt, ns, spec, base, finish, was_phase, dereg):
    """The coldkey paying registration and stake; a finished Stalled status when unusable."""
    name = spec["coldkeySecretRef"]["name"]
    data = await rt.kube.secret_data(ns, name)
    phase = DEREGISTERED if was_phase == DEREGISTERED else FAILED
    if data is None:
        await finish(
            NeuronView(
                phase=phase,
                problem=(
                    "SecretNotFound",
                    f"Secret {name} (spec.coldkeySecretRef) does not exist.",
                ),
                **base,
                **dereg,
            ),
            rt.config.retry_delay,
        )
    try:
        return coldkey_from_secret(name, data)
    except SecretKeyError as e:
        await finish(
            NeuronView(phase=phase, problem=(e.reason, str(e)), **base, **dereg),
            rt.config.retry_delay,
        )


def stake_change(want: int, have: int, target: int | None) -> int:
    """rao to add (> 0) or remove (< 0) so the coldkey's stake on the hotkey follows spec.stake.

    ``want`` is spec.stake, ``have`` the coldkey's stake on the hotkey now, ``target`` the
    spec.stake the operator last applied (status.stakeTarget; None for objects written before
    that field existed, taken as ``want``). Below ``want`` the stake is topped up to it. Above
    it, stake goes back to the coldkey only when spec.stake was lowered below ``target``: the
    dividends the chain credits to the coldkey's stake stay on the hotkey while spec.stake is
    unchanged or raised. Both are levels, not differences, so a repeated run never pays twice.
    """
    if have < want:
        return want - have
    if target is not None and want < target and have > want:
        return want - have
    return 0


async def _ensure_stake(
    rt, body, ss58, base, finish, coldkey, target_text
) -> tuple[int, str | None]:
    """Move the coldkey's stake on the hotkey to spec.stake (see :func:`stake_change`), with a
    Normal Event on the Validator; set the delegate take. Returns (total stake on the hotkey,
    spec.stake applied as a status TAO string, or None when spec.stake is unset)."""
    ns, spec = body["metadata"]["namespace"], body.get("spec") or {}
    want = tao_to_rao(spec["stake"]) if spec.get("stake") else None
    take = spec.get("delegateTake")
    hk = await rt.chain.call("hotkey", ss58) or {}
    if coldkey is None and ((want is not None) or (take is not None and hk.get("take") != take)):
        coldkey = await _coldkey(rt, ns, spec, base, finish, REGISTERED, {})
    if coldkey is None:
        return int(hk.get("total_stake", 0)), None
    have = sum(
        int(s["amount"]) for s in hk.get("stakes", []) if s.get("coldkey") == coldkey.ss58_address
    )
    if want is not None:
        target = tao_to_rao(target_text) if target_text else None
        change = stake_change(want, have, target)
        if change:
            call = "add_stake" if change > 0 else "remove_stake"
            try:
                async with rt.unslotted():
                    await rt.chain.call(call, coldkey, ss58, abs(change))
            except ChainError as e:
                fallback = "StakeFailed" if change > 0 else "UnstakeFailed"
                reason = USER_ERRORS.get(e.name, fallback)
                await finish(
                    NeuronView(phase=REGISTERED, problem=(reason, f"{call}: {e.message}"), **base),
                    rt.config.retry_delay,
                )
            amount = rao_to_tao(abs(change))
            log.info("%s %s TAO on %s", call, amount, ss58)
            if change > 0:
                reason, message = "StakeAdded", f"Added {amount} TAO of the coldkey's stake"
            else:
                reason, message = "StakeRemoved", f"Returned {amount} TAO of stake to the coldkey"
            await rt.kube.event(body, "Normal", reason, f"{message} (spec.stake {spec['stake']}).")
    if take is not None and hk.get("take") != take:
        try:
            async with rt.unslotted():
                await rt.chain.call("set_take", coldkey, ss58, int(take))
        except ChainError as e:
            log.warning("set_take for %s refused: %s", ss58, e.name)
    hk = await rt.chain.call("hotkey", ss58) or {}
    applied = rao_to_tao(want) if want is not None else None
    return int(hk.get("total_stake", 0)), applied


async def release(rt: Runtime, kind: str, body: dict[str, Any]) -> None:
    """Deletion: validators return their stake to the coldkey; children cascade by owner refs.

    Best effort: when the coldkey Secret is already gone (namespace deletion) the stake stays
    on the hotkey and a Warning says so, rather than blocking deletion forever.
    """
    if kind != "Validator":
        return
    ns = body["metadata"]["namespace"]
    spec = body.get("spec") or {}
    ss58 = (body.get("status") or {}).get("hotkey")
    if not ss58:
        return
    name = spec["coldkeySecretRef"]["name"]
    data = await rt.kube.secret_data(ns, name)
    try:
        coldkey = coldkey_from_secret(name, data or {})
    except SecretKeyError:
        log.warning("cannot remove stake of %s: coldkey Secret %s unusable", ss58, name)
        return
    hk = await rt.chain.call("hotkey", ss58) or {}
    have = sum(
        int(s["amount"]) for s in hk.get("stakes", []) if s.get("coldkey") == coldkey.ss58_address
    )
    if have > 0:
        await rt.chain.call("remove_stake", coldkey, ss58, have)


async def create_hotkey_secret(
    rt: Runtime, owner: dict[str, Any], ns: str, secret_name: str
) -> tuple[dict[str, bytes], bool]:
    """A new hotkey in Secret ``secret_name`` owned by ``owner``: (key data, created). If
    another reconcile created the Secret first, its data and False. Never logs the key."""
    _kp, raw = new_hotkey()
    if await rt.kube.create_secret_if_absent(build_hotkey_secret(owner, secret_name, raw)):
        return {"hotkey": raw}, True
    return await rt.kube.secret_data(ns, secret_name) or {}, False
