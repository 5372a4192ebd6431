"""Applying extrinsics: the nonce check and the call, all or nothing.

Their wire shape, signing and signature check live in the leaf ``subnetes.wire.signing`` (so
clients sign without importing the chain's state machine); re-exported here for the chain.
"""

from __future__ import annotations

from subnetes.wire.signing import (
    FIELDS,
    MAX_DEPTH,
    MAX_EXTRINSIC_BYTES,
    Extrinsic,
    parse,
    sign,
    verify_signature,
)

from .context import Ctx
from .errors import ChainError, ErrorName, fail, require
from .fees import charge_fee, fee_of
from .rules.dispatch import apply_call
from .state import State

# The wire part (shape, signing, verification) lives in subnetes.wire.signing; re-exported here
# for the chain's own modules.
__all__ = [
    "FIELDS",
    "MAX_DEPTH",
    "MAX_EXTRINSIC_BYTES",
    "Extrinsic",
    "apply_extrinsic",
    "check_nonce",
    "parse",
    "sign",
    "verify_signature",
]


def check_nonce(st: State, xt: Extrinsic) -> None:
    """The nonce must equal the signer's next nonce."""
    expected = st.nonce(xt.signer)
    if xt.nonce < expected:
        fail(ErrorName.STALE_NONCE, f"nonce {xt.nonce} already used; next nonce is {expected}")
    require(
        xt.nonce == expected,
        ErrorName.FUTURE_NONCE,
        f"nonce {xt.nonce} is ahead; next nonce is {expected}",
    )


def apply_extrinsic(
    st: State, ctx: Ctx, xt: Extrinsic, genesis: str, verified: bool = False
) -> None:
    """Verify then apply, all or nothing; charges the fee (``fees.py``) and bumps the signer's
    nonce on success.

    On any error (a rule's ChainError, or a bug surfaced as ``InternalError``) the state, its
    dirty set and ``ctx.events`` are exactly as before: the call runs inside
    :meth:`State.atomic`, which rolls back whatever the rule changed before it failed.
    """
    if not verified:
        verify_signature(xt, genesis)
    check_nonce(st, xt)
    first_event = len(ctx.events)
    try:
        with st.atomic():
            # Who pays is judged on the state before the call; the fee is taken after it, so a
            # call's own refusal names the real problem (and its events come first).
            fee = fee_of(st, xt)
            try:
                apply_call(st, ctx, xt.signer, xt.call, xt.args)
            except ChainError:
                raise
            except Exception as e:  # a bug in a rule: rolled back, answered without a 500
                raise ChainError(ErrorName.INTERNAL_ERROR, f"{type(e).__name__}: {e}") from e
            charge_fee(st, ctx, xt, fee)
            st.account_mut(xt.signer).nonce += 1
    except BaseException:
        del ctx.events[first_event:]
        raise
