"""Hypothesis strategies: small subnets in one fixed padded shape (so JAX compiles once).

Stakes are small integers (times 1e9 rao): every partial stake sum is then a ratio p/q with
q <= 1600, far (>= 7e-6) from any kappa the float32 tests use, so the median never sits on a
rounding-sensitive tie in float32; float64 tests also draw arbitrary kappa.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from subnetes.consensus import EpochInputs, SubnetParams

S_MAX, V, N = 4, 8, 16
BLOCK = 1000
U16 = 65535
SAFE_KAPPAS = [32767, 16384, 45875, 0, 65535, 6553]


@st.composite
def weight_row(draw: Any, n: int) -> np.ndarray:
    kind = draw(st.sampled_from(["zero", "sparse", "dense", "ties", "one"]))
    row = np.zeros(N, np.int64)
    if kind == "zero":
        return row
    if kind == "one":
        row[draw(st.integers(0, n - 1))] = draw(st.sampled_from([1, 65535, 777]))
        return row
    vals = st.sampled_from([0, 0, 21845, 32768, 65535]) if kind == "ties" else st.integers(0, U16)
    cols = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    if kind == "sparse":
        cols = cols[: max(1, len(cols) // 3)]
    for c in cols:
        row[c] = draw(vals)
    return row


@st.composite
def subnet(draw: Any, safe_kappa: bool = False) -> dict[str, Any]:
    """One subnet's inputs and hyperparameters (no leading axis), shaped [V, N] / [N]."""
    n = draw(st.integers(1, N))
    stake = np.zeros(N)
    stake[:n] = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    if draw(st.booleans()):  # a few large stakers
        stake[:n] *= draw(st.lists(st.sampled_from([1, 1, 1, 10]), min_size=n, max_size=n))
    stake *= 1e9
    permit = np.zeros(N, bool)
    holders = draw(st.lists(st.integers(0, n - 1), max_size=V, unique=True))
    permit[holders] = True
    # Rows: every permit holder, maybe a few UIDs without permit, in any order.
    extra = [u for u in range(n) if not permit[u]]
    extra = (
        draw(st.lists(st.sampled_from(extra), max_size=V - len(holders), unique=True))
        if extra
        else []
    )
    members = draw(st.permutations(holders + extra))
    row_uid = np.full(V, -1, np.int32)
    slots = draw(st.permutations(list(range(V))))
    for slot, uid in zip(slots, members, strict=False):
        row_uid[slot] = uid
    weights = np.zeros((V, N), np.int64)
    bonds = np.zeros((V, N), np.int64)
    for r in range(V):
        if row_uid[r] >= 0:
            weights[r] = draw(weight_row(n))
            if draw(st.booleans()):
                bonds[r, :n] = draw(
                    st.lists(
                        st.sampled_from([0, 1, 30000, 65535, 12345, 50000]), min_size=n, max_size=n
                    )
                )
    reg = np.zeros(N, np.int64)
    reg[:n] = draw(
        st.lists(st.sampled_from([0, 10, 500, 900, 950, 990, 999]), min_size=n, max_size=n)
    )
    lu = np.zeros(N, np.int64)
    lu[:n] = draw(
        st.lists(st.sampled_from([0, 10, 400, 800, 950, 995, 1000]), min_size=n, max_size=n)
    )
    version = draw(st.sampled_from([2, 3]))
    lo = draw(st.integers(1638, U16))
    hi = draw(st.integers(lo, U16))
    kappa = (
        draw(st.sampled_from(SAFE_KAPPAS))
        if safe_kappa
        else draw(st.one_of(st.just(32767), st.integers(0, U16)))
    )
    return {
        "inputs": {
            "n_uids": n,
            "current_block": BLOCK,
            "stake": stake,
            "block_at_registration": reg,
            "last_update": lu,
            "validator_permit": permit,
            "row_uid": row_uid,
            "weights": weights.astype(np.uint16),
            "bonds": bonds.astype(np.uint16),
            "bonds_reset": np.array(draw(st.lists(st.booleans(), min_size=N, max_size=N))),
            "emission": draw(st.sampled_from([0, 10**9, 360 * 10**9])),
        },
        "params": {
            "tempo": draw(st.sampled_from([1, 10, 100])),
            "activity_cutoff": draw(st.sampled_from([5, 100, 5000])),
            "kappa": kappa,
            "bonds_moving_average": draw(
                st.sampled_from([900_000, 0, 975_000, 1_000_000, 123_456])
            ),
            "bonds_penalty": draw(st.sampled_from([65535, 0, 32768, 1000])),
            "yuma_version": version,
            "liquid_alpha_enabled": draw(st.booleans()),
            "alpha_low": lo,
            "alpha_high": hi,
            "alpha_sigmoid_steepness": draw(st.sampled_from([1000, 0, 300, 3000])),
            "bonds_reset_enabled": draw(st.booleans()),
            "max_allowed_validators": draw(st.integers(1, V)),
            "stake_threshold": draw(st.sampled_from([0, 0, 5e9, 1e11])),
        },
    }


def stack(subnets: list[dict[str, Any]]) -> tuple[EpochInputs, SubnetParams]:
    """Stack per-subnet dicts into a batch with a leading subnet axis."""
    x = EpochInputs(
        **{k: np.stack([np.asarray(s["inputs"][k]) for s in subnets]) for k in subnets[0]["inputs"]}
    )
    p = SubnetParams(
        **{k: np.stack([np.asarray(s["params"][k]) for s in subnets]) for k in subnets[0]["params"]}
    )
    return x, p


def batches(safe_kappa: bool = False) -> st.SearchStrategy[tuple[EpochInputs, SubnetParams]]:
    """Batches of 1..4 subnets, padded to S_MAX subnets so the compiled shape is fixed."""
    return st.lists(subnet(safe_kappa), min_size=1, max_size=S_MAX).map(stack)
