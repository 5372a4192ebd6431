"""Emission rules as pure functions: halvings by issuance, root shares, epoch split, take."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .units import RAO_PER_TAO, SHARE_ONE, TOTAL_SUPPLY, U16_MAX


def block_emission(issuance: int, base: int = RAO_PER_TAO, supply: int = TOTAL_SUPPLY) -> int:
    """Block emission (rao) for total issuance I: base / 2^k, k = floor(log2(1/(1 - I/supply))).

    Computed exactly in integers: k is the number of halvings whose issuance threshold
    supply * (1 - 2^-k) has been reached, i.e. the largest k with 2^k * (supply - I) <= supply.
    """
    if issuance >= supply:
        return 0
    remaining = supply - max(0, issuance)
    k = 0
    while (remaining << (k + 1)) <= supply:
        k += 1
    return base >> k


def owner_cut(pending: int, cut_u16: int) -> int:
    """The subnet owner's share (floored) of a drained pending emission."""
    return pending * cut_u16 // U16_MAX


def root_shares(
    stakes: Sequence[int],
    weights: Sequence[Mapping[int, int]],
    netuids: Sequence[int],
    kappa_u16: int,
    rho: int,
    eligible: Sequence[int],
) -> dict[int, int]:
    """Subnet emission shares (parts per SHARE_ONE) from the root network (chain.md).

    rank_j = sum_i W_ij S_i; trust_j = stake share of validators with W_ij > 0;
    consensus_j = sigmoid(rho (trust_j - kappa)); share = normalize(consensus * rank).
    With no root weights on any eligible subnet, shares are equal across ``eligible``.
    Float math in plain Python (deterministic per platform); the result is integer.
    """
    total_stake = sum(stakes)
    rank = dict.fromkeys(netuids, 0.0)
    trust = dict.fromkeys(netuids, 0.0)
    if total_stake > 0:
        for s_i, row in zip(stakes, weights, strict=True):
            row_sum = sum(v for j, v in row.items() if j in rank)
            if s_i == 0 or row_sum == 0:
                continue
            s = s_i / total_stake
            for j, v in row.items():
                if j in rank and v > 0:
                    rank[j] += s * v / row_sum
                    trust[j] += s
    kappa = kappa_u16 / U16_MAX
    score = {
        j: rank[j] / (1.0 + math.exp(-rho * (trust[j] - kappa))) if rank[j] > 0 else 0.0
        for j in netuids
    }
    total = sum(score.values())
    if total <= 0:
        return equal_shares(eligible)
    return {j: int(score[j] / total * SHARE_ONE) for j in netuids if score[j] > 0}


def equal_shares(netuids: Sequence[int]) -> dict[int, int]:
    """Equal integer shares (floored) across ``netuids``."""
    if not netuids:
        return {}
    each = SHARE_ONE // len(netuids)
    return dict.fromkeys(netuids, each)


def subnet_block_emission(block_em: int, share: int) -> int:
    """rao a subnet accrues this block from its share (parts per SHARE_ONE)."""
    return block_em * share // SHARE_ONE


def split_dividends(
    amount: int, take_u16: int, owner: str, stakes: Mapping[str, int]
) -> dict[str, int]:
    """Pay validator dividends: delegate take to the owner, the rest pro rata to stake (floored).

    Returns coldkey -> rao credited as stake on the validator's hotkey. With no stake the
    owner receives everything.
    """
    take = amount * take_u16 // U16_MAX
    rest = amount - take
    out: dict[str, int] = {owner: take}
    total = sum(stakes.values())
    if total <= 0:
        out[owner] += rest
        return {k: v for k, v in out.items() if v > 0}
    for ck in sorted(stakes):
        share = rest * stakes[ck] // total
        if share:
            out[ck] = out.get(ck, 0) + share
    return {k: v for k, v in out.items() if v > 0}
