"""Administration of a subnet by its owner or the sudo key: hyperparameters, bonds reset."""

from __future__ import annotations

from typing import Any

from subnetes.wire.events import EventKind

from ..context import Ctx
from ..errors import ErrorName, fail, require
from ..params import ROOT_ONLY_HYPERPARAMS, check_hyperparam
from ..state import State
from .common import get_subnet, is_sudo, require_owner_or_sudo
from .root import update_shares


def set_hyperparameter(
    st: State, ctx: Ctx, signer: str, a: dict[str, Any], sudo: bool = False
) -> None:
    """The owner (or sudo) sets one hyperparameter; root-only ones need sudo on Subtensor-like
    networks (``hyperparameter_authority``)."""
    s = get_subnet(st, a["netuid"])
    name, value = a["name"], a["value"]
    signer_is_sudo = is_sudo(st, signer)
    if sudo:
        require(signer_is_sudo, ErrorName.NOT_SUDO, "only the sudo key may call sudo_*")
    else:
        require(
            signer == s.owner_coldkey or signer_is_sudo,
            ErrorName.NOT_SUBNET_OWNER,
            f"only the owner of subnet {s.netuid} may set its hyperparameters",
        )
        if st.config.hyperparameter_authority == "subtensor" and name in ROOT_ONLY_HYPERPARAMS:
            require(signer_is_sudo, ErrorName.NOT_SUDO, f"{name} is root-only on this network")
    apply_hyperparameter(st, ctx, s.netuid, name, value)


def apply_hyperparameter(st: State, ctx: Ctx, netuid: int, name: str, value: Any) -> None:
    """Set subnet ``netuid``'s hyperparameter once the caller's authority is checked (the
    owner, sudo, or a passed governance proposal); checks the value before changing anything."""
    s = st.subnets[netuid]
    try:
        hp = check_hyperparam(s.hp, name, value)
    except ValueError as e:
        fail(ErrorName.INVALID_HYPERPARAMETER, str(e))
    if name == "max_allowed_uids":
        require(
            value >= len(s.neurons),
            ErrorName.MAX_ALLOWED_UIDS_LESS_THAN_CURRENT_UIDS,
            f"max_allowed_uids {value} is below the current {len(s.neurons)} UIDs",
        )
    st.subnet_mut(s.netuid).hp = hp
    if name == "registration_allowed":
        update_shares(st)
    ctx.emit(EventKind.HYPERPARAMETER_SET, netuid=s.netuid, name=name, value=value)


def sudo_set_hyperparameter(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Sudo sets any hyperparameter."""
    set_hyperparameter(st, ctx, signer, a, sudo=True)


def reset_bonds(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """The owner (or sudo) clears the bonds on ``uid`` (every bond when ``uid`` is None)."""
    s = get_subnet(st, a["netuid"])
    require_owner_or_sudo(st, s, signer, "reset its bonds")
    uid = a["uid"]
    require(
        uid is None or uid < len(s.neurons), ErrorName.UID_NOT_FOUND, f"uid {uid} does not exist"
    )
    for n in s.neurons:
        if uid is None and n.bonds:
            st.neuron_mut(s.netuid, n.uid).bonds.clear()
        elif uid is not None and uid in n.bonds:
            st.neuron_mut(s.netuid, n.uid).bonds.pop(uid)
    ctx.emit(EventKind.BONDS_RESET, netuid=s.netuid, uid=uid)
