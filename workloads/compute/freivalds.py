"""Freivalds' randomized check of a claimed product C = A @ B in O(n^2) per round.

Each round draws r uniformly from {0,1}^n and compares C r with A (B r). If C != A B then for
a row i with C_i != (AB)_i, the chance that r misses the difference is at most 1/2 (exactly 1/2
when a single entry is wrong), so ``rounds`` independent rounds accept a wrong product with
probability <= 2^-rounds. The vectors come from the validator's private RNG: a miner that could
predict r could forge a C that passes.

Floats: an honest product differs from the exact one by rounding. The tolerance per row is a
multiple of the dtype's unit roundoff times quantities that do not depend on the claim being
honest (row norms of A, column norms of B) plus the rounding of C itself, all computable in
O(n^2); a claim that is off by more than rounding noise fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Unit roundoff of float32: honest miners accumulate in at least float32 (XLA does so on CPU
#: and GPU for float16/bfloat16 inputs; float32 needs Precision.HIGHEST on GPUs with TF32).
_U_ACC = float(np.finfo(np.float32).eps) / 2
SAFETY = 8.0


@dataclass(frozen=True)
class Verdict:
    """Outcome of a check: ``ok`` is False with a ``reason`` when the claim is rejected."""

    ok: bool
    reason: str = ""
    rounds: int = 0

    def __bool__(self) -> bool:
        return self.ok


def unit_roundoff(dtype: np.dtype) -> float:
    """Half the machine epsilon of ``dtype`` (works for ml_dtypes' bfloat16 too)."""
    import ml_dtypes

    return float(ml_dtypes.finfo(dtype).eps) / 2


def row_tolerance(
    a: np.ndarray, b_col_norms_sq: np.ndarray, c: np.ndarray, r: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    """Per-row tolerance on |C r - A (B r)| for 0/1 vectors r (columns of ``r``), in float64.

    Two error sources, each a sum over the columns j picked by r of errors with random signs
    (hence square roots of sums of squares):
    - rounding C to the output dtype: <= u_out |C_ij|;
    - float32 accumulation over k terms: about sqrt(k) u_acc |a_i| |b_j| (Cauchy-Schwarz).
    """
    k = a.shape[1]
    u_out = unit_roundoff(dtype)
    a_norm = np.sqrt(np.einsum("ik,ik->i", a, a))[:, None]
    out_term = u_out * np.sqrt((c * c) @ r)
    acc_term = np.sqrt(k) * _U_ACC * a_norm * np.sqrt(b_col_norms_sq @ r)[None, :]
    return SAFETY * (out_term + acc_term) + 1e-30


def verify(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    rounds: int,
    rng: np.random.Generator,
) -> Verdict:
    """Accept ``c`` as ``a @ b`` or reject it; a wrong claim passes with probability <= 2^-rounds.

    ``a`` and ``b`` are the challenge operands (their dtype sets the tolerance); ``c`` is the
    miner's claim, which must have the product's shape, the operands' dtype and finite values.
    """
    if rounds < 1:
        raise ValueError("rounds must be >= 1")
    m, n = a.shape[0], b.shape[1]
    if c.shape != (m, n):
        return Verdict(False, f"shape {tuple(c.shape)} != {(m, n)}")
    if c.dtype != a.dtype:
        return Verdict(False, f"dtype {c.dtype} != {a.dtype}")
    a64, b64, c64 = (x.astype(np.float64) for x in (a, b, c))
    if not np.all(np.isfinite(c64)):
        return Verdict(False, "non-finite values")
    # All rounds at once: R is n x rounds, so each product below is O(n^2 * rounds).
    r = rng.integers(0, 2, size=(n, rounds)).astype(np.float64)
    lhs = c64 @ r
    rhs = a64 @ (b64 @ r)
    tol = row_tolerance(a64, np.einsum("kj,kj->j", b64, b64), c64, r, a.dtype)
    bad = np.abs(lhs - rhs) > tol
    if bad.any():
        first = int(np.argmax(bad.any(axis=0)))
        return Verdict(False, f"product mismatch in round {first + 1} of {rounds}", rounds)
    return Verdict(True, "", rounds)
