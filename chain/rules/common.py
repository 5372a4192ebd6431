"""Lookups and checks shared by several rule domains."""

from __future__ import annotations

from ..errors import ErrorName, require
from ..state import ROOT_NETUID, Hotkey, State, Subnet
from ..units import fmt_tao


def get_subnet(st: State, netuid: int, allow_root: bool = False) -> Subnet:
    """Subnet ``netuid``, or reject the extrinsic (root only when ``allow_root``)."""
    s = st.subnets.get(netuid)
    require(s is not None, ErrorName.SUB_NETWORK_DOES_NOT_EXIST, f"subnet {netuid} does not exist")
    assert s is not None
    if not allow_root:
        require(
            netuid != ROOT_NETUID,
            ErrorName.ROOT_NETWORK_NOT_ALLOWED,
            "this call is not allowed on root (netuid 0)",
        )
    return s


def registered_uid(s: Subnet, hotkey: str) -> int:
    """The UID ``hotkey`` holds on subnet ``s``, or reject the extrinsic."""
    uid = s.uid_of.get(hotkey)
    require(
        uid is not None,
        ErrorName.HOT_KEY_NOT_REGISTERED_IN_SUB_NET,
        f"hotkey {hotkey} is not registered on subnet {s.netuid}",
    )
    assert uid is not None
    return uid


def require_balance(st: State, who: str, amount: int, error: ErrorName, what: str) -> None:
    """Reject with ``error`` unless ``who`` can pay ``amount`` rao for ``what``."""
    have = st.balance(who)
    require(
        have >= amount, error, f"{what} needs {fmt_tao(amount)} TAO, balance is {fmt_tao(have)}"
    )


def is_sudo(st: State, signer: str) -> bool:
    """True when ``signer`` is the network's sudo key (dev and test networks have one)."""
    return st.config.sudo_key is not None and signer == st.config.sudo_key


def get_hotkey(st: State, hotkey: str) -> Hotkey:
    """The hotkey's account, or reject the extrinsic (it was never registered anywhere)."""
    hk = st.hotkeys.get(hotkey)
    require(
        hk is not None,
        ErrorName.HOT_KEY_ACCOUNT_NOT_EXISTS,
        f"hotkey {hotkey} is not registered anywhere",
    )
    assert hk is not None
    return hk


def require_owner_or_sudo(st: State, s: Subnet, signer: str, action: str) -> None:
    """Reject unless ``signer`` owns subnet ``s`` (its coldkey) or is the sudo key."""
    require(
        signer == s.owner_coldkey or is_sudo(st, signer),
        ErrorName.NOT_SUBNET_OWNER,
        f"only the owner of subnet {s.netuid} may {action}",
    )
