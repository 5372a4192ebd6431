"""The subnet axis split over 4 (forced host) devices gives the reference's results."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    from subnetes.consensus import reference_epochs, run_epochs
    from subnetes.consensus.synthetic import random_batch
    from subnetes.consensus.sharding import shard_batch
    assert len(jax.devices()) == 4, jax.devices()
    x, p = random_batch(np.random.default_rng(5), 6, 32, 8)
    want = reference_epochs(x, p)
    got = run_epochs(x, p)  # shards by default with > 1 device
    alone = run_epochs(x, p, shard=False)
    for f in want._fields:
        a, b = np.asarray(getattr(got, f), float), np.asarray(getattr(want, f), float)
        assert np.max(np.abs(a - b), initial=0) <= (2 if f.endswith(("_u16", "emission")) else 1e-9), f
        np.testing.assert_array_equal(getattr(got, f), getattr(alone, f), err_msg=f)
    arrays = shard_batch((np.zeros((8, 3)),), jax.devices())
    assert len(arrays[0].sharding.device_set) == 4
    print("OK")
    """
)


def test_sharded_over_four_cpu_devices(tmp_path) -> None:
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu"
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-3000:]
