"""Random but chain-shaped batches, for the benchmark and tests."""

from __future__ import annotations

import numpy as np

from .interface import EpochInputs, SubnetParams


def rows_from_permits(permit: np.ndarray, rows: int) -> np.ndarray:
    """The chain's rule for ``row_uid``: permit holders in ascending UID order, -1 padded.

    Args:
        permit: [S, N] bool, the previous epoch's ``validator_permit``.
        rows: V; must be >= the largest number of permits in a subnet.
    """
    out = np.full((permit.shape[0], rows), -1, dtype=np.int32)
    for s, row in enumerate(permit):
        uids = np.flatnonzero(row)
        if len(uids) > rows:
            raise ValueError(f"subnet {s}: {len(uids)} permits do not fit {rows} rows")
        out[s, : len(uids)] = uids
    return out


def random_batch(
    rng: np.random.Generator,
    subnets: int,
    uids: int,
    validators: int,
    *,
    density: float = 0.5,
    block: int = 100_000,
) -> tuple[EpochInputs, SubnetParams]:
    """A batch of full subnets: ``validators`` permit holders per subnet set sparse weights.

    Half the subnets run Yuma 2 and half Yuma 3 (a quarter with liquid alpha), so benchmarks
    exercise every path.
    """
    s, n, v = subnets, uids, validators
    stake = rng.integers(0, 10**12, size=(s, n)).astype(np.float64)
    stake[rng.random((s, n)) < 0.2] = 0.0
    permit = np.zeros((s, n), bool)
    top = np.argsort(stake, axis=1, kind="stable")[:, n - v :]
    np.put_along_axis(permit, top, True, axis=1)
    permit &= stake > 0
    row_uid = rows_from_permits(permit, v)
    weights = rng.integers(0, 65536, size=(s, v, n)).astype(np.uint16)
    weights[rng.random((s, v, n)) > density] = 0
    bonds = rng.integers(0, 65536, size=(s, v, n)).astype(np.uint16)
    bonds[row_uid < 0] = 0
    reg = rng.integers(0, block - 500, size=(s, n))
    reg[rng.random((s, n)) < 0.05] = block - 1  # a few fresh registrations
    last_update = reg + rng.integers(0, 10_000, size=(s, n))
    last_update = np.minimum(last_update, block)
    x = EpochInputs(
        n_uids=np.full(s, n),
        current_block=np.full(s, block),
        stake=stake,
        block_at_registration=reg,
        last_update=last_update,
        validator_permit=permit,
        row_uid=row_uid,
        weights=weights,
        bonds=bonds,
        bonds_reset=rng.random((s, n)) < 0.01,
        emission=np.full(s, 360 * 10**9),
    )
    version = np.where(np.arange(s) % 2 == 0, 2, 3)
    params = SubnetParams.defaults(
        s,
        yuma_version=version,
        liquid_alpha_enabled=np.arange(s) % 4 == 1,
        bonds_reset_enabled=True,
        max_allowed_validators=v,
    )
    return x, params
