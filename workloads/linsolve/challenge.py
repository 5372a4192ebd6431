"""Linear-system challenges: a deterministic, well-conditioned A (n x n) and B (n x k).

Miner and validator derive the same system from (seed, n, k), so a request carries three
integers instead of two matrices. A is a uniform [-1, 1) matrix plus ``2 sqrt(n)`` on the
diagonal: the random part's singular values stay below about ``1.16 sqrt(n)``, so A's
condition number stays below about 4 for every n. The solution is then unique and well
determined, and a small residual implies an accurate answer
(``|X - X*| <= |A^-1| |A X - B|``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_N = 4096
MAX_K = 64
MAX_SEED = 2**64 - 1


class ChallengeError(ValueError):
    """A challenge with sizes or seed out of range."""


@dataclass(frozen=True)
class Challenge:
    """Solve ``A X = B`` for the system drawn from ``seed`` (A is n x n, B is n x k)."""

    seed: int
    n: int
    k: int = 1

    def __post_init__(self) -> None:
        for name, hi in (("n", MAX_N), ("k", MAX_K)):
            v = getattr(self, name)
            if not (isinstance(v, int) and 1 <= v <= hi):
                raise ChallengeError(f"{name}={v!r} must be an integer in 1..{hi}")
        if not (isinstance(self.seed, int) and 0 <= self.seed <= MAX_SEED):
            raise ChallengeError("seed must be an integer in 0..2^64-1")

    @property
    def out_shape(self) -> tuple[int, int]:
        return (self.n, self.k)


def system(ch: Challenge) -> tuple[np.ndarray, np.ndarray]:
    """The challenge's A and B in float64."""
    rng = np.random.Generator(np.random.PCG64(ch.seed))
    a = rng.uniform(-1.0, 1.0, size=(ch.n, ch.n))
    a[np.diag_indices(ch.n)] += 2.0 * np.sqrt(ch.n)
    b = rng.uniform(-1.0, 1.0, size=(ch.n, ch.k))
    return a, b


def new_challenge(rng: np.random.Generator, n: int, k: int = 1) -> Challenge:
    """A fresh challenge with an unpredictable seed (so a miner cannot precompute answers)."""
    seed = int(rng.integers(0, 2**63, dtype=np.int64)) * 2 + int(rng.integers(0, 2))
    return Challenge(seed=seed, n=n, k=k)
