"""NumPy reference of the Yuma epoch: one subnet at a time, one step per line of the spec.

Written for clarity, not speed: it is the test oracle for the JAX path and the benchmark
baseline. Step 4 runs column by column, as the spec states it; ``baseline.py`` is the same
epoch with that loop vectorized over columns (the fair NumPy speed baseline, same results).
Step numbers refer to ``docs/specs/yuma.md``; the layout (validator rows ``[V, N]``) is
described in ``subnetes.consensus.interface``. Semantics: Subtensor's dense epoch with sorted
UIDs, in floating point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from subnetes.chain.units import U16_MAX

from .host import (
    check_shapes,
    max_upscale_u16,
    normalized_stake,
    rao_split,
    resolve_dtype,
    to_u16,
)
from .interface import EpochInputs, EpochOutputs, SubnetParams

# Step 4 as a function of (weights [V, N], row stake [V], kappa) -> consensus [N].
Quantile = Callable[[np.ndarray, np.ndarray, Any], np.ndarray]

# ---------------------------------------------------------------------------------------------
# Vector primitives (Subtensor math.rs semantics: never divide by zero)


def normalize(x: np.ndarray) -> np.ndarray:
    """x / sum(x); unchanged when the sum is 0."""
    total = x.sum()
    return x / total if total != 0 else x


def row_normalize(m: np.ndarray) -> np.ndarray:
    """Each row divided by its sum; rows summing to <= 0 unchanged."""
    sums = m.sum(axis=1, keepdims=True)
    return np.where(sums > 0, m / np.where(sums > 0, sums, 1), m)


def col_normalize(m: np.ndarray) -> np.ndarray:
    """Each column divided by its sum; columns summing to 0 unchanged."""
    sums = m.sum(axis=0, keepdims=True)
    return np.where(sums != 0, m / np.where(sums != 0, sums, 1), m)


def col_max_upscale(m: np.ndarray) -> np.ndarray:
    """Each column divided by its max; columns whose max is 0 unchanged."""
    mx = m.max(axis=0, keepdims=True)
    return np.where(mx != 0, m / np.where(mx != 0, mx, 1), m)


def column_quantile(values: np.ndarray, stake: np.ndarray, kappa: Any) -> Any:
    """Spec step 4 for ONE column: the stake-weighted kappa-quantile of its weights.

    ``values`` are the column's weights of the staked rows, ``stake`` their normalized stake.
    The result is the smallest value v with (stake of rows with weight > v) < kappa —
    equivalently the largest v with (stake of rows with weight >= v) >= kappa; if no value
    qualifies (kappa <= 0), the largest value.
    """
    # Sort the column ascending and carry each row's stake along (spec: "sort the column,
    # accumulate stake").
    order = np.argsort(values, kind="stable")
    v_sorted, s_sorted = values[order], stake[order]
    # above[p] = stake strictly after position p. At the last position of a run of equal values
    # this is the stake of rows with weight > v; inside a run it is larger, so the first position
    # whose `above` drops below kappa holds the right value even with ties.
    suffix = np.cumsum(s_sorted[::-1])[::-1]
    above = np.append(suffix[1:], np.zeros(1, dtype=suffix.dtype))
    below_kappa = above < kappa
    return v_sorted[np.argmax(below_kappa)] if below_kappa.any() else v_sorted[-1]


def staked_rows(w: np.ndarray, row_stake: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Step 4's voters: the weight rows with positive stake and that stake re-normalized to
    sum 1; None when no row is staked."""
    staked = row_stake > 0
    if not staked.any():
        return None
    return w[staked], row_stake[staked] / row_stake[staked].sum()


def kappa_quantile(w: np.ndarray, row_stake: np.ndarray, kappa: Any) -> np.ndarray:
    """Spec step 4: consensus C_j, column by column (``column_quantile``) over the staked rows
    (``staked_rows``). With no staked row every C_j is 0.
    """
    n = w.shape[1]
    voters = staked_rows(w, row_stake)
    if voters is None:
        return np.zeros(n, dtype=w.dtype)
    ws, s = voters
    return np.array([column_quantile(ws[:, j], s, kappa) for j in range(n)], dtype=w.dtype)


# ---------------------------------------------------------------------------------------------
# One subnet


def epoch_one(
    inp: EpochInputs,
    p: SubnetParams,
    dtype: Any = "float64",
    quantile: Quantile = kappa_quantile,
) -> dict[str, np.ndarray]:
    """The epoch of ONE subnet. ``inp``/``p`` hold that subnet's slices (no leading S axis),
    except ``inp.stake``, which must already be the normalized stake S (``normalized_stake``).
    ``quantile`` computes step 4 (the vectorized baseline passes its own; same results).

    Returns a dict with the float and bool fields of ``EpochOutputs`` for this subnet.
    """
    f = resolve_dtype(dtype)
    V, N = inp.weights.shape
    n = int(inp.n_uids)
    b = int(inp.current_block)
    uids = np.arange(N)
    real = uids < n
    reg = np.asarray(inp.block_at_registration, dtype=np.int64)
    lu = np.asarray(inp.last_update, dtype=np.int64)

    # The owner's UID (-1: none): a permit whatever its stake, its self-weight kept (its stake
    # was already exempt from the threshold in ``normalized_stake``).
    owner = -1 if inp.owner_uid is None else int(inp.owner_uid)
    is_owner = uids == owner

    # Step 1: stake (already normalized) and new permits = top-k by stake among non-zero stakes,
    # plus the owner's UID.
    S = np.asarray(inp.stake, dtype=f) * real
    k = int(p.max_allowed_validators)
    new_permit = real & (S != 0)
    if n >= k:
        ascending = np.argsort(S[:n], kind="stable")  # ties keep UID order: lower UID first
        new_permit[ascending[: n - k]] = False
    new_permit |= real & is_owner
    old_permit = real & (np.asarray(inp.validator_permit, dtype=bool) | is_owner)

    # Step 2: activity and active stake.
    active = real & ~(lu + int(p.activity_cutoff) < b)
    A = normalize(np.where(active & old_permit, S, 0).astype(f))

    # Validator rows: which UID each row belongs to.
    row_uid = np.asarray(inp.row_uid, dtype=np.int64)
    has_row = row_uid >= 0
    ru = np.where(has_row, row_uid, 0)
    row_A = np.where(has_row, A[ru], 0).astype(f)
    row_old = has_row & old_permit[ru]
    row_lu = lu[ru]

    # Step 3: weights — drop rows without old permit, the diagonal (except the owner's
    # self-weight), outdated weights, padding; then row-normalize (row sums of the raw u16
    # values are exact integers).
    keep = row_old[:, None] & real[None, :]
    keep &= (uids[None, :] != row_uid[:, None]) | (row_uid[:, None] == owner)
    keep &= ~(row_lu[:, None] <= reg[None, :])
    w_int = np.where(keep, np.asarray(inp.weights, dtype=np.int64), 0)
    row_sum = w_int.sum(axis=1, keepdims=True)
    W = np.where(row_sum > 0, w_int.astype(f) / np.maximum(row_sum, 1).astype(f), 0).astype(f)

    # Step 4: consensus.
    kappa = f(p.kappa) / f(U16_MAX)
    C = quantile(W, row_A, kappa)

    # Step 5: clip, validator trust, ranks, incentive; prerank and trust.
    Wc = np.minimum(W, C[None, :])
    Tv_row = Wc.sum(axis=1)
    R = (row_A[:, None] * Wc).sum(axis=0)
    Inc = normalize(R)
    P = (row_A[:, None] * W).sum(axis=0)
    trust = np.where(P > 0, R / np.where(P > 0, P, 1), 0).astype(f)

    # Step 6: bond weights.
    beta = f(p.bonds_penalty) / f(U16_MAX)
    if beta == 0:
        Wb = W
    elif beta == 1:
        Wb = Wc
    else:
        Wb = W + beta * (Wc - W)

    # Step 7: bonds. Columns of UIDs registered since the last epoch (and reset columns) start
    # from zero; empty rows carry nothing.
    keep_col = real & ~(reg >= b - int(p.tempo))
    if inp.bonds_reset is not None and bool(p.bonds_reset_enabled):
        keep_col &= ~np.asarray(inp.bonds_reset, dtype=bool)
    B_raw = np.where(has_row[:, None] & keep_col[None, :], inp.bonds, 0).astype(f)
    a = f(1) - f(p.bonds_moving_average) / f(1_000_000)
    if int(p.yuma_version) == 3:
        Bo = B_raw / f(U16_MAX)
        if bool(p.liquid_alpha_enabled) and np.any(C != 0):
            lo = f(p.alpha_low) / f(U16_MAX)
            hi = f(p.alpha_high) / f(U16_MAX)
            steep = f(p.alpha_sigmoid_steepness) / f(100)
            d = np.where(Wb >= Bo, np.clip(Wb - C[None, :], 0, 1), np.clip(Bo - Wb, 0, 1))
            x = np.clip(-steep * (d - f(0.5)), -20, 20)
            sig = f(1) / (f(1) + np.exp(x))
            alpha = np.clip(lo + sig * (hi - lo), lo, hi).astype(f)
        else:
            alpha = np.full((V, N), a, dtype=f)
        Bn = np.minimum(f(1), (f(1) - alpha) * Bo + alpha * Wb)
        D_row = normalize(row_A * (col_normalize(Bn) @ Inc))
        stored = Bn
    else:
        Bo = col_normalize(B_raw)
        dB = col_normalize(Wb * row_A[:, None])
        Be = col_normalize(a * dB + (f(1) - a) * Bo)
        D_row = normalize(Be @ Inc)
        stored = col_max_upscale(Be)
    # Bond rows: kept for new-permit rows, cleared otherwise.
    row_new = has_row & new_permit[ru]
    bonds = np.where(row_new[:, None], stored, 0).astype(f)

    # Per-UID views of per-row quantities.
    D = np.zeros(N, dtype=f)
    Tv = np.zeros(N, dtype=f)
    D[row_uid[has_row]] = D_row[has_row]
    Tv[row_uid[has_row]] = Tv_row[has_row]

    # Step 8: emission shares.
    total = (Inc + D).sum()
    if total > 0:
        SE, VE, NCE = Inc / total, D / total, normalize(Inc + D)
    else:
        fallback = A if A.sum() != 0 else S
        SE, VE, NCE = Inc, fallback, fallback
    mx = NCE.max()
    pruning = NCE / mx if mx > 0 else NCE

    return {
        "active": active,
        "validator_permit": new_permit,
        "stake": S,
        "consensus": C,
        "validator_trust": Tv,
        "incentive": Inc,
        "dividends": D,
        "rank": Inc,
        "trust": trust,
        "prerank": P,
        "server_share": SE,
        "validator_share": VE,
        "combined_share": NCE,
        "pruning_score": pruning,
        "bonds": bonds,
    }


def reference_epochs(
    inputs: EpochInputs,
    params: SubnetParams,
    *,
    dtype: Any = "float64",
    quantile: Quantile = kappa_quantile,
) -> EpochOutputs:
    """Run ``epoch_one`` for every subnet in turn; same contract as ``run_epochs``."""
    f = resolve_dtype(dtype)
    n_sub, _, _ = check_shapes(inputs, params)
    stake = normalized_stake(inputs.stake, inputs.n_uids, params.stake_threshold, inputs.owner_uid)
    rows: list[dict[str, np.ndarray]] = []
    for s in range(n_sub):
        one = EpochInputs(
            *(None if x is None else np.asarray(x)[s] for x in inputs._replace(stake=stake))
        )
        sub_params = SubnetParams(*(np.asarray(x)[s] for x in params))
        rows.append(epoch_one(one, sub_params, f, quantile))
    return finish_outputs({k: np.stack([r[k] for r in rows]) for k in rows[0]}, inputs.emission)


def finish_outputs(out: dict[str, np.ndarray], emission: np.ndarray | None) -> EpochOutputs:
    """Add the u16 views and rao amounts to the float/bool results of a batch."""
    for name in ("stake", "consensus", "validator_trust", "incentive", "dividends", "rank"):
        out.setdefault(f"{name}_u16", to_u16(out[name]))
    out.setdefault("trust_u16", to_u16(out["trust"]))
    out.setdefault("pruning_score_u16", max_upscale_u16(out["combined_share"]))
    out.setdefault("bonds_u16", to_u16(out["bonds"]))
    out["server_emission"] = rao_split(out["server_share"], emission)
    out["validator_emission"] = rao_split(out["validator_share"], emission)
    out["emission"] = rao_split(out["combined_share"], emission)
    return EpochOutputs(**out)
