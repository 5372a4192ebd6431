"""Host-side (NumPy) steps shared by the JAX path and the reference: stake, u16 views, rao."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from subnetes.chain.units import U16_MAX

from .interface import EpochInputs, SubnetParams

FLOAT_DTYPES: dict[str, type[np.floating]] = {"float64": np.float64, "float32": np.float32}


def resolve_dtype(dtype: npt.DTypeLike) -> type[np.floating]:
    """Map "float64" / "float32" / numpy dtypes to the numpy scalar type."""
    name = np.dtype(dtype).name
    if name not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}")
    return FLOAT_DTYPES[name]


def normalized_stake(
    stake_rao: np.ndarray,
    n_uids: np.ndarray,
    stake_threshold: np.ndarray,
    owner_uid: np.ndarray | None = None,
) -> np.ndarray:
    """Spec step 1, first half: S = normalize(T after threshold), in float64 (Subtensor: I64F64).

    Args:
        stake_rao: [S, N] stake T in rao (float or int).
        n_uids: [S] number of real UIDs; padding columns get 0.
        stake_threshold: [S] rao; a UID with floor(T) < threshold counts as 0.
        owner_uid: [S] the owner's UID (-1: none) or None; the owner's stake is exempt from the
            threshold (Subtensor's epoch_mechanism).

    Returns:
        [S, N] float64, each real row summing to 1 (or all zero).
    """
    t = np.asarray(stake_rao, dtype=np.float64)
    uids = np.arange(t.shape[-1])[None, :]
    real = uids < np.asarray(n_uids)[:, None]
    thr = np.asarray(stake_threshold, dtype=np.float64)[:, None]
    exempt = uids == owner_column(owner_uid, t.shape[0])
    t = np.where(real & ((np.floor(t) >= thr) | exempt) & (t > 0), t, 0.0)
    total = t.sum(axis=-1, keepdims=True)
    return np.where(total > 0, t / np.where(total > 0, total, 1.0), 0.0)


def owner_column(owner_uid: np.ndarray | None, num_subnets: int) -> np.ndarray:
    """``EpochInputs.owner_uid`` as an [S, 1] int64 column (-1 where there is no owner)."""
    if owner_uid is None:
        return np.full((num_subnets, 1), -1, np.int64)
    return np.asarray(owner_uid, dtype=np.int64).reshape(num_subnets, 1)


def to_u16(x: np.ndarray) -> np.ndarray:
    """Subtensor's fixed_proportion_to_u16: floor(x·65535), saturating to [0, 65535]."""
    return np.clip(np.floor(x * U16_MAX), 0, U16_MAX).astype(np.uint16)


def max_upscale_u16(x: np.ndarray) -> np.ndarray:
    """Subtensor's vec_max_upscale_to_u16 along the last axis: round(x·65535 / max(x))."""
    m = x.max(axis=-1, keepdims=True)
    up = np.floor(x * U16_MAX / np.where(m > 0, m, 1) + 0.5)
    return np.clip(np.where(m > 0, up, np.floor(x * U16_MAX)), 0, U16_MAX).astype(np.uint16)


def rao_split(share: np.ndarray, emission: np.ndarray | None) -> np.ndarray:
    """floor(share · E) per UID in rao (int64), computed in float64; zeros without E."""
    if emission is None:
        return np.zeros(share.shape, dtype=np.int64)
    e = np.asarray(emission, dtype=np.float64).reshape((-1,) + (1,) * (share.ndim - 1))
    return np.floor(np.asarray(share, dtype=np.float64) * e).astype(np.int64)


def check_shapes(inputs: EpochInputs, params: SubnetParams) -> tuple[int, int, int]:
    """Validate the layout and return (S, V, N)."""
    s, v, n = np.shape(inputs.weights)
    expect = {
        "n_uids": (s,),
        "current_block": (s,),
        "stake": (s, n),
        "block_at_registration": (s, n),
        "last_update": (s, n),
        "validator_permit": (s, n),
        "row_uid": (s, v),
        "bonds": (s, v, n),
    }
    if inputs.bonds_reset is not None:
        expect["bonds_reset"] = (s, n)
    if inputs.emission is not None:
        expect["emission"] = (s,)
    if inputs.owner_uid is not None:
        expect["owner_uid"] = (s,)
    for name, shape in expect.items():
        got = np.shape(getattr(inputs, name))
        if got != shape:
            raise ValueError(f"EpochInputs.{name}: expected shape {shape}, got {got}")
    for name in SubnetParams._fields:
        got = np.shape(getattr(params, name))
        if got != (s,):
            raise ValueError(f"SubnetParams.{name}: expected shape {(s,)}, got {got}")
    n_uids = np.asarray(inputs.n_uids)
    if np.any(n_uids > n) or np.any(n_uids < 0):
        raise ValueError("n_uids must lie in [0, number of UID columns]")
    owner = owner_column(inputs.owner_uid, s)[:, 0]
    if np.any(owner < -1) or np.any(owner >= n_uids):
        raise ValueError("owner_uid entries must be -1 or a UID below n_uids")
    rows = np.asarray(inputs.row_uid)
    if np.any(rows < -1) or np.any(rows >= n_uids[:, None]):
        raise ValueError("row_uid entries must be -1 or a UID below n_uids")
    ordered = np.sort(rows, axis=1)
    if np.any((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)):
        raise ValueError("a UID occupies two validator rows")
    return s, v, n
