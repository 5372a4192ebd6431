"""The miner's computation: ``A @ B`` with JAX, on the first device JAX finds (GPU when present)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .challenge import Challenge, operands

if TYPE_CHECKING:  # imported lazily at run time (see _matmul)
    import jax


@functools.cache
def _matmul() -> Callable[[np.ndarray, np.ndarray], jax.Array]:
    import jax
    import jax.numpy as jnp

    # HIGHEST: true float32 on GPUs whose default float32 matmul is TF32 (whose error the
    # validator's float32 tolerance would rightly reject).
    return jax.jit(lambda a, b: jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST))


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` on the default JAX device, returned as a host NumPy array of ``a``'s dtype."""
    out = _matmul()(a, b)
    return np.asarray(out).astype(a.dtype, copy=False)


def solve(ch: Challenge) -> np.ndarray:
    """Answer a challenge: regenerate its operands and multiply them."""
    a, b = operands(ch)
    return matmul(a, b)


def device_kind() -> str:
    """What JAX computes on, for logs (e.g. ``gpu:NVIDIA H100`` or ``cpu``)."""
    import jax

    d = jax.devices()[0]
    return f"{d.platform}:{getattr(d, 'device_kind', '')}".rstrip(":")
