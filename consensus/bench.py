"""Benchmark: batched JAX epoch vs the NumPy reference and the vectorized NumPy baseline.

    python -m subnetes.consensus.bench [--json] [--quick] [--sizes S,N,V ...] [--dtype ...]
                                       [--cpu-devices K] [--no-unsharded]

For each size (S subnets, N UIDs, V validator rows) it measures, in one run: JAX compile time
(first call minus a warm call), the median warm time of a whole-network ``run_epochs`` call
(host preparation and copies included), the NumPy reference time (``reference.py``: one
subnet at a time, consensus column by column — clarity first) and the vectorized NumPy
baseline time (``baseline.py``: the same epoch with the consensus vectorized over columns),
and the ratios numpy/jax against both. The primary columns are float32 (the issue's CPU
targets are float32 figures); ``--dtype both`` adds the float64 columns. ``--json`` prints one
JSON object per row with the keys subnets, uids, validators, jax_compile_s, jax_ms, numpy_ms,
ratio (against the reference), numpy_vec_ms, ratio_vec (against the baseline), plus dtype,
platform and devices.

The bench starts JAX with one host device per core (``--cpu-devices K`` or
``$SUBNETES_CONSENSUS_CPU_DEVICES`` picks another count; 1: unsharded only), so ``run_epochs``
splits the subnet axis over them (``sharding.py``). With more than one device, each row also
measures the same call on one device (``shard=False``), interleaved with the sharded call so
that load from other processes hits both alike: keys jax_1dev_ms and shard_speedup
(jax_1dev_ms / jax_ms); ``--no-unsharded`` skips that column. Every row carries load_avg_1m.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

DEFAULT_SIZES = [(1, 256, 64), (32, 256, 64), (128, 256, 64), (128, 1024, 128), (128, 4096, 256)]
QUICK_SIZES = [(1, 256, 64), (32, 256, 64), (128, 256, 64)]


def _parse_size(text: str) -> tuple[int, int, int]:
    s, n, v = (int(t) for t in text.replace("x", ",").split(","))
    return s, n, v


def _fits_in_memory(s: int, n: int, v: int, itemsize: int) -> bool:
    """Rough check that inputs, outputs, reference temporaries and one JAX chunk fit in RAM."""
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return True
    cells = s * v * n
    chunk = min(cells, 2**21)  # run_epochs' MAX_BATCH_ELEMENTS on CPU
    need = cells * (2 + 2 + itemsize + 2) * 2 + chunk * itemsize * 16 + v * n * itemsize * 40
    return need < 0.7 * avail


def _median_ms(fn: Any, repeats: int) -> float:
    return _medians_ms([fn], repeats)[0]


def _medians_ms(fns: list[Any], repeats: int) -> list[float]:
    """Median wall time of each of ``fns``, run in turn ``repeats`` times (interleaved, so that
    a burst of load from other processes hits every variant alike)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return [statistics.median(t) * 1e3 for t in times]


def bench_size(
    s: int,
    n: int,
    v: int,
    dtype: str,
    repeats: int,
    numpy_repeats: int,
    seed: int = 0,
    unsharded: bool = True,
) -> dict[str, Any]:
    """Measure one (S, N, V) size in one dtype; with several devices and ``unsharded``, also
    the one-device call."""
    import jax
    import numpy as np

    from .api import run_epochs
    from .baseline import baseline_epochs
    from .reference import reference_epochs
    from .synthetic import random_batch

    x, p = random_batch(np.random.default_rng(seed), s, n, v)
    t0 = time.perf_counter()
    run_epochs(x, p, dtype=dtype)
    first = time.perf_counter() - t0
    variants = [lambda: run_epochs(x, p, dtype=dtype)]
    one_device = unsharded and len(jax.local_devices()) > 1
    if one_device:
        run_epochs(x, p, dtype=dtype, shard=False)  # compile outside the timing
        variants.append(lambda: run_epochs(x, p, dtype=dtype, shard=False))
    # Times are rounded first and the ratios taken from the rounded times, so a reader of the
    # JSON who divides two printed times gets the printed ratio (unrounded ratios differed in the
    # last digit now and then).
    jax_ms, *rest = (round(t, 3) for t in _medians_ms(variants, repeats))
    numpy_ms = round(_median_ms(lambda: reference_epochs(x, p, dtype=dtype), numpy_repeats), 3)
    numpy_vec_ms = round(_median_ms(lambda: baseline_epochs(x, p, dtype=dtype), numpy_repeats), 3)
    extra = {}
    if rest:
        extra = {"jax_1dev_ms": rest[0], "shard_speedup": round(rest[0] / jax_ms, 2)}
    return {
        "subnets": s,
        "uids": n,
        "validators": v,
        "dtype": dtype,
        "jax_compile_s": round(max(first - jax_ms / 1e3, 0.0), 3),
        "jax_ms": jax_ms,
        "numpy_ms": numpy_ms,
        "ratio": round(numpy_ms / jax_ms, 2),
        "numpy_vec_ms": numpy_vec_ms,
        "ratio_vec": round(numpy_vec_ms / jax_ms, 2),
        "platform": jax.devices()[0].platform,
        "devices": len(jax.devices()),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        **extra,
    }


def _start_cpu_devices(count: int | None) -> None:
    """Ask JAX for ``count`` host devices (default: the setting, else one per core); a note on
    stderr when an explicit count cannot apply because JAX already started."""
    import sys

    import jax

    from .sharding import ENV_VAR, usable_cores

    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return
    want = count or (int(os.environ[ENV_VAR]) if os.environ.get(ENV_VAR) else usable_cores())
    try:
        jax.config.update("jax_num_cpu_devices", want)
    except RuntimeError:
        if count is not None:
            print(
                f"note: JAX already started; --cpu-devices {count} has no effect", file=sys.stderr
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m subnetes.consensus.bench", description=__doc__)
    ap.add_argument("--json", action="store_true", help="print rows as JSON objects")
    ap.add_argument("--quick", action="store_true", help="small sizes, fewer repeats")
    ap.add_argument("--sizes", nargs="+", type=_parse_size, help="S,N,V triples")
    ap.add_argument("--dtype", choices=["float32", "float64", "both"], default="float32")
    ap.add_argument("--repeats", type=int, default=None, help="warm JAX runs per size")
    ap.add_argument("--cache", action="store_true", help="use the persistent compilation cache")
    ap.add_argument(
        "--cpu-devices",
        type=int,
        default=None,
        help="host devices to shard the subnet axis over on CPU (default: "
        "$SUBNETES_CONSENSUS_CPU_DEVICES, else one per core; 1: unsharded). Only effective "
        "before JAX starts.",
    )
    ap.add_argument(
        "--no-unsharded", action="store_true", help="skip the one-device (shard=False) column"
    )
    args = ap.parse_args(argv)
    if args.cpu_devices is not None and args.cpu_devices < 1:
        ap.error("--cpu-devices must be >= 1")
    _start_cpu_devices(args.cpu_devices)

    if args.cache:
        from .cache import enable_compilation_cache

        enable_compilation_cache()
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]
    rows: list[dict[str, Any]] = []
    for s, n, v in sizes:
        for dtype in dtypes:
            if not _fits_in_memory(s, n, v, 8 if dtype == "float64" else 4):
                rows.append({"subnets": s, "uids": n, "validators": v, "dtype": dtype,
                             "skipped": "not enough memory"})  # fmt: skip
                continue
            big = s * n * v > 2**24
            repeats = args.repeats or (3 if big else 7 if args.quick else 15)
            row = bench_size(
                s, n, v, dtype, repeats, 1 if big else 3, unsharded=not args.no_unsharded
            )
            rows.append(row)
            if args.json:
                print(json.dumps(rows[-1]), flush=True)
    if not args.json:
        _print_table(rows)
    return 0


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    done = [r for r in rows if "skipped" not in r]
    where = f"{done[0]['platform']} x{done[0]['devices']}" if done else "-"
    table = Table(title=f"Yuma epoch, whole network per call (JAX on {where})", box=box.SIMPLE)
    one_dev = any("jax_1dev_ms" in r for r in done)
    columns = ("S", "N", "V", "dtype", "jit s", "jax ms", *(("1dev ms", "1dev/jax") if one_dev
               else ()), "ref ms", "ref/jax", "vec ms", "vec/jax", "load")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="right", min_width=len(col))
    for r in rows:
        size = (str(r["subnets"]), str(r["uids"]), str(r["validators"]), r["dtype"])
        if "skipped" in r:
            table.add_row(*size, *["-"] * (len(columns) - 6), r["skipped"], "-")
            continue
        sharded = (f"{r['jax_1dev_ms']:.2f}", f"{r['shard_speedup']:.2f}x") if one_dev else ()
        table.add_row(
            *size,
            f"{r['jax_compile_s']:.2f}",
            f"{r['jax_ms']:.2f}",
            *(sharded if "jax_1dev_ms" in r else ("-", "-")[: len(sharded)]),
            f"{r['numpy_ms']:.1f}",
            f"{r['ratio']:.1f}x",
            f"{r['numpy_vec_ms']:.1f}",
            f"{r['ratio_vec']:.1f}x",
            f"{r['load_avg_1m']:.1f}",
        )
    console = Console()
    if not console.is_terminal:  # a log or a pipe: never cut columns to the default 80
        console = Console(width=120)
    console.print(table)
    print(
        "ref: NumPy reference.py (one subnet at a time, consensus column by column); vec: NumPy "
        "baseline.py (the same, consensus vectorized over columns). Same results.\n"
        f"jax: the default call (subnets split over {done[0]['devices'] if done else '-'} "
        "device(s)); 1dev: the same call on one device (shard=False), timed interleaved with it; "
        "load: 1-minute load average after the row."
    )


if __name__ == "__main__":
    raise SystemExit(main())
