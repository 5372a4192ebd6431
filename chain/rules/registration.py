"""Registration: a hotkey takes a UID on a subnet by burning TAO (``burned_register``).

Also the hotkey ownership checks every registration makes, adding or replacing a UID (the
prune candidate on a full subnet), and the burn adjustment every adjustment interval. The
arithmetic (burn, prune choice) is in ``chain/registration.py``.
"""

from __future__ import annotations

from typing import Any

from subnetes.wire.events import EventKind

from ..context import Ctx
from ..errors import ErrorName, require
from ..registration import Candidate, adjust_burn, is_immune, prune_candidate
from ..state import ROOT_NETUID, Neuron, State
from ..units import fmt_tao
from .common import get_subnet, require_balance


def ensure_hotkey(st: State, hotkey: str, coldkey: str) -> None:
    """Check that ``hotkey`` is new or owned by ``coldkey`` (no mutation)."""
    hk = st.hotkeys.get(hotkey)
    require(
        hk is None or hk.owner == coldkey,
        ErrorName.NON_ASSOCIATED_COLD_KEY,
        f"hotkey {hotkey} is owned by another coldkey",
    )


def claim_hotkey(st: State, hotkey: str, coldkey: str) -> None:
    """Create the hotkey record owned by ``coldkey`` if it does not exist yet."""
    if hotkey not in st.hotkeys:
        st.create_hotkey(hotkey, coldkey, st.config.default_take)


def replacement_uid(st: State, netuid: int, now: int) -> int | None:
    """The UID a registration on a full subnet would replace (None: none may be replaced)."""
    s = st.subnets[netuid]
    cands = [
        Candidate(
            id=n.uid,
            score=n.pruning_score,
            registered_at=n.registered_at,
            immune=is_immune(now, n.registered_at, s.hp.immunity_period),
            protected=(n.hotkey == s.owner_hotkey),
        )
        for n in s.neurons
    ]
    return prune_candidate(cands)


def add_neuron(st: State, ctx: Ctx, netuid: int, hotkey: str, uid: int | None) -> int:
    """Append a UID (uid None) or replace ``uid``; emits the (de)registration events."""
    s = st.subnets[netuid]
    now = ctx.block
    new_uid = len(s.neurons) if uid is None else uid
    fresh = Neuron(uid=new_uid, hotkey=hotkey, registered_at=now, last_update=now)
    old = st.put_neuron(netuid, fresh)
    if old is not None:
        # Nobody keeps weights or bonds on the new occupant (Subtensor's clear_neuron).
        for other in s.neurons:
            if new_uid in other.weights or new_uid in other.bonds:
                om = st.neuron_mut(netuid, other.uid)
                om.weights.pop(new_uid, None)
                om.bonds.pop(new_uid, None)
        ctx.emit(EventKind.NEURON_DEREGISTERED, netuid=netuid, uid=new_uid, hotkey=old.hotkey)
    ctx.emit(EventKind.NEURON_REGISTERED, netuid=netuid, uid=new_uid, hotkey=hotkey)
    return new_uid


def burned_register(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Register ``hotkey`` on subnet ``netuid``, the signer paying (recycling) the burn."""
    netuid, hotkey = a["netuid"], a["hotkey"]
    require(
        netuid != ROOT_NETUID,
        ErrorName.REGISTRATION_NOT_PERMITTED_ON_ROOT_SUBNET,
        "use root_register to join the root network",
    )
    s = get_subnet(st, netuid)
    hp = s.hp
    require(
        hp.registration_allowed,
        ErrorName.SUB_NET_REGISTRATION_DISABLED,
        f"registration is disabled on subnet {netuid}",
    )
    regs_now = s.regs_this_block if s.regs_block == ctx.block else 0
    require(
        regs_now < hp.max_registrations_per_block,
        ErrorName.TOO_MANY_REGISTRATIONS_THIS_BLOCK,
        f"at most {hp.max_registrations_per_block} registration(s) per block on subnet {netuid}",
    )
    require(
        s.regs_this_interval < 3 * hp.target_registrations_per_interval,
        ErrorName.TOO_MANY_REGISTRATIONS_THIS_INTERVAL,
        f"at most {3 * hp.target_registrations_per_interval} registrations per interval on subnet {netuid}",
    )
    require(
        hotkey not in s.uid_of,
        ErrorName.HOT_KEY_ALREADY_REGISTERED_IN_SUB_NET,
        f"hotkey {hotkey} already has uid {s.uid_of.get(hotkey)} on subnet {netuid}",
    )
    ensure_hotkey(st, hotkey, signer)
    if a["max_burn"] is not None:
        require(
            s.burn <= a["max_burn"],
            ErrorName.BURN_EXCEEDS_LIMIT,
            f"burn {fmt_tao(s.burn)} TAO exceeds the limit {fmt_tao(a['max_burn'])} TAO",
        )
    require_balance(st, signer, s.burn, ErrorName.NOT_ENOUGH_BALANCE_TO_STAKE, "registration burn")
    uid = None
    if len(s.neurons) >= hp.max_allowed_uids:
        uid = replacement_uid(st, netuid, ctx.block)
        require(
            uid is not None,
            ErrorName.NO_NEURON_ID_AVAILABLE,
            f"subnet {netuid} is full and no uid can be pruned",
        )
    # -- mutation --
    burn = s.burn
    st.account_mut(signer).balance -= burn
    gm = st.globals_mut()
    gm.issuance -= burn  # recycled: lowers issuance, delaying halvings
    gm.total_recycled += burn
    claim_hotkey(st, hotkey, signer)
    sm = st.subnet_mut(netuid)
    sm.regs_this_block, sm.regs_block = regs_now + 1, ctx.block
    sm.regs_this_interval += 1
    uid = add_neuron(st, ctx, netuid, hotkey, uid)
    ctx.events[-1]["burn"] = burn


def adjust_registrations(st: State, block: int) -> None:
    """Every adjustment_interval blocks move the burn toward the target registrations."""
    for netuid in st.user_subnets():
        s = st.subnets[netuid]
        hp = s.hp
        if block - s.last_adjustment_block >= hp.adjustment_interval:
            sm = st.subnet_mut(netuid)
            sm.burn = adjust_burn(
                s.burn,
                s.regs_this_interval,
                hp.target_registrations_per_interval,
                hp.adjustment_alpha,
                hp.min_burn,
                hp.max_burn,
            )
            sm.regs_this_interval = 0
            sm.last_adjustment_block = block
