"""Scores from correctness and latency: a wrong answer scores 0, a faster right one scores more."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Latencies below this count as this, so loopback noise cannot make one miner infinitely better.
MIN_LATENCY_S = 1e-3


@dataclass(frozen=True)
class Outcome:
    """One miner's answer to one challenge: verified or not, and how long it took."""

    uid: int
    correct: bool
    latency_s: float | None  # None: no answer (timeout, refused, bad response)


def round_scores(outcomes: Iterable[Outcome], sharpness: float = 1.0) -> dict[int, float]:
    """Per-UID scores in [0, 1] for one round.

    Correct answers score ``(fastest / latency) ** sharpness``, so the fastest correct miner gets
    1 and one twice as slow gets 0.5 (sharpness 1); wrong or missing answers score 0.
    """
    outs = list(outcomes)
    good = [max(o.latency_s, MIN_LATENCY_S) for o in outs if o.correct and o.latency_s is not None]
    best = min(good, default=None)
    scores: dict[int, float] = {}
    for o in outs:
        if best is None or not o.correct or o.latency_s is None:
            scores[o.uid] = 0.0
        else:
            scores[o.uid] = (best / max(o.latency_s, MIN_LATENCY_S)) ** sharpness
    return scores
