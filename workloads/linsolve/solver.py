"""The miner's computation: LAPACK's LU solve (NumPy, float64) of a challenge's system."""

from __future__ import annotations

import numpy as np

from .challenge import Challenge, system


def solve(ch: Challenge) -> np.ndarray:
    """Answer a challenge: regenerate its system and solve it (n x k, float64)."""
    a, b = system(ch)
    return np.linalg.solve(a, b)
