"""Transaction fees: who pays, how much, and the charge when an extrinsic is applied.

The fee of an extrinsic is ``tx_fee_base + tx_fee_per_byte * size + tip``, ``size`` being the
length of its canonical JSON body (what is stored in the block). It is taken from the signer's
free balance when the extrinsic is applied, inside the same :meth:`State.atomic` as the call
(a rejected extrinsic pays nothing and changes nothing), and burned: issuance falls by it. We
have no block author to pay it to (Subtensor gives fees to the author); burning keeps
"balances + stake + locks == issuance" exact. A ``FeePaid`` event records each charge.

Like Subtensor's ``Pays::No`` calls, some calls pay no fee (the tip is still charged):

* ``set_weights``, ``commit_weights``, ``reveal_weights``, ``serve_axon`` signed by a hotkey
  registered on the call's ``netuid``; ``set_root_weights`` by a hotkey registered on root.
  Hotkeys hold no balance by design; their spam is bounded by the rate limits and the pool's
  per-signer limit. An unregistered signer pays (and so needs a balance to be admitted).
* ``burned_register``: registration pays its burn instead (the coldkey must hold the burn).
* ``faucet`` (dev networks only: it is how a fresh key gets its first balance; elsewhere it
  is refused at submit and fails its rule in the block).
* ``sudo_*`` signed by the sudo key (Substrate's sudo pays no fee).
"""

from __future__ import annotations

from subnetes.wire.codec import canonical
from subnetes.wire.events import EventKind
from subnetes.wire.signing import Extrinsic

from .context import Ctx
from .errors import ErrorName, fail
from .state import ROOT_NETUID, State
from .units import fmt_tao

# Calls a registered hotkey makes for free (Subtensor: DispatchClass::Normal, Pays::No).
HOTKEY_CALLS = frozenset({"set_weights", "commit_weights", "reveal_weights", "serve_axon"})


def size_of(xt: Extrinsic) -> int:
    """Bytes the fee is charged on: the canonical JSON of the whole body."""
    return len(canonical(xt.body()))


def _registered(st: State, hotkey: str, netuid: object) -> bool:
    sub = st.subnets.get(netuid) if isinstance(netuid, int) else None
    return sub is not None and hotkey in sub.uid_of


def pays_fee(st: State, xt: Extrinsic) -> bool:
    """Whether ``xt`` pays the base and byte fee (see the module doc for the free calls)."""
    if xt.call in HOTKEY_CALLS:
        return not _registered(st, xt.signer, xt.args.get("netuid"))
    if xt.call == "set_root_weights":
        return not _registered(st, xt.signer, ROOT_NETUID)
    if xt.call == "burned_register":
        return False
    if xt.call == "faucet":  # refused at submit where it is disabled (admission.py)
        return False
    if xt.call.startswith("sudo_"):
        return xt.signer != st.config.sudo_key
    return True


def fee_of(st: State, xt: Extrinsic, size: int | None = None) -> int:
    """Rao taken from the signer when ``xt`` is applied now: fee (if it pays one) + tip."""
    fee = 0
    if pays_fee(st, xt):
        c = st.config
        fee = c.tx_fee_base + c.tx_fee_per_byte * (size_of(xt) if size is None else size)
    return fee + xt.tip


def charge_fee(st: State, ctx: Ctx, xt: Extrinsic, total: int) -> None:
    """Take ``total`` (:func:`fee_of`, fee + tip) from the signer and burn it; ``CannotPayFee``
    if it can't."""
    if total == 0:
        return
    balance = st.balance(xt.signer)
    if balance < total:
        fail(
            ErrorName.CANNOT_PAY_FEE,
            f"fee {fmt_tao(total)} TAO exceeds the free balance {fmt_tao(balance)} TAO",
        )
    st.account_mut(xt.signer).balance -= total
    st.globals_mut().issuance -= total
    ctx.emit(EventKind.FEE_PAID, who=xt.signer, fee=total - xt.tip, tip=xt.tip)
