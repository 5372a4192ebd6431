"""JAX vs the NumPy reference on hypothesis-generated subnets; batching, padding, determinism."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from subnetes.consensus import (
    EpochInputs,
    EpochOutputs,
    SubnetParams,
    reference_epochs,
    run_epochs,
)
from subnetes.consensus.baseline import baseline_epochs

from .helpers import assert_close, assert_identical
from .strategies import batches, stack, subnet


@given(batches())
def test_float64_matches_reference(batch: tuple[EpochInputs, SubnetParams]) -> None:
    x, p = batch
    assert_close(run_epochs(x, p), reference_epochs(x, p), tol=1e-9, rao_tol=2)


@given(batches(safe_kappa=True))
def test_float32_matches_reference(batch: tuple[EpochInputs, SubnetParams]) -> None:
    x, p = batch
    got = run_epochs(x, p, dtype="float32")
    assert_close(got, reference_epochs(x, p, dtype="float32"), tol=1e-5)
    assert got.incentive.dtype == np.float32


@given(batches(), st.sampled_from(["float64", "float32"]))
def test_vectorized_baseline_equals_reference(
    batch: tuple[EpochInputs, SubnetParams], dtype: str
) -> None:
    """The benchmark's vectorized NumPy baseline is the reference, bit for bit."""
    x, p = batch
    assert_identical(baseline_epochs(x, p, dtype=dtype), reference_epochs(x, p, dtype=dtype))


@given(st.lists(subnet(), min_size=2, max_size=4))
def test_batched_equals_unbatched(subnets: list[dict]) -> None:
    """A network epoch over S subnets equals S single-subnet epochs (up to the last ulp: XLA may
    vectorize differently for another batch shape; the same batch is bitwise reproducible)."""
    x, p = stack(subnets)
    together = run_epochs(x, p)
    for s, one in enumerate(subnets):
        alone = run_epochs(*stack([one]))
        mine = EpochOutputs(*(a[s : s + 1] for a in together))
        assert_close(mine, alone, tol=1e-15, rao_tol=1)


@given(subnet(), st.integers(1, 3), st.integers(1, 3))
def test_padding_never_changes_a_result(one: dict, more_rows: int, more_uids: int) -> None:
    x, p = stack([one])
    s, v, n = x.weights.shape
    big_v, big_n = v + 8 * more_rows, n + 16 * more_uids

    def grow(a: np.ndarray | None, fill: object = 0) -> np.ndarray | None:
        if a is None or a.ndim == 1:
            return a
        shape = (
            (s, big_v, big_n)
            if a.ndim == 3
            else (s, big_v if a.shape[1] == v and a.dtype == np.int32 else big_n)
        )
        out = np.full(shape, fill, dtype=a.dtype)
        out[tuple(slice(0, k) for k in a.shape)] = a
        return out

    big = EpochInputs(
        **{k: grow(getattr(x, k), -1 if k == "row_uid" else 0) for k in EpochInputs._fields}
    )
    small, padded = run_epochs(x, p), run_epochs(big, p)
    cut = EpochOutputs(*(a[:, :v, :n] if a.ndim == 3 else a[:, :n] for a in padded))
    assert_close(cut, small, tol=1e-15, rao_tol=1)  # other shapes may sum in another order
    for f in small._fields:
        rest = getattr(padded, f)
        assert not np.any(rest[:, v:] if rest.ndim == 3 else rest[:, n:]), f


@given(subnet(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(one: dict, rnd) -> None:
    x, p = stack([one])
    perm = list(range(x.row_uid.shape[1]))
    rnd.shuffle(perm)
    y = x._replace(row_uid=x.row_uid[:, perm], weights=x.weights[:, perm], bonds=x.bonds[:, perm])
    a, b = run_epochs(x, p), run_epochs(y, p)
    unpermuted = EpochOutputs(
        *(v[:, perm] if f.startswith("bonds") else v for f, v in a._asdict().items())
    )
    assert_close(b, unpermuted, tol=1e-12, rao_tol=1)  # sums may run in another order


def test_deterministic() -> None:
    from subnetes.consensus.synthetic import random_batch

    x, p = random_batch(np.random.default_rng(7), 4, 64, 16)
    for dtype in ("float64", "float32"):
        assert_identical(run_epochs(x, p, dtype=dtype), run_epochs(x, p, dtype=dtype))


def test_synthetic_batch_matches_reference() -> None:
    """A realistic, larger batch (Yuma 2, Yuma 3, liquid alpha mixed) in both dtypes."""
    from subnetes.consensus.synthetic import random_batch

    x, p = random_batch(np.random.default_rng(3), 6, 128, 32)
    assert_close(run_epochs(x, p), reference_epochs(x, p), tol=1e-9, rao_tol=2)
    got32 = run_epochs(x, p, dtype="float32")
    assert_close(got32, reference_epochs(x, p, dtype="float32"), tol=1e-5)
    assert_close(got32, reference_epochs(x, p), tol=1e-5)


def test_chunked_batches_equal_one_call() -> None:
    from subnetes.consensus.synthetic import random_batch

    x, p = random_batch(np.random.default_rng(11), 5, 16, 8)
    whole = run_epochs(x, p)
    assert_close(run_epochs(x, p, max_batch_elements=2 * 8 * 16), whole, tol=0, rao_tol=0)


def test_bad_layouts_are_rejected() -> None:
    import pytest

    from subnetes.consensus.synthetic import random_batch

    x, p = random_batch(np.random.default_rng(1), 2, 16, 4)
    dup = x.row_uid.copy()
    dup[0, 1] = dup[0, 0]
    with pytest.raises(ValueError, match="two validator rows"):
        run_epochs(x._replace(row_uid=dup), p)
    with pytest.raises(ValueError, match="row_uid"):
        run_epochs(x._replace(row_uid=x.row_uid + 100), p)
    with pytest.raises(ValueError, match="shape"):
        run_epochs(x._replace(stake=x.stake[:, :3]), p)


def test_empty_batch_and_x64_scope() -> None:
    import jax

    from subnetes.consensus import empty_batch

    before = jax.config.jax_enable_x64
    out = run_epochs(*empty_batch(0, 4, 8))
    assert out.incentive.shape == (0, 8) and out.bonds_u16.shape == (0, 4, 8)
    out = run_epochs(*empty_batch(3, 4, 8), dtype="float64")
    assert out.incentive.dtype == np.float64 and not out.incentive.any()
    assert jax.config.jax_enable_x64 == before  # 64-bit mode stayed inside the call
