"""subnetes.consensus — Subtensor's Yuma epoch for many subnets in one batched JAX call.

Public API: ``run_epochs(inputs, params, *, dtype="float64") -> EpochOutputs`` with the pytrees
``EpochInputs`` / ``SubnetParams`` / ``EpochOutputs`` (layout: ``subnetes.consensus.interface``).
"""

from .api import run_epochs
from .interface import EpochInputs, EpochOutputs, SubnetParams

__all__ = ["EpochInputs", "EpochOutputs", "SubnetParams", "run_epochs"]
