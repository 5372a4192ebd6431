"""Scores to weights: a moving average per UID and the u16 weight vector the chain takes."""

from __future__ import annotations

import math
from collections.abc import Mapping

from subnetes.chain.units import U16_MAX


def ema_update(
    prev: Mapping[int, float], scores: Mapping[int, float], alpha: float
) -> dict[int, float]:
    """Exponential moving average: ``alpha * new + (1 - alpha) * old`` per scored UID.

    A UID seen for the first time starts at its score (no slow ramp from 0); UIDs not scored
    this round keep their value.
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError("alpha must be in (0, 1]")
    out = dict(prev)
    for uid, s in scores.items():
        out[uid] = s if uid not in prev else alpha * s + (1.0 - alpha) * prev[uid]
    return out


def to_u16_weights(scores: Mapping[int, float]) -> tuple[list[int], list[int]]:
    """Positive, finite scores to ``(uids, values)``: sorted by UID, max-upscaled to 65535.

    The largest score maps to 65535 and the others keep their ratio to it (as Subtensor's
    ``convert_weights_and_uids_for_emit`` does); UIDs that round to 0 are dropped, since a zero
    weight says nothing. Empty when no score is positive.
    """
    pos = {u: s for u, s in scores.items() if math.isfinite(s) and s > 0.0}
    if not pos:
        return [], []
    top = max(pos.values())
    uids, values = [], []
    for uid in sorted(pos):
        v = round(pos[uid] / top * U16_MAX)
        if v > 0:
            uids.append(uid)
            values.append(v)
    return uids, values


def normalized(values: list[int]) -> list[float]:
    """u16 weights as fractions summing to 1 (for logs and metrics)."""
    total = sum(values)
    return [v / total for v in values] if total else []
