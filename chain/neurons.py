"""Neuron (UID) registration on a subnet: append or replace the prune candidate."""

from __future__ import annotations

from .context import Ctx
from .errors import require
from .registration import Candidate, is_immune, prune_candidate
from .state import ROOT_NETUID, Neuron, State


def ensure_hotkey(st: State, hotkey: str, coldkey: str) -> None:
    """Check that ``hotkey`` is new or owned by ``coldkey`` (no mutation)."""
    hk = st.hotkeys.get(hotkey)
    require(
        hk is None or hk.owner == coldkey,
        "NonAssociatedColdKey",
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


def root_replacement_uid(st: State, new_hotkey: str) -> int | None:
    """On a full root network: the lowest-stake member (ties: lowest uid) if the newcomer has more."""
    s = st.subnets[ROOT_NETUID]
    lowest = min(s.neurons, key=lambda n: (st.stake_of(n.hotkey), n.uid))
    return lowest.uid if st.stake_of(new_hotkey) > st.stake_of(lowest.hotkey) else None


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
        ctx.emit("NeuronDeregistered", netuid=netuid, uid=new_uid, hotkey=old.hotkey)
    ctx.emit("NeuronRegistered", netuid=netuid, uid=new_uid, hotkey=hotkey)
    return new_uid
