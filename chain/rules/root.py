"""The root network (netuid 0): its validators, their weights over subnets, and the emission
share of every subnet that follows from root stake and root weights."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..context import Ctx
from ..emission import equal_shares, root_shares
from ..errors import ErrorName, require
from ..params import Hyperparams
from ..state import ROOT_NETUID, State, Subnet
from .registration import add_neuron, claim_hotkey, ensure_hotkey
from .weights import check_weights, store_weights


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


def root_replacement_uid(st: State, new_hotkey: str) -> int | None:
    """On a full root network: the lowest-stake member (ties: lowest uid) if the newcomer has more."""
    s = st.subnets[ROOT_NETUID]
    lowest = min(s.neurons, key=lambda n: (st.stake_of(n.hotkey), n.uid))
    return lowest.uid if st.stake_of(new_hotkey) > st.stake_of(lowest.hotkey) else None


def root_register(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Make ``hotkey`` a root validator (replacing the lowest-stake one when root is full)."""
    hotkey = a["hotkey"]
    root = st.subnets[ROOT_NETUID]
    require(
        hotkey not in root.uid_of,
        ErrorName.HOT_KEY_ALREADY_REGISTERED_IN_SUB_NET,
        f"hotkey {hotkey} is already a root validator",
    )
    ensure_hotkey(st, hotkey, signer)
    uid = None
    if len(root.neurons) >= root.hp.max_allowed_uids:
        uid = root_replacement_uid(st, hotkey)
        require(
            uid is not None,
            ErrorName.STAKE_TOO_LOW_FOR_ROOT,
            "root is full and the hotkey has no more stake than the lowest root validator",
        )
    claim_hotkey(st, hotkey, signer)
    add_neuron(st, ctx, ROOT_NETUID, hotkey, uid)
    update_shares(st)


def set_root_weights(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """A root validator sets its weights over subnets (netuids)."""
    s = st.subnets[ROOT_NETUID]
    uid, w = check_weights(
        st, s, signer, a["netuids"], a["values"], a["version_key"], ctx.block, True
    )
    store_weights(st, ctx, ROOT_NETUID, uid, signer, w)


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
