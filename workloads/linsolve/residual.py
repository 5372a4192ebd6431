"""The check of a claimed solution X of A X = B: the residual, projected, against rounding.

Each round takes a vector r of random signs (+1/-1) and compares ``A (X r)`` with ``B r``:
O(n^2 + nk) per round, against O(n^3) for solving. Freivalds' argument with sign vectors: if
some residual entry E_ij = (A X - B)_ij exceeds row i's tolerance, then for either choice of
the other signs at most one of r_j = +1 and r_j = -1 keeps row i of ``E r`` within the
tolerance (the two values differ by 2 |E_ij|), so a round misses it with probability <= 1/2
and ``rounds`` rounds accept the claim with probability <= 2^-rounds. When k <= rounds the
check is exact instead: every column of E is computed (R is the identity).

Tolerance (Oettli-Prager's componentwise backward error): a backward-stable float64 solve
leaves ``|A X - B| <= c n u (|A| |X| + |B|)``; the check allows SAFETY times that, with the
same projection: ``SAFETY n u (|A| (|X| |r|) + |B| |r|)`` per row. A is well conditioned
(see ``challenge``), so a claim that passes is accurate to about ``n u`` relative.
"""

from __future__ import annotations

import numpy as np

from subnetes.workloads.compute.freivalds import Verdict  # one verdict type for every check

#: Unit roundoff of float64, the dtype answers must come in.
U64 = float(np.finfo(np.float64).eps) / 2
SAFETY = 16.0


def projections(k: int, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """The k x p matrix whose columns the residual is checked on: the identity when k <= rounds
    (exact: every column), else ``rounds`` columns of random signs from the verifier's RNG."""
    if rounds < 1:
        raise ValueError("rounds must be >= 1")
    if k <= rounds:
        return np.eye(k)
    return rng.integers(0, 2, size=(k, rounds)).astype(np.float64) * 2.0 - 1.0


def verify(
    a: np.ndarray, b: np.ndarray, x: np.ndarray, rounds: int, rng: np.random.Generator
) -> Verdict:
    """Accept ``x`` as the solution of ``a x = b`` or reject it; a claim with a residual entry
    over its tolerance passes with probability <= 2^-rounds (never, when k <= rounds).

    ``x`` must have B's shape, dtype float64 and finite values.
    """
    n, k = b.shape
    if x.shape != (n, k):
        return Verdict(False, f"shape {tuple(x.shape)} != {(n, k)}")
    if x.dtype != np.float64:
        return Verdict(False, f"dtype {x.dtype} != float64")
    if not np.all(np.isfinite(x)):
        return Verdict(False, "non-finite values")
    r = projections(k, rounds, rng)
    resid = a @ (x @ r) - b @ r
    tol = SAFETY * n * U64 * (np.abs(a) @ (np.abs(x) @ np.abs(r)) + np.abs(b) @ np.abs(r))
    bad = np.abs(resid) > tol + 1e-300
    if bad.any():
        col = int(np.argmax(bad.any(axis=0)))
        return Verdict(
            False, f"residual over tolerance in projection {col + 1} of {r.shape[1]}", r.shape[1]
        )
    return Verdict(True, "", r.shape[1])
