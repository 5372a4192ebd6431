"""The subnet owner's UID in the epoch (``EpochInputs.owner_uid``), as Subtensor's
``epoch_mechanism`` treats it: stake exempt from the threshold, a validator permit whatever its
stake, and its self-weight kept. Every rule runs in the JAX kernel and the NumPy reference.

Shapes: S = 2 (a Yuma 2 and a Yuma 3 copy), V = 4, N = 8, as the scenario tests; the
hypothesis test reuses the equivalence suite's batch shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from subnetes.consensus import EpochInputs, EpochOutputs, SubnetParams, reference_epochs, run_epochs

from .helpers import assert_close
from .strategies import S_MAX, stack, subnet

S, V, N = 2, 4, 8
BLOCK = 1000
OWNER = 0
TAO = 10**9


def batch(
    stake: list[float],
    rows: dict[int, dict[int, int]],
    *,
    owner: int | None = OWNER,
    permit: list[int] | None = None,
    **params: Any,
) -> tuple[EpochInputs, SubnetParams]:
    """Two copies (Yuma 2, Yuma 3) of one subnet of ``len(stake)`` UIDs.

    ``rows``: validator UID -> {uid: u16 weight}; those UIDs get the validator rows.
    ``permit``: UIDs holding a permit from the previous epoch (default: the row UIDs).
    ``owner``: the owner's UID, or None for inputs without ``owner_uid``.
    """
    n = len(stake)
    st_arr = np.zeros((S, N))
    st_arr[:, :n] = np.asarray(stake, float) * TAO
    row_uid = np.full((S, V), -1, np.int32)
    weights = np.zeros((S, V, N), np.uint16)
    for r, (uid, w) in enumerate(sorted(rows.items())):
        row_uid[:, r] = uid
        for j, v in w.items():
            weights[:, r, j] = v
    old = np.zeros((S, N), bool)
    old[:, list(rows) if permit is None else permit] = True
    x = EpochInputs(
        n_uids=np.full(S, n),
        current_block=np.full(S, BLOCK),
        stake=st_arr,
        block_at_registration=np.zeros((S, N), np.int64),
        last_update=np.full((S, N), BLOCK - 1, np.int64),
        validator_permit=old,
        row_uid=row_uid,
        weights=weights,
        bonds=np.zeros((S, V, N), np.uint16),
        emission=np.full(S, 10**9),
        owner_uid=None if owner is None else np.full(S, owner),
    )
    p = SubnetParams.defaults(S, **{"yuma_version": [2, 3], "max_allowed_validators": V, **params})
    return x, p


def both(x: EpochInputs, p: SubnetParams) -> list[EpochOutputs]:
    """The JAX and the reference outputs, checked to agree."""
    jax_out, ref_out = run_epochs(x, p), reference_epochs(x, p)
    assert_close(jax_out, ref_out, tol=1e-9, rao_tol=2)
    return [jax_out, ref_out]


def test_owner_stake_is_exempt_from_the_threshold() -> None:
    """Below the stake threshold the owner's stake still counts; another UID's with the same
    stake does not (Subtensor filters the stake with ``owner_uid != uid && s < min_stake``)."""
    x, p = batch([1, 1, 10, 0], {2: {3: 1}}, stake_threshold=5 * TAO)
    for out in both(x, p):
        np.testing.assert_allclose(out.stake[:, :4], [[1 / 11, 0, 10 / 11, 0]] * S)
    x, p = batch([1, 1, 10, 0], {2: {3: 1}}, owner=None, stake_threshold=5 * TAO)
    for out in both(x, p):
        np.testing.assert_allclose(out.stake[:, :4], [[0, 0, 1, 0]] * S)


def test_owner_holds_a_permit_whatever_its_stake() -> None:
    """The owner gets a new permit with zero stake and outside the top-k, on top of the k."""
    x, p = batch([0, 5, 6, 7, 1, 0], {1: {5: 1}}, max_allowed_validators=3)
    for out in both(x, p):
        assert out.validator_permit[:, :6].tolist() == [[True, True, True, True, False, False]] * S
    x, p = batch([0, 5, 6, 7, 1, 0], {1: {5: 1}}, owner=None, max_allowed_validators=3)
    for out in both(x, p):
        assert out.validator_permit[:, :6].tolist() == [[False, True, True, True, False, False]] * S


def test_owner_weights_count_without_a_stored_permit() -> None:
    """The owner's row counts as a permitted validator's even when no permit was stored for it
    (Subtensor sets the owner's current permit before masking the rows): with the threshold
    hiding every other stake, the owner alone decides the consensus."""
    x, p = batch([1, 10, 0, 0], {0: {2: 1}, 1: {3: 1}}, permit=[1], stake_threshold=5 * TAO)
    x = x._replace(stake=x.stake * np.array([1, 0.1] + [1] * (N - 2)))  # uid 1 below too
    for out in both(x, p):
        np.testing.assert_allclose(out.incentive[:, :4], [[0, 0, 1, 0]] * S)
        np.testing.assert_allclose(out.validator_trust[:, 0], 1)
    x, p = batch([1, 10, 0, 0], {0: {2: 1}, 1: {3: 1}}, permit=[1], owner=None)
    for out in both(x, p):
        np.testing.assert_allclose(out.incentive[:, :4], [[0, 0, 0, 1]] * S)


def test_owner_self_weight_is_kept_and_others_are_masked() -> None:
    """The owner, the only validator, weighting itself: its UID earns the incentive. Another
    validator's self-weight is still masked (its row is empty, so it earns nothing)."""
    x, p = batch([10, 0, 0], {0: {0: 65535}})
    for out in both(x, p):
        np.testing.assert_allclose(out.consensus[:, :3], [[1, 0, 0]] * S)
        np.testing.assert_allclose(out.incentive[:, :3], [[1, 0, 0]] * S)
    # The same subnet without an owner: the diagonal is masked, nobody has weights, so the
    # incentive is zero and everything falls back to stake.
    x, p = batch([10, 0, 0], {0: {0: 65535}}, owner=None)
    for out in both(x, p):
        np.testing.assert_allclose(out.incentive[:, :3], 0)
    # UID 1 (not the owner) weighting itself: masked, whether or not an owner exists.
    x, p = batch([1, 10, 0], {1: {1: 65535}})
    for out in both(x, p):
        np.testing.assert_allclose(out.incentive[:, :3], 0)


def test_idle_owner_row_changes_nothing() -> None:
    """An owner's row with no stake, no weights and no bonds gives the same outputs as no row at
    all (the chain leaves such a row out: chain/epoch.py ``row_uids``)."""
    with_row = batch([0, 3, 1, 0, 0], {0: {}, 1: {3: 2, 4: 1}, 2: {3: 1}})
    without = batch([0, 3, 1, 0, 0], {1: {3: 2, 4: 1}, 2: {3: 1}})
    for a, b in zip(both(*with_row), both(*without), strict=True):
        for name in a._fields:
            got, want = getattr(a, name), getattr(b, name)
            if name.startswith("bonds"):  # rows: drop the owner's (first) row, pad the other
                got, want = got[:, 1:], want[:, :-1]
            np.testing.assert_array_equal(got, want, err_msg=name)


def test_owner_uid_must_be_a_real_uid() -> None:
    x, p = batch([1, 1], {0: {1: 1}})
    with pytest.raises(ValueError, match="owner_uid"):
        run_epochs(x._replace(owner_uid=np.full(S, 2)), p)
    with pytest.raises(ValueError, match="owner_uid"):
        reference_epochs(x._replace(owner_uid=np.full(S, 2)), p)


@given(st.lists(subnet(), min_size=1, max_size=S_MAX), st.data())
def test_owner_rules_match_reference(subnets: list[dict], data: st.DataObject) -> None:
    """JAX vs the reference with an owner UID (or none) per subnet, on the equivalence suite's
    random subnets."""
    x, p = stack(subnets)
    owner = [data.draw(st.integers(-1, int(n) - 1)) for n in x.n_uids]
    x = x._replace(owner_uid=np.asarray(owner))
    assert_close(run_epochs(x, p), reference_epochs(x, p), tol=1e-9, rao_tol=2)
