"""Registration economics as pure functions: burn adjustment, lock cost, prune candidates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .units import U64_MAX


def adjust_burn(
    burn: int, regs: int, target: int, alpha_u64: int, min_burn: int, max_burn: int
) -> int:
    """Next burn after an adjustment interval (Subtensor's legacy rule, integer math).

    proposed = burn * (regs + target) / (2 * target);
    next = alpha * burn + (1 - alpha) * proposed, clamped to [min_burn, max_burn].
    """
    if target <= 0:
        return max(min_burn, min(max_burn, burn))
    proposed = burn * (regs + target) // (2 * target)
    nxt = (alpha_u64 * burn + (U64_MAX - alpha_u64) * proposed) // U64_MAX
    return max(min_burn, min(max_burn, nxt))


def lock_cost(
    now: int, last_lock: int, last_lock_block: int | None, min_lock: int, reduction_interval: int
) -> int:
    """Subnet lock cost: doubles after a registration, then decays linearly to ``min_lock``.

    cost = max(min_lock, mult * last_lock - (last_lock / interval) * (now - last_lock_block)),
    mult = 1 before the first registration, else 2.
    """
    if last_lock_block is None:
        return max(min_lock, last_lock)
    decay = (last_lock // max(1, reduction_interval)) * max(0, now - last_lock_block)
    return max(min_lock, 2 * last_lock - decay)


@dataclass(frozen=True)
class Candidate:
    """What the prune choice looks at for one UID (or subnet)."""

    id: int
    score: int
    registered_at: int
    immune: bool
    protected: bool = False  # never pruned (the subnet owner's hotkey)


def prune_candidate(cands: Sequence[Candidate]) -> int | None:
    """The id to replace: lowest score among non-immune (ties: earliest registration, lowest id);
    if all are immune, the same order among the immune ones; protected ones never."""
    pool = [c for c in cands if not c.protected]
    if not pool:
        return None
    non_immune = [c for c in pool if not c.immune]
    chosen = min(non_immune or pool, key=lambda c: (c.score, c.registered_at, c.id))
    return chosen.id


def subnet_to_prune(cands: Sequence[Candidate]) -> int | None:
    """The subnet to prune: non-immune with the lowest emission (ties: oldest, lowest netuid).

    Unlike neurons, if every subnet is immune nothing is pruned (AllNetworksInImmunity).
    """
    pool = [c for c in cands if not c.immune and not c.protected]
    if not pool:
        return None
    return min(pool, key=lambda c: (c.score, c.registered_at, c.id)).id


def is_immune(now: int, registered_at: int, period: int) -> bool:
    """Immune while now - registered_at < period."""
    return now - registered_at < period
