"""Freivalds' check: honest products always pass; wrong ones are caught at the stated rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from subnetes.workloads.compute.challenge import DTYPES, Challenge, operands
from subnetes.workloads.compute.freivalds import verify
from subnetes.workloads.compute.solver import solve


def _exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a.astype(np.float64) @ b.astype(np.float64)).astype(a.dtype)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("shape", [(1, 1, 1), (16, 64, 8), (96, 200, 64), (128, 512, 128)])
def test_honest_jax_product_always_passes(dtype: str, shape: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(7)
    for seed in range(5):
        ch = Challenge(seed=seed, m=shape[0], k=shape[1], n=shape[2], dtype=dtype)
        a, b = operands(ch)
        c = solve(ch)
        assert verify(a, b, c, rounds=20, rng=rng), (dtype, shape, seed)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_float32_accumulated_product_passes(dtype: str) -> None:
    # A different but honest summation order (NumPy's float32 BLAS) is within tolerance too.
    a, b = operands(Challenge(seed=3, m=64, k=1024, n=64, dtype=dtype))
    c = (a.astype(np.float32) @ b.astype(np.float32)).astype(a.dtype)
    assert verify(a, b, c, rounds=30, rng=np.random.default_rng(0))


def _caught_fraction(rounds: int, trials: int, dtype: str, seed: int) -> float:
    """Fraction of trials in which a product with ONE wrong entry is rejected."""
    rng = np.random.default_rng(seed)
    a, b = operands(Challenge(seed=seed, m=12, k=10, n=9, dtype=dtype))
    caught = 0
    for _ in range(trials):
        c = _exact(a, b)
        i, j = rng.integers(0, 12), rng.integers(0, 9)
        c[i, j] = c[i, j] + np.asarray(1.0 + rng.random(), dtype=c.dtype)
        caught += not verify(a, b, c, rounds=rounds, rng=rng)
    return caught / trials


@pytest.mark.parametrize("rounds", [1, 2, 4])
def test_single_wrong_entry_caught_at_stated_rate(rounds: int) -> None:
    # One wrong entry (column j) escapes a round exactly when r_j = 0: probability 1/2, so the
    # false-accept rate over `rounds` rounds is exactly 2^-rounds, the bound's worst case.
    trials = 3000
    miss = 1.0 - _caught_fraction(rounds, trials, "float32", seed=rounds)
    p = 2.0**-rounds
    sigma = math.sqrt(p * (1 - p) / trials)
    assert abs(miss - p) < 4 * sigma, (miss, p)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_wrong_entry_caught_in_low_precision(dtype: str) -> None:
    miss = 1.0 - _caught_fraction(3, 2000, dtype, seed=11)
    assert abs(miss - 1 / 8) < 4 * math.sqrt((1 / 8) * (7 / 8) / 2000)


def test_many_rounds_catch_everything_wrong() -> None:
    rng = np.random.default_rng(5)
    a, b = operands(Challenge(seed=9, m=64, k=64, n=64))
    good = _exact(a, b)
    wrongs = {
        "random": rng.uniform(-8, 8, good.shape).astype(np.float32),
        "zeros": np.zeros_like(good),
        "swapped-operands": _exact(b, a),
        "one-entry": good.copy(),
        "scaled": (good * np.float32(1.001)).astype(np.float32),
        "nan": good.copy(),
    }
    wrongs["one-entry"][3, 5] += 0.5
    wrongs["nan"][0, 0] = np.nan
    for name, c in wrongs.items():
        assert not verify(a, b, c, rounds=30, rng=rng), name


def test_shape_and_dtype_mismatch_rejected() -> None:
    a, b = operands(Challenge(seed=1, m=4, k=3, n=2))
    rng = np.random.default_rng(0)
    assert not verify(a, b, _exact(a, b).T, 5, rng)
    assert "dtype" in verify(a, b, _exact(a, b).astype(np.float64), 5, rng).reason
    with pytest.raises(ValueError):
        verify(a, b, _exact(a, b), 0, rng)
