"""The subnet axis split over host devices gives the unsharded results; the device setting.

Device counts are fixed when JAX starts, so the multi-device checks run in subprocesses; the
shapes are tiny (few compiles) and the persistent compilation cache is on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from subnetes.consensus import sharding

SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    from subnetes.consensus import enable_compilation_cache, reference_epochs, run_epochs
    from subnetes.consensus.synthetic import random_batch
    from subnetes.consensus.sharding import shard_batch
    enable_compilation_cache()
    assert len(jax.devices()) == 4, jax.devices()
    x, p = random_batch(np.random.default_rng(5), 6, 32, 8)  # 6 subnets: padded to 8 = 4 x 2
    for dtype, tol in (("float64", 1e-9), ("float32", 1e-5)):
        want = reference_epochs(x, p, dtype=dtype)
        got = run_epochs(x, p, dtype=dtype, shard=True)
        alone = run_epochs(x, p, dtype=dtype, shard=False)
        # chunks of 4 subnets, one per device, dispatched before any is collected
        chunked = run_epochs(x, p, dtype=dtype, shard=True, max_batch_elements=8 * 32)
        for f in want._fields:
            a, b = np.asarray(getattr(got, f), float), np.asarray(getattr(want, f), float)
            lim = 1 if f.endswith("_u16") else 2 if f.endswith("emission") else tol
            if not (dtype == "float32" and f.endswith("emission")):  # rao: float64 only
                assert np.max(np.abs(a - b), initial=0) <= lim, (dtype, f)
            np.testing.assert_array_equal(getattr(got, f), getattr(alone, f), err_msg=f)
            np.testing.assert_array_equal(getattr(chunked, f), getattr(alone, f), err_msg=f)
    arrays = shard_batch((np.zeros((8, 3)),), jax.devices())
    assert len(arrays[0].sharding.device_set) == 4
    print("OK")
    """
)


def _python(code: str, tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "JAX_PLATFORMS": "cpu", **env},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


def test_sharded_over_four_cpu_devices_equals_unsharded(tmp_path) -> None:
    done = _python(SCRIPT, tmp_path, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-3000:]


COUNT = "import subnetes.consensus, jax; print(len(jax.devices()))"


@pytest.mark.parametrize("setting", ["3", "1", None])
def test_import_asks_for_the_configured_device_count(tmp_path, setting: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != sharding.ENV_VAR}
    if setting is not None:
        env[sharding.ENV_VAR] = setting
    done = subprocess.run(
        [sys.executable, "-c", COUNT],
        env={**env, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == (setting or "1")  # unset: JAX's one CPU device


def test_device_target_setting(monkeypatch) -> None:
    monkeypatch.setenv(sharding.ENV_VAR, "3")
    assert sharding.cpu_device_target() == 3
    monkeypatch.delenv(sharding.ENV_VAR)
    assert sharding.cpu_device_target() == 1
    for bad in ("0", "-2", "two"):
        monkeypatch.setenv(sharding.ENV_VAR, bad)
        with pytest.raises(ValueError, match=sharding.ENV_VAR):
            sharding.cpu_device_target()


def test_configure_leaves_forced_or_single_device_alone(monkeypatch) -> None:
    assert sharding.configure_cpu_devices(1) is False
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    assert sharding.configure_cpu_devices(4) is False
