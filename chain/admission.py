"""Admission at submit and the order of the queue (the node's transaction pool).

Before an extrinsic is queued (docs/specs/chain.md "Admission"), after its shape, signer,
genesis and signature are checked:

* its arguments must match the call's schema (``rules/dispatch.py``);
* its nonce must lie in the signer's window ``next .. next + per_signer - 1``;
* the signer may have at most ``per_signer`` extrinsics waiting (``TooManyPending``, 429);
* the queue holds at most ``max_count`` extrinsics and ``max_bytes`` bytes (``QueueFull``, 429);
* the signer's free balance must cover the fee and tip of this extrinsic plus those of its
  extrinsics already waiting (``CannotPayFee``, 402); ``burned_register`` must find the burn.

All of it is re-checked when the block is built (state may change meanwhile): admission only
keeps what cannot pay or cannot apply out of the queue, so spam costs fees.

The queue leaves by priority: higher tip first, then each signer's first waiting extrinsic
before anyone's second (round-robin between signers), then arrival; a signer's own
extrinsics always leave in nonce order. So one signer with a full window cannot push others
out of the next block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from subnetes.wire.signing import Extrinsic

from .errors import ErrorName, fail, require
from .extrinsic import check_nonce
from .fees import fee_of
from .rules.dispatch import validate_args
from .state import State
from .units import fmt_tao


@dataclass(frozen=True)
class PoolLimits:
    """Bounds of the queue (node policy, not chain state: each node may choose its own)."""

    max_count: int = 100_000
    # 16 MiB of canonical JSON bodies; decoded, a list of integers takes ~6x its JSON bytes in
    # Python, so the queue's memory stays near 100 MB at worst.
    max_bytes: int = 16 << 20
    per_signer: int = 64  # waiting extrinsics per signer, and how far ahead a nonce may be
    enabled: bool = True  # False: the old behaviour (signature and stale nonce only; bench)


class Queued(Protocol):
    """What the pool needs of a queued entry (the node's ``Pending``)."""

    @property
    def xt(self) -> Extrinsic: ...

    @property
    def size(self) -> int: ...

    @property
    def fee(self) -> int: ...


@dataclass
class Pool:
    """Bookkeeping of the queue: bytes, and per signer the count and the fees reserved."""

    limits: PoolLimits = field(default_factory=PoolLimits)
    count: int = 0
    bytes: int = 0
    pending: dict[str, int] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)

    def admit(self, st: State, xt: Extrinsic, size: int) -> int:
        """Raise the ChainError that keeps ``xt`` out of the queue, or return its fee + tip
        (what :meth:`add` reserves). ``st`` is the last committed state."""
        lim = self.limits
        if not lim.enabled:
            if xt.nonce < st.nonce(xt.signer):
                check_nonce(st, xt)
            require(
                self.count < lim.max_count,
                ErrorName.QUEUE_FULL,
                "too many extrinsics waiting; retry later",
            )
            return 0
        validate_args(xt.call, xt.args)
        nxt = st.nonce(xt.signer)
        if xt.nonce < nxt:
            check_nonce(st, xt)  # StaleNonce
        require(
            xt.nonce < nxt + lim.per_signer,
            ErrorName.FUTURE_NONCE,
            f"nonce {xt.nonce} is more than {lim.per_signer - 1} ahead of the next nonce {nxt}",
        )
        waiting = self.pending.get(xt.signer, 0)
        require(
            waiting < lim.per_signer,
            ErrorName.TOO_MANY_PENDING,
            f"{waiting} extrinsics of this signer are waiting (at most {lim.per_signer}); "
            "retry after the next block",
        )
        require(
            self.count < lim.max_count and self.bytes + size <= lim.max_bytes,
            ErrorName.QUEUE_FULL,
            f"the queue is full ({self.count} extrinsics, {self.bytes} bytes); retry later",
        )
        if xt.call == "faucet":
            require(
                st.config.faucet_enabled,
                ErrorName.FAUCET_DISABLED,
                "the faucet exists only on dev networks",
            )
        fee = fee_of(st, xt, size)
        have = st.balance(xt.signer)
        need = fee + self.reserved.get(xt.signer, 0)
        if fee and have < need:
            fail(
                ErrorName.CANNOT_PAY_FEE,
                f"fee and tip {fmt_tao(fee)} TAO (plus {fmt_tao(need - fee)} TAO for this "
                f"signer's waiting extrinsics) exceed the free balance {fmt_tao(have)} TAO",
            )
        if xt.call == "burned_register":
            sub = st.subnets.get(xt.args["netuid"])
            burn = sub.burn if sub is not None else 0
            require(
                have >= need + burn,
                ErrorName.NOT_ENOUGH_BALANCE_TO_STAKE,
                f"registration burn needs {fmt_tao(burn)} TAO, balance is {fmt_tao(have)}",
            )
        return fee

    def add(self, p: Queued) -> None:
        """Count a queued entry."""
        s = p.xt.signer
        self.count += 1
        self.bytes += p.size
        self.pending[s] = self.pending.get(s, 0) + 1
        self.reserved[s] = self.reserved.get(s, 0) + p.fee

    def remove(self, p: Queued) -> None:
        """Forget an entry that left the queue."""
        s = p.xt.signer
        self.count -= 1
        self.bytes -= p.size
        left = self.pending.get(s, 0) - 1
        fee = self.reserved.get(s, 0) - p.fee
        if left > 0:
            self.pending[s], self.reserved[s] = left, fee
        else:
            self.pending.pop(s, None)
            self.reserved.pop(s, None)


P = TypeVar("P", bound=Queued)


def by_priority(queue: Sequence[P]) -> list[P]:
    """``queue`` (in arrival order) in the order it leaves: tip, then round-robin between
    signers, then arrival; each signer's entries in nonce order (see the module doc)."""
    of_signer: dict[str, list[int]] = {}
    for i, p in enumerate(queue):
        of_signer.setdefault(p.xt.signer, []).append(i)
    rank = [0] * len(queue)
    for idx in of_signer.values():
        idx.sort(key=lambda i: (queue[i].xt.nonce, i))
        for r, i in enumerate(idx):
            rank[i] = r
    slots = sorted(range(len(queue)), key=lambda i: (-queue[i].xt.tip, rank[i], i))
    # Each signer keeps the slots its entries won, filled in nonce order: a high tip on a later
    # nonce lifts the signer's earlier nonces with it instead of jumping them.
    used = dict.fromkeys(of_signer, 0)
    out: list[P] = []
    for i in slots:
        s = queue[i].xt.signer
        out.append(queue[of_signer[s][used[s]]])
        used[s] += 1
    return out
