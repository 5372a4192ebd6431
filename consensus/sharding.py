"""Use every core: split the subnet axis of a padded batch across local devices.

JAX can expose several host devices (``jax_num_cpu_devices``), each running its programs on
its own thread; subnets never interact, so ``sharded_epoch`` runs the kernel with
``shard_map``: every device computes its own slice of subnets with the same program as the
unsharded path, with no collectives (the kernel's loops stop per device).
``configure_cpu_devices`` runs when ``subnetes.consensus`` is imported and asks for
``$SUBNETES_CONSENSUS_CPU_DEVICES`` host devices. Unset, it keeps JAX's one CPU device: XLA:CPU
(jax 0.10) already spreads the unsharded kernel over the cores, and sharding measured no faster
on the 2-core machine (docs/consensus.md, "Every core").
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .epoch import KernelParams, epoch_vmapped
from .interface import EpochInputs

log = logging.getLogger(__name__)

ENV_VAR = "SUBNETES_CONSENSUS_CPU_DEVICES"
AXIS = "subnets"


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_device_target() -> int:
    """Host devices wanted: ``$SUBNETES_CONSENSUS_CPU_DEVICES`` (e.g. ``$(nproc)``), else 1."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw:
        try:
            count = int(raw)
        except ValueError:
            raise ValueError(f"{ENV_VAR} must be a positive integer, got {raw!r}") from None
        if count < 1:
            raise ValueError(f"{ENV_VAR} must be a positive integer, got {raw!r}")
        return count
    return 1


def configure_cpu_devices(count: int | None = None) -> bool:
    """Ask JAX for ``count`` host devices (default ``cpu_device_target()``).

    Must run before JAX starts its backends (``subnetes.consensus`` calls it on import). It
    leaves JAX alone when ``count`` is 1, when ``XLA_FLAGS`` already forces a device count, or
    when the process already set ``jax_num_cpu_devices``; once the backends are running it
    cannot change anything and only logs that. Returns whether the setting was applied.
    """
    count = cpu_device_target() if count is None else count
    if count <= 1 or "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return False
    if jax.config.values.get("jax_num_cpu_devices", -1) >= 0:  # set by the process itself
        return False
    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError:  # the backends are already initialized
        log.info("JAX already started: consensus keeps %d CPU device(s)", len(jax.devices("cpu")))
        return False
    return True


def shard_batch(tree: Any, devices: list[Any]) -> Any:
    """Place every array of ``tree`` with its leading (subnet) axis split over ``devices``.

    The leading axis must be a multiple of ``len(devices)``.
    """
    spec = NamedSharding(Mesh(np.array(devices), (AXIS,)), PartitionSpec(AXIS))
    return jax.tree_util.tree_map(lambda a: jax.device_put(a, spec), tree)


@functools.lru_cache(maxsize=8)
def sharded_epoch(
    devices: tuple[Any, ...],
) -> Callable[[EpochInputs, KernelParams], dict[str, jax.Array]]:
    """The jitted batched epoch with the subnet axis split over ``devices`` (``shard_map``).

    Each device runs ``epoch_vmapped`` on its own subnets: the same per-device program as an
    unsharded call of that many subnets, so results match the unsharded path.
    """
    spec = PartitionSpec(AXIS)
    mesh = Mesh(np.array(devices), (AXIS,))
    # check_vma off: the kernel's loops start from replicated constants (no collectives, every
    # value is per device anyway), which the varying-axis check would reject
    mapped = jax.shard_map(epoch_vmapped, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False)
    return jax.jit(mapped)
