"""Invariants of the epoch on hypothesis-generated subnets, and the exact consensus quantile."""

from __future__ import annotations

import jax
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from subnetes.consensus import EpochInputs, SubnetParams, run_epochs
from subnetes.consensus.baseline import kappa_quantile_vectorized
from subnetes.consensus.epoch import kappa_quantile
from subnetes.consensus.reference import kappa_quantile as reference_quantile

from .helpers import FLOAT_FIELDS
from .strategies import batches, stack, subnet


def _sums_to_one_or_zero(x: np.ndarray) -> None:
    total = x.sum(axis=1)
    assert np.all((np.abs(total - 1) < 1e-12) | (total == 0)), total


@given(batches())
def test_epoch_invariants(batch: tuple[EpochInputs, SubnetParams]) -> None:
    x, p = batch
    out = run_epochs(x, p)
    for f in FLOAT_FIELDS:
        assert np.all(np.isfinite(getattr(out, f))), f
    _sums_to_one_or_zero(out.incentive)
    _sums_to_one_or_zero(out.dividends)
    _sums_to_one_or_zero(out.stake)
    eps = 1e-12
    for f in ("consensus", "validator_trust", "trust", "pruning_score", "bonds", "incentive"):
        v = getattr(out, f)
        assert np.all(v >= 0) and np.all(v <= 1 + eps), f
    # Clipped weights never exceed raw weights: ranks <= preranks column by column.
    assert np.all(out.trust <= 1 + eps)
    shares = out.server_share + out.validator_share
    assert np.all((np.abs(shares.sum(1) - 1) < 1e-12) | (shares.sum(1) == 0))
    assert np.all(out.emission.sum(axis=1) <= x.emission)
    # Permits: at most max_allowed_validators, only staked UIDs.
    assert np.all(out.validator_permit.sum(axis=1) <= p.max_allowed_validators)
    assert not np.any(out.validator_permit & (out.stake == 0))
    # Rows of UIDs without a new permit come back cleared.
    has_row = x.row_uid >= 0
    keep = np.take_along_axis(out.validator_permit, np.where(has_row, x.row_uid, 0), axis=1)
    assert not np.any(out.bonds[~(has_row & keep)])


@given(subnet(), st.integers(0, 15), st.floats(0.0, 0.49))
def test_minority_below_kappa_cannot_raise_its_miner(one: dict, miner: int, share: float) -> None:
    """Whatever the honest majority does, if it gives the miner nothing, a colluding minority
    holding less than kappa of the active stake cannot earn that miner any incentive."""
    x, p = stack([one])
    n = int(x.n_uids[0])
    miner %= n
    rows = x.row_uid[0]
    p = p._replace(kappa=np.array([32767]), stake_threshold=np.array([0.0]))
    # Make every row's UID an active permit holder; the first row is the colluding minority.
    uids = [u for u in rows if u >= 0 and u != miner]
    if len(uids) < 2:
        return
    stake = np.zeros_like(x.stake)
    stake[0, uids[1:]] = (1 - share) / len(uids[1:]) * 1e12
    stake[0, uids[0]] = share * 1e12
    permit = np.zeros_like(x.validator_permit)
    permit[0, uids] = True
    lu = x.last_update.copy()
    lu[0, uids] = 1000
    w = x.weights.copy()
    for r, u in enumerate(rows):
        if u == uids[0]:
            w[0, r] = 0
            w[0, r, miner] = 65535
        elif u >= 0:
            w[0, r, miner] = 0
    out = run_epochs(x._replace(stake=stake, validator_permit=permit, last_update=lu, weights=w), p)
    assert out.incentive[0, miner] == 0
    assert out.consensus[0, miner] == 0


@st.composite
def columns(draw) -> tuple[np.ndarray, np.ndarray, float]:
    v, n = 8, 16
    pool = draw(st.sampled_from(["ties", "wide"]))
    vals = (
        st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0])
        if pool == "ties"
        else st.floats(0, 1, allow_subnormal=False)
    )
    w = np.array(draw(st.lists(vals, min_size=v * n, max_size=v * n))).reshape(v, n)
    stake = np.array(draw(st.lists(st.integers(0, 50), min_size=v, max_size=v)), float)
    kappa = draw(st.sampled_from([32767, 0, 65535, 13000, 52000])) / 65535
    return w, stake, kappa


def brute_force_quantile(w: np.ndarray, stake: np.ndarray, kappa: float) -> np.ndarray:
    """Straight from the spec: the largest v with (stake of rows with w >= v) >= kappa; the
    smallest weight when even all the stake is below kappa; 0 without staked rows."""
    staked = stake > 0
    if not staked.any():
        return np.zeros(w.shape[1])
    s = stake[staked] / stake[staked].sum()
    out = []
    for col in w[staked].T:
        ok = [v for v in col if s[col >= v].sum() >= kappa]
        out.append(max(ok) if ok else col.min())
    return np.array(out)


_jax_quantile = jax.jit(kappa_quantile, static_argnames="bisect_steps")


@given(columns(), st.sampled_from([0, 3, 16]))
def test_kappa_quantile_is_exact(case: tuple[np.ndarray, np.ndarray, float], steps: int) -> None:
    w, stake, kappa = case
    want = brute_force_quantile(w, stake, kappa)
    np.testing.assert_array_equal(reference_quantile(w, stake, kappa), want)
    np.testing.assert_array_equal(kappa_quantile_vectorized(w, stake, kappa), want)
    with jax.enable_x64(True):
        got = _jax_quantile(w, stake, np.float64(kappa), bisect_steps=steps)
    np.testing.assert_array_equal(np.asarray(got), want)
