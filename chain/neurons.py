"""Neuron (UID) registration on a subnet: append or replace the prune candidate."""

from __future__ import annotations

from .context import Ctx
from .errors import require
from .registration import Candidate, is_immune, prune_candidate
from .state import ROOT_NETUID, Hotkey, Neuron, State


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
        st.hotkeys[hotkey] = Hotkey(owner=coldkey, take=st.config.default_take)
        st.dirty.add(f"h/{hotkey}")


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
    s = st.subnet_mut(netuid)
    now = ctx.block
    fresh = Neuron(uid=0, hotkey=hotkey, registered_at=now, last_update=now)
    if uid is None:
        uid = fresh.uid = len(s.neurons)
        s.neurons.append(fresh)
    else:
        old = s.neurons[uid]
        fresh.uid = uid
        s.uid_of.pop(old.hotkey, None)
        s.neurons[uid] = fresh
        # Nobody keeps weights or bonds on the new occupant (Subtensor's clear_neuron).
        for other in s.neurons:
            if uid in other.weights or uid in other.bonds:
                other.weights.pop(uid, None)
                other.bonds.pop(uid, None)
                st.dirty.add(f"n/{netuid}/{other.uid}")
        ctx.emit("NeuronDeregistered", netuid=netuid, uid=uid, hotkey=old.hotkey)
    st.dirty.add(f"n/{netuid}/{uid}")
    s.uid_of[hotkey] = uid
    ctx.emit("NeuronRegistered", netuid=netuid, uid=uid, hotkey=hotkey)
    return uid
