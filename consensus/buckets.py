"""Pad the subnet (S), UID (N) and validator-row (V) axes to a few fixed sizes.

Shapes are rounded up to powers of two (with small minimums), so a running chain compiles the
epoch for a handful of shapes only — at start-up, with the persistent compilation cache on.
Padding never changes a result: padded subnets have ``n_uids = 0``, padded UID columns lie past
``n_uids`` and padded rows have ``row_uid = -1``.
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import numpy as np

from .interface import EpochInputs

P = TypeVar("P", bound=NamedTuple)

MIN_SUBNETS = 1
MIN_UIDS = 8
MIN_ROWS = 4


def bucket(size: int, minimum: int = 1) -> int:
    """The smallest power of two >= max(size, minimum)."""
    size = max(int(size), int(minimum), 1)
    return 1 << (size - 1).bit_length()


def bucket_shape(num_subnets: int, rows: int, uids: int) -> tuple[int, int, int]:
    """Padded (S, V, N) for a batch; V never exceeds N's bucket."""
    n = bucket(uids, MIN_UIDS)
    return bucket(num_subnets, MIN_SUBNETS), min(bucket(rows, MIN_ROWS), n), n


def _pad(a: np.ndarray, shape: tuple[int, ...], fill: object = 0) -> np.ndarray:
    a = np.asarray(a)
    if a.shape == shape:
        return a
    out = np.full(shape, fill, dtype=a.dtype)
    out[tuple(slice(0, k) for k in a.shape)] = a
    return out


def pad_batch(inputs: EpochInputs, params: P, shape: tuple[int, int, int]) -> tuple[EpochInputs, P]:
    """Pad every array of a batch to ``shape`` = (S, V, N) (each >= the batch's own)."""
    s, v, n = shape
    padded = EpochInputs(
        n_uids=_pad(inputs.n_uids, (s,)),
        current_block=_pad(inputs.current_block, (s,)),
        stake=_pad(inputs.stake, (s, n)),
        block_at_registration=_pad(inputs.block_at_registration, (s, n)),
        last_update=_pad(inputs.last_update, (s, n)),
        validator_permit=_pad(inputs.validator_permit, (s, n), False),
        row_uid=_pad(inputs.row_uid, (s, v), -1),
        weights=_pad(inputs.weights, (s, v, n)),
        bonds=_pad(inputs.bonds, (s, v, n)),
        bonds_reset=None if inputs.bonds_reset is None else _pad(inputs.bonds_reset, (s, n), False),
        emission=None if inputs.emission is None else _pad(inputs.emission, (s,)),
        owner_uid=None if inputs.owner_uid is None else _pad(inputs.owner_uid, (s,), -1),
    )
    return padded, params._make(_pad(np.asarray(a), (s,)) for a in params)
