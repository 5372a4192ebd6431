"""Comparison helpers shared by the consensus tests."""

from __future__ import annotations

import numpy as np

from subnetes.consensus import EpochOutputs

FLOAT_FIELDS = (
    "stake",
    "consensus",
    "validator_trust",
    "incentive",
    "dividends",
    "rank",
    "trust",
    "prerank",
    "server_share",
    "validator_share",
    "combined_share",
    "pruning_score",
    "bonds",
)
BOOL_FIELDS = ("active", "validator_permit")
U16_FIELDS = tuple(f for f in EpochOutputs._fields if f.endswith("_u16"))
RAO_FIELDS = ("server_emission", "validator_emission", "emission")


def max_diff(a: EpochOutputs, b: EpochOutputs) -> dict[str, float]:
    """Largest absolute difference per float field."""
    return {
        f: float(np.max(np.abs(np.asarray(getattr(a, f), np.float64) - getattr(b, f)), initial=0))
        for f in FLOAT_FIELDS
    }


def assert_close(a: EpochOutputs, b: EpochOutputs, tol: float, rao_tol: int | None = None) -> None:
    """Floats within ``tol``, bools equal, u16 views within 1, rao within ``rao_tol``."""
    for f in EpochOutputs._fields:
        assert np.shape(getattr(a, f)) == np.shape(getattr(b, f)), f
    diffs = max_diff(a, b)
    bad = {f: d for f, d in diffs.items() if not d <= tol}
    assert not bad, f"float fields differ beyond {tol}: {bad}"
    for f in BOOL_FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    for f in U16_FIELDS:
        d = np.abs(getattr(a, f).astype(np.int64) - getattr(b, f).astype(np.int64))
        assert d.max(initial=0) <= 1, f"{f} differs by {d.max()}"
    if rao_tol is not None:
        for f in RAO_FIELDS:
            d = np.abs(getattr(a, f) - getattr(b, f))
            assert d.max(initial=0) <= rao_tol, f"{f} differs by {d.max()}"


def assert_identical(a: EpochOutputs, b: EpochOutputs) -> None:
    for f in EpochOutputs._fields:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
