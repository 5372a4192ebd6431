"""Vectorized NumPy baseline: the reference epoch with step 4 vectorized over all columns.

``reference.py`` computes the consensus (spec step 4) column by column, as the spec states it.
This module sorts every column at once instead; results are bitwise identical (a test checks
it). The benchmark reports the JAX speed-up against both: the clarity-first reference (the
issue's target) and this baseline (how JAX compares with NumPy written for speed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .interface import EpochInputs, EpochOutputs, SubnetParams
from .reference import reference_epochs, staked_rows


def kappa_quantile_vectorized(w: np.ndarray, row_stake: np.ndarray, kappa: Any) -> np.ndarray:
    """``reference.kappa_quantile`` for all columns at once (same arithmetic, same order)."""
    n = w.shape[1]
    voters = staked_rows(w, row_stake)
    if voters is None:
        return np.zeros(n, dtype=w.dtype)
    ws, s = voters
    order = np.argsort(ws, axis=0, kind="stable")
    w_sorted = np.take_along_axis(ws, order, axis=0)
    s_sorted = s[order]
    # above[p, j] = stake strictly after position p of column j (see reference.column_quantile)
    suffix = np.cumsum(s_sorted[::-1], axis=0)[::-1]
    above = np.concatenate([suffix[1:], np.zeros((1, n), dtype=w.dtype)], axis=0)
    below_kappa = above < kappa
    first = np.argmax(below_kappa, axis=0)
    c = w_sorted[first, np.arange(n)]
    return np.where(below_kappa.any(axis=0), c, w_sorted[-1])


def baseline_epochs(
    inputs: EpochInputs, params: SubnetParams, *, dtype: Any = "float64"
) -> EpochOutputs:
    """``reference_epochs`` with the vectorized step 4; same contract as ``run_epochs``."""
    return reference_epochs(inputs, params, dtype=dtype, quantile=kappa_quantile_vectorized)
