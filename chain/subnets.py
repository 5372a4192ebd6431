"""Subnet lifecycle: root network genesis, registration with lock cost, pruning, dissolution,
and the emission shares that the root network assigns."""

from __future__ import annotations

from dataclasses import replace

from .context import Ctx
from .emission import equal_shares, root_shares
from .params import Hyperparams
from .registration import Candidate, is_immune, lock_cost, subnet_to_prune
from .state import ROOT_NETUID, State, Subnet


def root_hyperparams(st: State) -> Hyperparams:
    """netuid 0: 64 root validators, tempo root_tempo, no minimum weights."""
    c = st.config
    return replace(
        c.default_hyperparams,
        tempo=c.root_tempo,
        kappa=c.root_kappa,
        rho=c.root_rho,
        max_allowed_uids=c.root_max_uids,
        max_allowed_validators=c.root_max_uids,
        min_allowed_weights=0,
        weights_rate_limit=c.root_weights_rate_limit,
        registration_allowed=False,  # root_register only; root earns no emission itself
        max_registrations_per_block=c.root_max_uids,
        target_registrations_per_interval=c.root_max_uids,
    )


def create_root(st: State) -> None:
    """Create the root network at genesis."""
    st.insert_subnet(
        Subnet(
            netuid=ROOT_NETUID,
            owner_coldkey=None,
            owner_hotkey=None,
            registered_at=0,
            hp=root_hyperparams(st),
        )
    )


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
        ctx.emit("NeuronDeregistered", netuid=netuid, uid=n.uid, hotkey=n.hotkey)
    ctx.emit(
        "SubnetDeregistered",
        netuid=netuid,
        owner=s.owner_coldkey,
        lock_returned=s.lock,
        reason=reason,
    )
    update_shares(st)


def update_shares(st: State) -> None:
    """Recompute every subnet's emission share from root stake and root weights."""
    root = st.subnets[ROOT_NETUID]
    netuids = st.user_subnets()
    eligible = [n for n in netuids if st.subnets[n].hp.registration_allowed]
    shares = (
        root_shares(
            stakes=[st.stake_of(n.hotkey) for n in root.neurons],
            weights=[n.weights for n in root.neurons],
            netuids=eligible,
            kappa_u16=root.hp.kappa,
            rho=root.hp.rho,
            eligible=eligible,
        )
        if root.neurons
        else equal_shares(eligible)
    )
    for n in netuids:
        share = shares.get(n, 0)
        if st.subnets[n].emission_share != share:
            st.subnet_mut(n).emission_share = share
