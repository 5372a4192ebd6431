"""The one entry point the chain calls: ``run_epochs`` (plus start-up helpers)."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from subnetes.chain.units import U16_MAX

from .buckets import bucket_shape, pad_batch
from .epoch import KernelParams, epoch_batched
from .host import check_shapes, normalized_stake, rao_split, resolve_dtype
from .interface import EpochInputs, EpochOutputs, SubnetParams
from .sharding import shard_batch, sharded_epoch


def kernel_params(params: SubnetParams, dtype: Any = "float64") -> KernelParams:
    """Per-subnet hyperparameters for the kernel; fractions divided here, correctly rounded in
    ``dtype`` exactly as the reference divides them."""
    f = resolve_dtype(dtype)
    i32 = np.int32

    def frac(v: Any, scale: int) -> np.ndarray:
        return np.asarray(v).astype(f) / f(scale)

    return KernelParams(
        tempo=np.asarray(params.tempo, i32),
        activity_cutoff=np.asarray(params.activity_cutoff, i32),
        max_allowed_validators=np.asarray(params.max_allowed_validators, i32),
        yuma3=np.asarray(params.yuma_version) == 3,
        liquid_alpha=np.asarray(params.liquid_alpha_enabled, bool),
        bonds_reset_enabled=np.asarray(params.bonds_reset_enabled, bool),
        kappa=frac(params.kappa, U16_MAX),
        bonds_penalty=frac(params.bonds_penalty, U16_MAX),
        ema_alpha=f(1) - frac(params.bonds_moving_average, 1_000_000),
        alpha_low=frac(params.alpha_low, U16_MAX),
        alpha_high=frac(params.alpha_high, U16_MAX),
        steepness=frac(params.alpha_sigmoid_steepness, 100),
    )


def prepare(
    inputs: EpochInputs, params: SubnetParams, dtype: Any = "float64"
) -> tuple[EpochInputs, KernelParams]:
    """Host-side preparation for the kernel: normalized stake in ``dtype`` (the owner exempt from
    the threshold), int32 blocks, ``bonds_reset`` and ``owner_uid`` filled in, ``emission``
    dropped (applied on the host), ``KernelParams``.
    """
    f = resolve_dtype(dtype)
    n_sub, _, n = check_shapes(inputs, params)
    i32 = np.int32
    stake = normalized_stake(
        inputs.stake, inputs.n_uids, params.stake_threshold, inputs.owner_uid
    ).astype(f)
    reset = inputs.bonds_reset
    owner = inputs.owner_uid
    x = EpochInputs(
        n_uids=np.asarray(inputs.n_uids, i32),
        current_block=np.asarray(inputs.current_block, i32),
        stake=stake,
        block_at_registration=np.asarray(inputs.block_at_registration, i32),
        last_update=np.asarray(inputs.last_update, i32),
        validator_permit=np.asarray(inputs.validator_permit, bool),
        row_uid=np.asarray(inputs.row_uid, i32),
        weights=np.asarray(inputs.weights, np.uint16),
        bonds=np.asarray(inputs.bonds, np.uint16),
        bonds_reset=np.zeros((n_sub, n), bool) if reset is None else np.asarray(reset, bool),
        emission=None,
        owner_uid=np.full(n_sub, -1, i32) if owner is None else np.asarray(owner, i32),
    )
    p = kernel_params(params, f)
    return x, p


# Largest S·V·N per jitted call; bigger batches run in chunks of subnets. On CPU, chunks of
# about 2M cells keep intermediates cache-friendly (measured faster than one big call); on an
# accelerator the bound is only about memory.
MAX_BATCH_ELEMENTS = {"cpu": 2**21}
MAX_BATCH_ELEMENTS_ACCELERATOR = 2**28
# Sharding a call costs a dispatch to every device and a wait for each device's thread, which
# a loaded machine schedules late: by default a batch is sharded only from this many cells
# (S·V·N, padded) per device on (16 subnets of 256 UIDs x 64 rows on 2 devices).
MIN_SHARD_ELEMENTS = 2**17


def run_epochs(
    inputs: EpochInputs,
    params: SubnetParams,
    *,
    dtype: Any = "float64",
    shard: bool | None = None,
    max_batch_elements: int | None = None,
) -> EpochOutputs:
    """Run the Yuma epoch of every subnet in ``inputs`` in one jitted, vmapped JAX call.

    Shapes are padded to power-of-two buckets (``buckets.py``), so only a few shapes ever
    compile; results are sliced back to the input shapes. Batches larger than
    ``max_batch_elements`` (S·V·N) run as several calls of one bucketed chunk shape.

    Args:
        inputs: per-subnet state with a leading subnet axis (see ``EpochInputs``).
        params: per-subnet hyperparameters, arrays of shape [S] (see ``SubnetParams``).
        dtype: "float64" (default, closest to Subtensor) or "float32" (faster). 64-bit mode is
            enabled only for the duration of the call (``jax.enable_x64``).
        shard: split the subnet axis across all local devices (``sharding.sharded_epoch``:
            one core each on CPU); default: when there are > 1 and the padded batch has at
            least ``MIN_SHARD_ELEMENTS`` cells per device. ``True`` shards any batch with at
            least one subnet per device; ``False``: one device.
        max_batch_elements: cells (S·V·N) per jitted call and device; default 2**21 on CPU,
            2**28 on an accelerator.

    Returns:
        ``EpochOutputs`` of numpy arrays with the same S, V, N as ``inputs``.
    """
    f = resolve_dtype(dtype)
    n_sub, v, n = check_shapes(inputs, params)
    x, p = prepare(inputs, params, f)
    need_rows = int(np.max(np.minimum(p.max_allowed_validators, x.n_uids), initial=0))
    s_b, v_b, n_b = bucket_shape(n_sub, max(v, need_rows), n)
    devices = jax.local_devices()
    n_dev = len(devices)
    if max_batch_elements is None:
        platform = devices[0].platform
        max_batch_elements = MAX_BATCH_ELEMENTS.get(platform, MAX_BATCH_ELEMENTS_ACCELERATOR)
    if shard is None:
        shard = s_b * v_b * n_b >= MIN_SHARD_ELEMENTS * n_dev
    shard = shard and n_dev > 1 and s_b >= n_dev
    # the bound is per device: a sharded call gives each device up to max_batch_elements cells
    per_call = max_batch_elements * (n_dev if shard else 1)
    chunk = s_b
    while chunk > 1 and chunk * v_b * n_b > per_call:
        chunk //= 2
    if shard:
        chunk = -(-chunk // n_dev) * n_dev
    kernel = sharded_epoch(tuple(devices)) if shard else epoch_batched
    pending = []
    with jax.enable_x64(f is np.float64):
        for lo in range(0, max(n_sub, 1), chunk):  # dispatch every chunk (async), then collect
            xs, ps = jax.tree_util.tree_map(lambda a, lo=lo: a[lo : lo + chunk], (x, p))
            xc, pc = pad_batch(xs, ps, (chunk, v_b, n_b))
            if shard:
                xc, pc = shard_batch((xc, pc), devices)
            pending.append(kernel(xc, pc))
        parts: list[dict[str, np.ndarray]] = jax.device_get(pending)
    res = {}
    for k in parts[0]:
        whole = np.concatenate([q[k] for q in parts]) if len(parts) > 1 else parts[0][k]
        res[k] = whole[:n_sub, :v, :n] if whole.ndim == 3 else whole[:n_sub, :n]
    res["server_emission"] = rao_split(res["server_share"], inputs.emission)
    res["validator_emission"] = rao_split(res["validator_share"], inputs.emission)
    res["emission"] = rao_split(res["combined_share"], inputs.emission)
    return EpochOutputs(**res)


def empty_batch(num_subnets: int, rows: int, uids: int) -> tuple[EpochInputs, SubnetParams]:
    """An all-zero batch of the given shape (every subnet empty) — e.g. for compiling."""
    s, v, n = num_subnets, rows, uids
    x = EpochInputs(
        n_uids=np.zeros(s, np.int64),
        current_block=np.zeros(s, np.int64),
        stake=np.zeros((s, n)),
        block_at_registration=np.zeros((s, n), np.int64),
        last_update=np.zeros((s, n), np.int64),
        validator_permit=np.zeros((s, n), bool),
        row_uid=np.full((s, v), -1, np.int32),
        weights=np.zeros((s, v, n), np.uint16),
        bonds=np.zeros((s, v, n), np.uint16),
    )
    return x, SubnetParams.defaults(s)


def precompile(shapes: list[tuple[int, int, int]], dtype: Any = "float64") -> None:
    """Compile the epoch for each (S, V, N) bucket now (chain start-up), using the cache."""
    for s, v, n in shapes:
        run_epochs(*empty_batch(s, v, n), dtype=dtype)
