"""Benchmark: batched JAX epoch vs the NumPy reference and the vectorized NumPy baseline.

    python -m subnetes.consensus.bench [--json] [--quick] [--sizes S,N,V ...] [--dtype ...]
                                       [--cpu-devices K]

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
XLA:CPU runs each fusion on one thread; ``--cpu-devices K`` shards the subnet axis over K XLA
host devices (threads) instead — on the 2-core development machine it did not help.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

DEFAULT_SIZES = [(1, 256, 64), (32, 256, 64), (128, 256, 64), (128, 1024, 128), (256, 4096, 256)]
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
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def bench_size(
    s: int, n: int, v: int, dtype: str, repeats: int, numpy_repeats: int, seed: int = 0
) -> dict[str, Any]:
    """Measure one (S, N, V) size in one dtype."""
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
    jax_ms = _median_ms(lambda: run_epochs(x, p, dtype=dtype), repeats)
    numpy_ms = _median_ms(lambda: reference_epochs(x, p, dtype=dtype), numpy_repeats)
    numpy_vec_ms = _median_ms(lambda: baseline_epochs(x, p, dtype=dtype), numpy_repeats)
    return {
        "subnets": s,
        "uids": n,
        "validators": v,
        "dtype": dtype,
        "jax_compile_s": round(max(first - jax_ms / 1e3, 0.0), 3),
        "jax_ms": round(jax_ms, 3),
        "numpy_ms": round(numpy_ms, 3),
        "ratio": round(numpy_ms / jax_ms, 2),
        "numpy_vec_ms": round(numpy_vec_ms, 3),
        "ratio_vec": round(numpy_vec_ms / jax_ms, 2),
        "platform": jax.devices()[0].platform,
        "devices": len(jax.devices()),
    }


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
        default=1,
        help="XLA host devices to shard the subnet axis over on CPU (default 1; e.g. one per "
        "core). Only effective before JAX starts its backend.",
    )
    args = ap.parse_args(argv)
    if args.cpu_devices > 1 and "xla_force_host_platform_device_count" not in os.environ.get(
        "XLA_FLAGS", ""
    ):
        flag = f"--xla_force_host_platform_device_count={args.cpu_devices}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()

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
            rows.append(bench_size(s, n, v, dtype, repeats, 1 if big else 3))
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
    columns = ("S", "N", "V", "dtype", "jit s", "jax ms", "ref ms", "ref/jax", "vec ms",
               "vec/jax")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="right", min_width=len(col))
    for r in rows:
        size = (str(r["subnets"]), str(r["uids"]), str(r["validators"]), r["dtype"])
        if "skipped" in r:
            table.add_row(*size, "-", "-", "-", r["skipped"], "-", "-")
            continue
        table.add_row(
            *size,
            f"{r['jax_compile_s']:.2f}",
            f"{r['jax_ms']:.2f}",
            f"{r['numpy_ms']:.1f}",
            f"{r['ratio']:.1f}x",
            f"{r['numpy_vec_ms']:.1f}",
            f"{r['ratio_vec']:.1f}x",
        )
    console = Console()
    if not console.is_terminal:  # a log or a pipe: never cut columns to the default 80
        console = Console(width=120)
    console.print(table)
    print(
        "ref: NumPy reference.py (one subnet at a time, consensus column by column); vec: NumPy "
        "baseline.py (the same, consensus vectorized over columns). Same results."
    )


if __name__ == "__main__":
    raise SystemExit(main())
