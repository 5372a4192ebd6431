"""subnetes.consensus — Subtensor's Yuma epoch for many subnets in one batched JAX call.

Public API: ``run_epochs(inputs, params, *, dtype="float64") -> EpochOutputs`` with the pytrees
``EpochInputs`` / ``SubnetParams`` / ``EpochOutputs`` (layout: ``subnetes.consensus.interface``);
``enable_compilation_cache()`` and ``precompile(shapes)`` for chain start-up;
``reference_epochs`` is the NumPy reference with the same contract.

With ``SUBNETES_CONSENSUS_CPU_DEVICES=K`` set, importing this package asks JAX (if it has not
started yet) for K host devices, and ``run_epochs`` splits the subnet axis over them
(``sharding.py``); unset, JAX keeps one CPU device.
"""

from .api import empty_batch, precompile, run_epochs
from .buckets import bucket, bucket_shape
from .cache import enable_compilation_cache
from .interface import EpochInputs, EpochOutputs, SubnetParams
from .reference import reference_epochs
from .sharding import configure_cpu_devices

# Before anything runs JAX (importing the modules above does not start its backends).
configure_cpu_devices()

__all__ = [
    "EpochInputs",
    "EpochOutputs",
    "SubnetParams",
    "bucket",
    "bucket_shape",
    "empty_batch",
    "enable_compilation_cache",
    "precompile",
    "reference_epochs",
    "run_epochs",
]
