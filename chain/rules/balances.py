"""Balances: transfers between coldkeys, the dev faucet, sudo's balance override."""

from __future__ import annotations

from typing import Any

from subnetes.wire.events import EventKind

from ..context import Ctx
from ..errors import ErrorName, require
from ..state import State
from ..units import fmt_tao
from .common import is_sudo, require_balance


def transfer(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Move ``amount`` rao from the signer to ``dest``."""
    require(a["amount"] > 0, ErrorName.AMOUNT_TOO_LOW, "transfer amount must be positive")
    require_balance(st, signer, a["amount"], ErrorName.INSUFFICIENT_BALANCE, "transfer")
    st.account_mut(signer).balance -= a["amount"]
    st.account_mut(a["dest"]).balance += a["amount"]
    ctx.emit(EventKind.TRANSFER, source=signer, dest=a["dest"], amount=a["amount"])


def faucet(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Dev networks only: mint ``amount`` rao to ``dest`` (default: the signer)."""
    require(
        st.config.faucet_enabled,
        ErrorName.FAUCET_DISABLED,
        "the faucet exists only on dev networks",
    )
    amount = a["amount"]
    require(
        0 < amount <= st.config.faucet_max,
        ErrorName.FAUCET_AMOUNT_TOO_HIGH,
        f"faucet amount must be in (0, {fmt_tao(st.config.faucet_max)}] TAO",
    )
    dest = a["dest"] or signer
    st.account_mut(dest).balance += amount
    st.globals_mut().issuance += amount
    ctx.emit(EventKind.FAUCET, dest=dest, amount=amount)


def sudo_set_balance(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Sudo: set ``who``'s free balance (issuance follows the difference)."""
    require(is_sudo(st, signer), ErrorName.NOT_SUDO, "only the sudo key may call sudo_*")
    old = st.balance(a["who"])
    st.account_mut(a["who"]).balance = a["amount"]
    st.globals_mut().issuance += a["amount"] - old
    ctx.emit(EventKind.BALANCE_SET, who=a["who"], amount=a["amount"])
