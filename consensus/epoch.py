"""Pure-JAX Yuma epoch: one subnet as a function of arrays, vmapped and jitted over subnets.

The kernel takes *prepared* inputs (see ``api.prepare``): ``EpochInputs`` whose ``stake`` is the
normalized stake S in the computation dtype, block numbers as int32, and ``bonds_reset`` filled
in. Every per-subnet choice (Yuma 2 / 3, liquid alpha, bonds penalty 0 / 1 / between) is a
``jnp.where`` on per-subnet values, so subnets of different versions share one call.

The consensus (spec step 4) avoids sorting, which is slow on XLA:CPU: it bisects on the value
with one stake-weighted count per step, then walks up to the exact weight value (see
``kappa_quantile``); the result equals the sort-based definition exactly. The new permits
(step 1) avoid ``top_k`` likewise: a bit-by-bit search for the cut-off stake over the whole
batch (``new_permits``). Reductions over the validator rows are elementwise trees (``_tree``),
and the Yuma 2 and Yuma 3 bond updates share one elementwise expression, so XLA materializes
few [V, N] intermediates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from subnetes.chain.units import U16_MAX

from .interface import Array, EpochInputs


class KernelParams(NamedTuple):
    """Per-subnet hyperparameters as the kernel uses them ([S] arrays; see ``api.prepare``).

    Fractions are divided on the host (numpy, correctly rounded in the computation dtype):
    XLA:CPU turns a division by a broadcast scalar into a multiplication by its reciprocal,
    which is not exact and would e.g. make 1 - 1e6/1e6 non-zero. Like ``EpochInputs`` the
    fields are numpy arrays on the host (``api.kernel_params``) and ``jax.Array`` in the kernel.
    """

    tempo: Array  # int32
    activity_cutoff: Array  # int32
    max_allowed_validators: Array  # int32
    yuma3: Array  # bool
    liquid_alpha: Array  # bool
    bonds_reset_enabled: Array  # bool
    kappa: Array  # float: kappa/65535
    bonds_penalty: Array  # float: beta = bonds_penalty/65535
    ema_alpha: Array  # float: 1 - bma/1e6
    alpha_low: Array  # float: alpha_low/65535
    alpha_high: Array  # float: alpha_high/65535
    steepness: Array  # float: alpha_sigmoid_steepness/100


# Value-bisection steps before the exact walk; a speed knob only (the result does not depend on it).
BISECT_STEPS = 8


def _tree(
    op: Callable[[jax.Array, jax.Array], jax.Array], t: jax.Array, axis: int = 0
) -> jax.Array:
    """Reduce ``axis`` (by default 0, the V validator rows) by pairwise halving with an
    elementwise ``op``.

    XLA:CPU vectorizes these elementwise trees far better than a fused compare-select-reduce
    along a non-minor axis (about 3x on the consensus loop); the summation order is fixed, so
    results stay deterministic.
    """
    while t.shape[axis] > 1:
        n, half = t.shape[axis], t.shape[axis] // 2
        head = op(
            lax.slice_in_dim(t, 0, half, axis=axis),
            lax.slice_in_dim(t, half, 2 * half, axis=axis),
        )
        rest = lax.slice_in_dim(t, 2 * half, n, axis=axis)
        t = jnp.concatenate([head, rest], axis=axis) if n % 2 else head
    return lax.index_in_dim(t, 0, axis=axis, keepdims=False)


def _min(a: jax.Array, b: jax.Array) -> jax.Array:
    # a compare and a select: for NaN-free operands the minimum, without the NaN handling of
    # jnp.minimum that XLA:CPU emits for every element
    return jnp.where(b < a, b, a)


def _max(a: jax.Array, b: jax.Array) -> jax.Array:
    return jnp.where(b > a, b, a)


def _col_sum(t: jax.Array) -> jax.Array:
    return _tree(jnp.add, t)


def _normalize(x: jax.Array) -> jax.Array:
    total = x.sum()
    return jnp.where(total != 0, x / jnp.where(total != 0, total, 1), x)


def _safe_inv(x: jax.Array) -> jax.Array:
    return jnp.where(x != 0, 1 / jnp.where(x != 0, x, 1), 0)


def _to_u16(x: jax.Array) -> jax.Array:
    return jnp.clip(jnp.floor(x * U16_MAX), 0, U16_MAX).astype(jnp.uint16)


def kappa_quantile(
    w: jax.Array,
    row_stake: jax.Array,
    kappa: jax.Array,
    bisect_steps: int = BISECT_STEPS,
    row_scale: jax.Array | None = None,
) -> jax.Array:
    """Per column j, the smallest weight value v (among staked rows) with g_j(v) < kappa, where
    g_j(x) = stake of staked rows with w_ij > x (stake re-normalized over staked rows).

    g_j is a non-increasing step function that only changes at weight values, so the answer is
    the first weight value where "g_j(x) < kappa" turns true. The search keeps, per column, a
    set of candidate values [``lo``, ``hi``] (``lo`` itself only while ``lo_open``): every
    weight value below the set fails and ``hi`` passes. Below the smallest value all staked
    stake counts, so the first test is a scalar (if even that passes, the answer is the
    smallest value). Value bisection then shrinks the set, one stake-weighted count per step;
    then the smallest and the largest candidate value are taken, and a column whose two agree
    is done (g is constant from the largest candidate up to ``hi``, so that value passes). The
    rare remaining columns walk up the candidates, each step testing one value and finding the
    next in the same pass. Special cases as the reference: no staked row → 0; kappa <= 0 → the
    largest value (g(max) = 0 never drops below kappa).

    Every test is the same stake-weighted count (``_col_sum`` order), so the result does not
    depend on ``bisect_steps`` and equals the sort-based definition exactly.

    Args:
        w: [V, N] row-normalized weights, or raw integer weights when ``row_scale`` is given.
        row_stake: [V] active stake per row (only rows with stake > 0 take part).
        kappa: scalar in the computation dtype.
        bisect_steps: static number of bisection steps (a speed knob only).
        row_scale: [V] optional; the weights are then ``w * row_scale[:, None]``, recomputed in
            every pass from the (2-byte) raw weights: the passes are memory-bound, so reading
            u16 instead of float32/float64 makes them 2-4x cheaper, with bitwise equal values.

    Returns:
        [N] consensus weights C.
    """
    dt = w.dtype if row_scale is None else row_scale.dtype
    scale = jnp.ones(w.shape[0], dt) if row_scale is None else row_scale
    unit = row_scale is None

    staked = row_stake > 0
    total = jnp.where(staked, row_stake, 0).sum()
    s = jnp.where(staked, row_stake / jnp.where(total > 0, total, 1), 0).astype(dt)
    inf = jnp.array(jnp.inf, dt)

    # The loops read the raw weights through an optimization barrier together with a
    # loop-carried value, so XLA can neither hoist the (loop-invariant) float conversion out of
    # a loop and materialize it, nor copy the raw weights into the loop state.
    def values(tie: jax.Array) -> jax.Array:
        raw, sc, _ = lax.optimization_barrier((w, scale, tie))
        v = raw if unit else raw.astype(dt) * sc[:, None]
        return jnp.where(staked[:, None], v, jnp.nan)  # NaN: fails every comparison

    def count_above(vals: jax.Array, x: jax.Array) -> jax.Array:
        # g(x) per column; unstaked rows have s = 0
        return _col_sum(jnp.where(vals > x[None, :], s[:, None], 0))

    vals0 = w if unit else w.astype(dt) * scale[:, None]
    w_min = _tree(_min, jnp.where(staked[:, None], vals0, inf))
    w_max = _tree(_max, jnp.where(staked[:, None], vals0, -inf))
    any_staked = jnp.any(staked)
    # g just below the smallest value: every staked row counts (the same summation order).
    all_pass = _tree(jnp.add, s) < kappa
    done0 = ~any_staked | all_pass | (kappa <= 0)
    c0 = jnp.where(~any_staked, 0, jnp.where(all_pass, w_min, w_max)).astype(dt)

    Carry = tuple[jax.Array, ...]

    # Each step applies the previous step's outcome (ok at mid) to the bounds and only then
    # tests a new point: the test's sole consumer is the loop state ``ok``, so XLA computes the
    # tree's last levels once instead of once per bound it updates.
    def settle(carry: Carry) -> Carry:
        lo, hi, lo_open, mid, ok = carry
        return jnp.where(ok, lo, mid), jnp.where(ok, mid, hi), lo_open & ok

    def bisect(_: int, carry: Carry) -> Carry:
        lo, hi, lo_open = settle(carry)
        mid = lo + (hi - lo) * 0.5
        ok = count_above(values(mid), mid) < kappa
        return lo, hi, lo_open, mid, ok

    yes = jnp.ones(w.shape[1], bool)
    start = (w_min, w_max, yes, w_max, yes)  # "ok at w_max": settles to (w_min, w_max, open)
    lo, hi, lo_open = settle(lax.fori_loop(0, bisect_steps, bisect, start))

    # The smallest and the largest candidate value (two trees over the same values).
    vals = values(lo)
    above_lo = (vals > lo[None, :]) | (lo_open[None, :] & (vals == lo[None, :]))
    first = _tree(_min, jnp.where(above_lo, vals, inf))
    last = _tree(_max, jnp.where(vals <= hi[None, :], vals, -inf))
    done = done0 | (first == last)
    c = jnp.where(done0, c0, first)

    Walk = tuple[jax.Array, jax.Array, jax.Array]  # candidate, consensus, done

    def walk(state: Walk) -> Walk:
        cand, c, done = state
        vals = values(cand)
        ok = (count_above(vals, cand) < kappa) | (cand == last)
        nxt = _tree(_min, jnp.where(vals > cand[None, :], vals, inf))
        c = jnp.where(~done & ok, cand, c)
        done = done | ok
        return jnp.where(done, cand, nxt), c, done

    return lax.while_loop(lambda st: ~jnp.all(st[2]), walk, (first, c, done))[1]


def epoch_single(x: EpochInputs, p: KernelParams, new_permit: jax.Array) -> dict[str, jax.Array]:
    """The epoch of one subnet (no leading S axis) from prepared inputs and its new permits
    (``new_permits``).

    Returns the float/bool fields of ``EpochOutputs`` plus the in-kernel u16 views.
    """
    dt = x.stake.dtype
    V, N = x.weights.shape
    one = jnp.array(1, dt)
    u16max = jnp.array(U16_MAX, dt)
    uids = jnp.arange(N, dtype=jnp.int32)
    real = uids < x.n_uids
    b = x.current_block

    # The owner's UID (-1: none): a permit whatever its stake and its self-weight kept; its
    # stake was already exempt from the threshold on the host (``normalized_stake``).
    assert x.owner_uid is not None, "api.prepare fills owner_uid in"
    is_owner = uids == x.owner_uid

    # Step 1: stake and new permits (selected for the whole batch by ``new_permits``).
    S = jnp.where(real, x.stake, 0)
    old_permit = real & (x.validator_permit | is_owner)

    # Step 2: activity and active stake.
    active = real & (x.last_update + p.activity_cutoff >= b)
    A = _normalize(jnp.where(active & old_permit, S, 0))

    # Validator rows.
    has_row = x.row_uid >= 0
    ru = jnp.where(has_row, x.row_uid, 0)
    row_A = jnp.where(has_row, A[ru], 0)
    row_old = has_row & old_permit[ru]
    row_lu = x.last_update[ru]

    # Step 3: masked, row-normalized weights (W = raw · 1/rowsum: within an ulp of raw/rowsum);
    # the diagonal is masked except the owner's self-weight.
    keep = row_old[:, None] & real[None, :]
    keep &= (uids[None, :] != x.row_uid[:, None]) | (x.row_uid[:, None] == x.owner_uid)
    keep &= row_lu[:, None] > x.block_at_registration[None, :]
    w16 = jnp.where(keep, x.weights, jnp.uint16(0))
    # Exact integer row sums (int32), without materializing a converted [V, N] copy: the
    # columns are split into groups of 32 adjacent ones, summed elementwise across the groups
    # by halving (vectorized over the 32), then the 32 partial sums per row.
    lanes = math.gcd(N, 32)
    groups = w16.astype(jnp.int32).reshape(V, N // lanes, lanes)
    row_scale = _safe_inv(_tree(jnp.add, groups, axis=1).sum(axis=1).astype(dt))
    W = w16.astype(dt) * row_scale[:, None]

    # Step 4: consensus.
    C = kappa_quantile(w16, row_A, p.kappa, row_scale=row_scale)

    # Step 5: clip, trust, ranks, incentive.
    Wc = jnp.minimum(W, C[None, :])
    Tv_row = Wc.sum(axis=1)
    R = _col_sum(row_A[:, None] * Wc)
    Inc = _normalize(R)
    P = _col_sum(row_A[:, None] * W)
    trust = jnp.where(P > 0, R / jnp.where(P > 0, P, 1), 0)

    # Step 6: bond weights (exact copies for beta = 0 and beta = 1, as Subtensor).
    beta = p.bonds_penalty
    Wb = jnp.where(beta == 0, W, jnp.where(beta == 1, Wc, W + beta * (Wc - W)))

    # Step 7: bonds. Both versions are one elementwise expression X over (Wb, stored bonds) with
    # per-subnet / per-column coefficients, selected per subnet; X is the new bond matrix before
    # storage scaling, and its column sums and maxima come from the same pass.
    keep_col = real & (x.block_at_registration < b - p.tempo)
    assert x.bonds_reset is not None, "api.prepare fills bonds_reset in"
    keep_col &= ~(p.bonds_reset_enabled & x.bonds_reset)
    B_raw = jnp.where(has_row[:, None] & keep_col[None, :], x.bonds.astype(dt), 0)
    a = p.ema_alpha
    yuma3 = p.yuma3

    # Yuma 2: Be = colnorm(a·colnorm(Wb∘A) + (1-a)·colnorm(Bo)). Both inner terms have unit
    # column sums (or are all zero), so the outer column sum is a·[ΔB_j≠0] + (1-a)·[Bo_j≠0]
    # and Be = (Wb∘A)·u_j + Bo·v_j with per-column coefficients u, v.
    cs_w, cs_b = _col_sum(Wb * row_A[:, None]), _col_sum(B_raw)
    outer = _safe_inv(a * (cs_w != 0) + (one - a) * (cs_b != 0))
    u = a * _safe_inv(cs_w) * outer
    v = (one - a) * _safe_inv(cs_b) * outer
    Be = Wb * (row_A[:, None] * u[None, :]) + B_raw * v[None, :]

    # Yuma 3: per-bond EMA Bn = min(1, (1-α)·Bo + α·Wb), α fixed or liquid (per entry).
    Bo3 = B_raw * (one / u16max)
    lo, hi, steep = p.alpha_low, p.alpha_high, p.steepness
    d = jnp.where(Wb >= Bo3, jnp.clip(Wb - C[None, :], 0, 1), jnp.clip(Bo3 - Wb, 0, 1))
    sig = one / (one + jnp.exp(jnp.clip(-steep * (d - 0.5), -20, 20)))
    liquid = p.liquid_alpha & jnp.any(C != 0)
    alpha = jnp.where(liquid, jnp.clip(lo + sig * (hi - lo), lo, hi), a)
    Bn = jnp.minimum(one, (one - alpha) * Bo3 + alpha * Wb)

    X = jnp.where(yuma3, Bn, Be)
    # The maximum as an XLA reduce (exact in any order): materialized once, whereas a tree's
    # last levels would be recomputed for every row by the two [V, N] consumers below.
    col_sum, col_max = _col_sum(X), X.max(axis=0)
    # Yuma 3: D = normalize(A ∘ (colnorm(Bn) · I)), the column sums folded into I.
    # Yuma 2: D = normalize(Be · I).
    q = jnp.where(yuma3, Inc * _safe_inv(col_sum), Inc)
    D_row = _normalize(jnp.where(yuma3, row_A, one) * (X @ q))
    # Stored: Yuma 3 Bn; Yuma 2 column max-upscaled Be (each column's max exactly 1).
    is_max = (col_max[None, :] == X) & (col_max[None, :] != 0)
    stored = jnp.where(yuma3, X, jnp.where(is_max, one, X * _safe_inv(col_max)[None, :]))
    row_new = has_row & new_permit[ru]
    bonds = jnp.where(row_new[:, None], stored, 0)

    # Per-UID views of per-row quantities (empty rows scatter out of range and are dropped).
    dest = jnp.where(has_row, x.row_uid, N)
    D = jnp.zeros(N, dt).at[dest].add(D_row, mode="drop")
    Tv = jnp.zeros(N, dt).at[dest].add(Tv_row, mode="drop")

    # Step 8: emission shares with the no-weights fallback.
    total = (Inc + D).sum()
    pos = total > 0
    safe_total = jnp.where(pos, total, 1)
    fallback = jnp.where(A.sum() != 0, A, S)
    SE = jnp.where(pos, Inc / safe_total, Inc)
    VE = jnp.where(pos, D / safe_total, fallback)
    NCE = jnp.where(pos, _normalize(Inc + D), fallback)
    mx = NCE.max()
    pruning = jnp.where(mx > 0, NCE / jnp.where(mx > 0, mx, 1), NCE)
    pruning_u16 = jnp.where(
        mx > 0,
        jnp.floor(NCE * u16max / jnp.where(mx > 0, mx, 1) + 0.5),
        jnp.floor(NCE * u16max),
    )

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
        "stake_u16": _to_u16(S),
        "consensus_u16": _to_u16(C),
        "validator_trust_u16": _to_u16(Tv),
        "incentive_u16": _to_u16(Inc),
        "dividends_u16": _to_u16(D),
        "rank_u16": _to_u16(Inc),
        "trust_u16": _to_u16(trust),
        "pruning_score_u16": jnp.clip(pruning_u16, 0, U16_MAX).astype(jnp.uint16),
        "bonds_u16": _to_u16(bonds),
    }


def new_permits(x: EpochInputs, p: KernelParams) -> jax.Array:
    """Spec step 1, new permits for a batch ([S, N] bool): per subnet the top
    min(max_allowed_validators, n, V) UIDs by (stake, uid) — on equal stake the higher UID, as
    Subtensor's stable sort — that have non-zero stake; plus the owner's UID, whatever its stake.

    No sort or top-k (slow on XLA:CPU, a sort for float64): the cut-off stake t, the m-th
    largest, is built bit by bit from the top. Non-negative floats order like their bit
    patterns, so t's pattern is the largest integer b with count(bits >= b) >= m: one count
    per bit. UIDs with stake above t get a permit, and of those with stake t the highest UIDs
    that fill the remaining slots. The UID axis is leading here, so each count is an
    elementwise tree over it (the subnets are the vector lanes).
    """
    n_sub, n = x.stake.shape
    k = min(x.weights.shape[1], n)
    real = jnp.arange(n, dtype=jnp.int32)[None, :] < x.n_uids[:, None]
    stake = jnp.where(real & (x.stake != 0), x.stake, 0)  # +0.0 for padding, -0.0 and 0
    m = jnp.clip(jnp.minimum(p.max_allowed_validators, x.n_uids), 0, k)
    width = jnp.finfo(stake.dtype).bits
    utype = jnp.dtype(f"uint{width}")
    bits = lax.bitcast_convert_type(stake, utype).T  # [N, S]

    def count_at_least(t: jax.Array) -> jax.Array:
        return _tree(jnp.add, (bits >= t[None, :]).astype(jnp.int32))

    def next_bit(i: jax.Array, t: jax.Array) -> jax.Array:
        cand = t | (jnp.array(1, utype) << (width - 1 - i).astype(utype))
        return jnp.where(count_at_least(cand) >= m, cand, t)

    t = lax.fori_loop(0, width, next_bit, jnp.zeros(n_sub, utype))
    above, tied = bits > t[None, :], bits == t[None, :]
    slots_left = m - _tree(jnp.add, above.astype(jnp.int32))
    # tied UIDs at or above each UID, counted from the top
    tied_from_top = lax.associative_scan(jnp.add, tied.astype(jnp.int32), reverse=True, axis=0)
    chosen = (above | (tied & (tied_from_top <= slots_left[None, :]))).T
    assert x.owner_uid is not None, "api.prepare fills owner_uid in"
    owner = real & (jnp.arange(n, dtype=jnp.int32)[None, :] == x.owner_uid[:, None])
    return (chosen & (m > 0)[:, None] & (stake != 0)) | owner


def epoch_vmapped(x: EpochInputs, p: KernelParams) -> dict[str, jax.Array]:
    """``epoch_single`` vmapped over the leading subnet axis (not jitted; ``sharding`` maps it
    over devices)."""
    return jax.vmap(epoch_single)(x, p, new_permits(x, p))


# The whole batch on one device (the unsharded path).
epoch_batched = jax.jit(epoch_vmapped)
