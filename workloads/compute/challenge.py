"""Matrix-multiplication challenges: deterministic operands from (seed, shapes, dtype).

Miner and validator derive the same A (m x k) and B (k x n) from the challenge alone, so a
request carries a few integers instead of two matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np

#: dtypes a challenge may ask for, by name, and the NumPy dtype that holds them.
DTYPES: dict[str, np.dtype] = {
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}
MAX_DIM = 16384
MAX_SEED = 2**64 - 1


class ChallengeError(ValueError):
    """A challenge with shapes, dtype or seed out of range."""


@dataclass(frozen=True)
class Challenge:
    """Compute ``A @ B`` where A is m x k and B is k x n, both drawn from ``seed``."""

    seed: int
    m: int
    k: int
    n: int
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ChallengeError(f"dtype {self.dtype!r} is not one of {sorted(DTYPES)}")
        for name in ("m", "k", "n"):
            v = getattr(self, name)
            if not (isinstance(v, int) and 1 <= v <= MAX_DIM):
                raise ChallengeError(f"{name}={v!r} must be an integer in 1..{MAX_DIM}")
        if not (isinstance(self.seed, int) and 0 <= self.seed <= MAX_SEED):
            raise ChallengeError("seed must be an integer in 0..2^64-1")

    @property
    def np_dtype(self) -> np.dtype:
        return DTYPES[self.dtype]

    @property
    def out_shape(self) -> tuple[int, int]:
        return (self.m, self.n)


def operands(ch: Challenge) -> tuple[np.ndarray, np.ndarray]:
    """The challenge's A and B: uniform in [-1, 1), rounded to the challenge dtype."""
    rng = np.random.Generator(np.random.PCG64(ch.seed))
    a = rng.uniform(-1.0, 1.0, size=(ch.m, ch.k)).astype(np.float32).astype(ch.np_dtype)
    b = rng.uniform(-1.0, 1.0, size=(ch.k, ch.n)).astype(np.float32).astype(ch.np_dtype)
    return a, b


def new_challenge(
    rng: np.random.Generator, m: int, k: int, n: int, dtype: str = "float32"
) -> Challenge:
    """A fresh challenge with an unpredictable seed (so a miner cannot precompute answers)."""
    seed = int(rng.integers(0, 2**63, dtype=np.int64)) * 2 + int(rng.integers(0, 2))
    return Challenge(seed=seed, m=m, k=k, n=n, dtype=dtype)
