"""Staking: coldkeys stake on hotkeys and take it back; a hotkey's owner sets its delegate take."""

from __future__ import annotations

from typing import Any

from subnetes.wire.events import EventKind

from ..context import Ctx
from ..errors import ErrorName, require
from ..state import State
from ..units import fmt_tao
from .common import get_hotkey, require_balance


def add_stake(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Move ``amount`` rao of the signer's balance into stake on ``hotkey``."""
    hotkey, amount = a["hotkey"], a["amount"]
    require(amount > 0, ErrorName.AMOUNT_TOO_LOW, "stake amount must be positive")
    require(
        hotkey in st.hotkeys,
        ErrorName.HOT_KEY_ACCOUNT_NOT_EXISTS,
        f"hotkey {hotkey} is not registered anywhere",
    )
    require_balance(st, signer, amount, ErrorName.NOT_ENOUGH_BALANCE_TO_STAKE, "add_stake")
    st.account_mut(signer).balance -= amount
    hk = st.hotkey_mut(hotkey)
    hk.stakes[signer] = hk.stakes.get(signer, 0) + amount
    ctx.emit(
        EventKind.STAKE_CHANGED,
        hotkey=hotkey,
        coldkey=signer,
        delta=amount,
        stake=hk.stakes[signer],
        total_stake=hk.total_stake,
    )


def remove_stake(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Move ``amount`` rao of the signer's stake on ``hotkey`` back to its balance."""
    hotkey, amount = a["hotkey"], a["amount"]
    require(amount > 0, ErrorName.AMOUNT_TOO_LOW, "unstake amount must be positive")
    hk = get_hotkey(st, hotkey)
    have = hk.stakes.get(signer, 0)
    require(
        have >= amount,
        ErrorName.NOT_ENOUGH_STAKE_TO_WITHDRAW,
        f"stake of {signer} on {hotkey} is {fmt_tao(have)} TAO, cannot remove {fmt_tao(amount)}",
    )
    hk = st.hotkey_mut(hotkey)
    hk.stakes[signer] -= amount
    if hk.stakes[signer] == 0:
        del hk.stakes[signer]
    st.account_mut(signer).balance += amount
    ctx.emit(
        EventKind.STAKE_CHANGED,
        hotkey=hotkey,
        coldkey=signer,
        delta=-amount,
        stake=hk.stakes.get(signer, 0),
        total_stake=hk.total_stake,
    )


def set_take(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """The hotkey's owner sets its delegate take (increases are rate limited)."""
    hotkey, take = a["hotkey"], a["take"]
    hk = get_hotkey(st, hotkey)
    require(
        hk.owner == signer,
        ErrorName.NON_ASSOCIATED_COLD_KEY,
        f"hotkey {hotkey} is not owned by {signer}",
    )
    require(
        take <= st.config.max_take,
        ErrorName.DELEGATE_TAKE_TOO_HIGH,
        f"take {take} exceeds the maximum {st.config.max_take} (u16)",
    )
    if take > hk.take:
        limit = st.config.take_rate_limit
        require(
            ctx.block - hk.last_take_change >= limit or hk.last_take_change == 0,
            ErrorName.DELEGATE_TX_RATE_LIMIT_EXCEEDED,
            f"take increases at most once per {limit} blocks",
        )
    hkm = st.hotkey_mut(hotkey)
    hkm.take, hkm.last_take_change = take, ctx.block
    ctx.emit(EventKind.DELEGATE_TAKE_SET, hotkey=hotkey, take=take)
