"""Validators' stake: it follows spec.stake (top up, keep dividends, return on a lowered spec),
the delegate take follows spec.delegateTake, and deletion returns the stake to the coldkey.
"""

from __future__ import annotations

import logging
from typing import Any

from bittensor_wallet import Keypair

from subnetes.chain.units import rao_to_tao, tao_to_rao

from .chainlink import ChainError
from .keys import SecretKeyError, coldkey_from_secret
from .neuron_run import USER_ERRORS, NeuronOutcome, NeuronRun, load_coldkey, write_status
from .runtime import Runtime
from .status import REGISTERED
from .steps import CONTINUE, Wait

log = logging.getLogger("subnetes.operator.stake")


def stake_of(hk: dict[str, Any], coldkey: str) -> int:
    """The stake (rao) ``coldkey`` holds on the hotkey described by ``hk``."""
    return sum(int(s["amount"]) for s in hk.get("stakes", []) if s.get("coldkey") == coldkey)


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


async def validator_stake(rt: Runtime, run: NeuronRun) -> NeuronOutcome:
    """Validators: stake follows spec.stake, take follows spec.delegateTake."""
    if run.kind != "Validator" or run.uid is None:
        return CONTINUE
    out = await ensure_stake(rt, run, run.coldkey, run.old.get("stakeTarget"))
    if isinstance(out, Wait):
        return out
    run.stake_rao, applied = out
    if applied is not None and run.old.get("stakeTarget") != applied:
        # Recorded at once, not with the final status: a later step that fails (and is
        # retried) must not leave the old target behind, or the retry would sweep the
        # dividends earned meanwhile.
        new = dict(run.old, stakeTarget=applied)
        await write_status(rt, run.kind, run.ns, run.name, run.old, new)
        run.old = rt.indexes.status.get(run.key, new)
    return CONTINUE


async def ensure_stake(
    rt: Runtime, run: NeuronRun, coldkey: Keypair | None, target_text: str | None
) -> tuple[int, str | None] | Wait:
    """Move the coldkey's stake on the hotkey to spec.stake (see :func:`stake_change`), with a
    Normal Event on the Validator; set the delegate take. Returns (total stake on the hotkey,
    spec.stake applied as a status TAO string, or None when spec.stake is unset), or a Wait
    (Stalled) when the coldkey is unusable or the chain refuses the stake change."""
    spec, ss58 = run.spec, run.hotkey
    assert ss58 is not None
    want = tao_to_rao(spec["stake"]) if spec.get("stake") else None
    take = spec.get("delegateTake")
    hk = await rt.chain.hotkey(ss58) or {}
    if coldkey is None and ((want is not None) or (take is not None and hk.get("take") != take)):
        loaded = await load_coldkey(rt, run, registering=False)
        if isinstance(loaded, Wait):
            return loaded
        coldkey = loaded
    if coldkey is None:
        return int(hk.get("total_stake", 0)), None
    have = stake_of(hk, coldkey.ss58_address)
    if want is not None:
        target = tao_to_rao(target_text) if target_text else None
        change = stake_change(want, have, target)
        if change:
            call = "add_stake" if change > 0 else "remove_stake"
            move = rt.chain.add_stake if change > 0 else rt.chain.remove_stake
            try:
                async with rt.unslotted():
                    await move(coldkey, ss58, abs(change))
            except ChainError as e:
                fallback = "StakeFailed" if change > 0 else "UnstakeFailed"
                problem = (USER_ERRORS.get(e.name, fallback), f"{call}: {e.message}")
                return Wait(run.view(REGISTERED, problem=problem), run.delay)
            amount = rao_to_tao(abs(change))
            log.info("%s %s TAO on %s", call, amount, ss58)
            if change > 0:
                reason, message = "StakeAdded", f"Added {amount} TAO of the coldkey's stake"
            else:
                reason, message = "StakeRemoved", f"Returned {amount} TAO of stake to the coldkey"
            await rt.kube.event(
                run.body, "Normal", reason, f"{message} (spec.stake {spec['stake']})."
            )
    if take is not None and hk.get("take") != take:
        try:
            async with rt.unslotted():
                await rt.chain.set_take(coldkey, ss58, int(take))
        except ChainError as e:
            log.warning("set_take for %s refused: %s", ss58, e.name)
    hk = await rt.chain.hotkey(ss58) or {}
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
    # The hotkey stays a neuron on the chain after deletion, so an epoch can credit dividends
    # between reading the stake and the removal's inclusion: read again and sweep what landed.
    for _ in range(3):
        have = stake_of(await rt.chain.hotkey(ss58) or {}, coldkey.ss58_address)
        if have <= 0:
            break
        await rt.chain.remove_stake(coldkey, ss58, have)
