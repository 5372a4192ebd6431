"""Split the subnet axis of a padded batch across local devices (jax.sharding)."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def shard_batch(tree: Any, devices: list[Any]) -> Any:
    """Place every array of ``tree`` with its leading (subnet) axis split over ``devices``.

    The leading axis must be a multiple of ``len(devices)``; the jitted epoch then runs each
    device's subnets locally (subnets never interact).
    """
    mesh = Mesh(np.array(devices), ("subnets",))
    spec = NamedSharding(mesh, PartitionSpec("subnets"))
    return jax.tree_util.tree_map(lambda a: jax.device_put(a, spec), tree)
