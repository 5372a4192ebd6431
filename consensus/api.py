"""The one entry point the chain calls: ``run_epochs``."""

from __future__ import annotations

from typing import Any

from .interface import EpochInputs, EpochOutputs, SubnetParams


def run_epochs(
    inputs: EpochInputs,
    params: SubnetParams,
    *,
    dtype: Any = "float64",
) -> EpochOutputs:
    """Run the Yuma epoch of every subnet in ``inputs`` in one jitted, vmapped JAX call.

    Args:
        inputs: per-subnet state with a leading subnet axis (see ``EpochInputs``).
        params: per-subnet hyperparameters, arrays of shape [S] (see ``SubnetParams``).
        dtype: "float64" (default, Subtensor-faithful) or "float32" (faster). 64-bit mode is
            enabled only for the duration of the call.

    Returns:
        ``EpochOutputs`` of numpy arrays with the same S, V, N as ``inputs``.
    """
    raise NotImplementedError("consensus implementation in progress (issue 3)")
