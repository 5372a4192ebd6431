"""Subnets: registration with a lock cost (pruning the weakest subnet when the network is full)
and dissolution, which returns the lock."""

from __future__ import annotations

from typing import Any

from subnetes.wire.events import EventKind

from ..context import Ctx
from ..errors import ErrorName, require
from ..registration import Candidate, is_immune, lock_cost, subnet_to_prune
from ..state import ROOT_NETUID, State, Subnet
from ..units import fmt_tao
from .common import get_subnet, require_balance, require_owner_or_sudo
from .registration import add_neuron, claim_hotkey, ensure_hotkey
from .root import update_shares


def current_lock_cost(st: State, now: int) -> int:
    """The lock a register_network would pay at block ``now``."""
    c = st.config
    return lock_cost(
        now,
        st.g.last_lock,
        st.g.last_lock_block,
        c.network_min_lock,
        c.network_lock_reduction_interval,
    )


def next_netuid(st: State, now: int) -> tuple[int | None, int | None]:
    """(netuid to use, netuid to prune first) for a new subnet; (None, None) if all are immune."""
    user = st.user_subnets()
    if len(user) < st.config.subnet_limit:
        n = 1
        while n in st.subnets:
            n += 1
        return n, None
    cands = [
        Candidate(
            id=s.netuid,
            score=s.emission_share,
            registered_at=s.registered_at,
            immune=is_immune(now, s.registered_at, st.config.network_immunity_period),
        )
        for s in (st.subnets[n] for n in user)
    ]
    victim = subnet_to_prune(cands)
    return victim, victim


def remove_subnet(st: State, ctx: Ctx, netuid: int, reason: str) -> None:
    """Remove a subnet: its neurons, weights, bonds and parameters; return the lock to its owner.

    Stake lives on hotkeys and is untouched. Root weights on the subnet are dropped.
    """
    s = st.remove_subnet(netuid)
    if s.owner_coldkey and s.lock:
        st.account_mut(s.owner_coldkey).balance += s.lock
    # Pending emission was never minted; dropping it keeps issuance exact.
    root = st.subnets[ROOT_NETUID]
    for n in root.neurons:
        if netuid in n.weights:
            st.neuron_mut(ROOT_NETUID, n.uid).weights.pop(netuid)
    for n in s.neurons:
        ctx.emit(EventKind.NEURON_DEREGISTERED, netuid=netuid, uid=n.uid, hotkey=n.hotkey)
    ctx.emit(
        EventKind.SUBNET_DEREGISTERED,
        netuid=netuid,
        owner=s.owner_coldkey,
        lock_returned=s.lock,
        reason=reason,
    )
    update_shares(st)


def register_network(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Create a subnet owned by the signer, paying the lock; ``hotkey`` becomes UID 0."""
    now, hotkey = ctx.block, a["hotkey"]
    g, c = st.g, st.config
    require(
        g.last_lock_block is None or now - g.last_lock_block >= c.network_rate_limit,
        ErrorName.NETWORK_TX_RATE_LIMIT_EXCEEDED,
        f"one subnet registration per {c.network_rate_limit} blocks; next at block "
        f"{(g.last_lock_block or 0) + c.network_rate_limit}",
    )
    cost = current_lock_cost(st, now)
    if a["max_lock_cost"] is not None:
        require(
            cost <= a["max_lock_cost"],
            ErrorName.LOCK_COST_EXCEEDS_LIMIT,
            f"lock cost {fmt_tao(cost)} TAO exceeds the limit {fmt_tao(a['max_lock_cost'])} TAO",
        )
    require_balance(st, signer, cost, ErrorName.CANNOT_AFFORD_LOCK_COST, "subnet registration")
    ensure_hotkey(st, hotkey, signer)
    netuid, victim = next_netuid(st, now)
    require(
        netuid is not None,
        ErrorName.ALL_NETWORKS_IN_IMMUNITY,
        f"the network is full ({c.subnet_limit} subnets) and every subnet is immune",
    )
    assert netuid is not None
    # -- mutation --
    if victim is not None:
        remove_subnet(st, ctx, victim, reason="pruned")
    st.account_mut(signer).balance -= cost
    gm = st.globals_mut()
    gm.last_lock, gm.last_lock_block = cost, now
    claim_hotkey(st, hotkey, signer)
    st.insert_subnet(
        Subnet(
            netuid=netuid,
            owner_coldkey=signer,
            owner_hotkey=hotkey,
            registered_at=now,
            hp=c.default_hyperparams,
            lock=cost,
            burn=max(
                c.default_hyperparams.min_burn, min(c.default_hyperparams.max_burn, c.initial_burn)
            ),
            last_adjustment_block=now,
            last_epoch_block=now,
        )
    )
    ctx.emit(
        EventKind.SUBNET_REGISTERED, netuid=netuid, owner=signer, owner_hotkey=hotkey, lock=cost
    )
    add_neuron(st, ctx, netuid, hotkey, None)
    update_shares(st)


def dissolve_network(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """The owner (or sudo) removes a subnet; its lock returns to the owner."""
    s = get_subnet(st, a["netuid"])
    require_owner_or_sudo(st, s, signer, "dissolve it")
    remove_subnet(st, ctx, s.netuid, reason="dissolved")
