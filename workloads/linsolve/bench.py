"""What checking a linsolve answer costs next to solving it, side by side in one run.

``python -m subnetes.workloads.linsolve.bench --sizes 512,1024,2048 --k 1,16 --rounds 20``
prints, per (n, k): the miner's solve (LAPACK LU), the validator's residual check (the
projections and the tolerance), regenerating the system from the seed (both sides do it), and
the solve/check ratio. Median of ``--repeat`` runs. Run by hand (not a timed test); quote the
machine's load average next to the figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .challenge import MAX_K, MAX_N, Challenge, system
from .residual import verify
from .solver import solve


@dataclass(frozen=True)
class Row:
    """One size's medians in milliseconds."""

    n: int
    k: int
    solve_ms: float
    check_ms: float
    generate_ms: float

    @property
    def ratio(self) -> float:
        return self.solve_ms / max(self.check_ms, 1e-9)


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def measure(n: int, k: int, rounds: int, repeat: int = 3) -> Row:
    """Time solve, check and generation for one (n, k); the check must accept the answer."""
    ch = Challenge(seed=12345, n=n, k=k)
    a, b = system(ch)
    x = solve(ch)
    rng = np.random.default_rng(0)
    if not verify(a, b, x, rounds, rng):
        raise AssertionError(f"the check rejected an honest answer at n={n}, k={k}")
    return Row(
        n,
        k,
        solve_ms=_median_ms(lambda: np.linalg.solve(a, b), repeat),
        check_ms=_median_ms(lambda: verify(a, b, x, rounds, rng), repeat),
        generate_ms=_median_ms(lambda: system(ch), repeat),
    )


def table(rows: list[Row]) -> str:
    """The rows as an aligned text table."""
    lines = [
        f"{'n':>6} {'k':>4} {'solve ms':>10} {'check ms':>10} {'gen ms':>8} {'solve/check':>12}"
    ]
    for r in rows:
        lines.append(
            f"{r.n:>6} {r.k:>4} {r.solve_ms:>10.2f} {r.check_ms:>10.2f} {r.generate_ms:>8.2f}"
            f" {r.ratio:>12.1f}"
        )
    return "\n".join(lines)


def _ints(raw: str, hi: int) -> list[int]:
    try:
        out = [int(x) for x in raw.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {raw!r}"
        ) from None
    if not all(1 <= v <= hi for v in out):
        raise argparse.ArgumentTypeError(f"values must be in 1..{hi}, got {raw!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse the sizes, measure, print the table."""
    p = argparse.ArgumentParser(
        prog="python -m subnetes.workloads.linsolve.bench", description=__doc__
    )
    p.add_argument("--sizes", type=lambda s: _ints(s, MAX_N), default=[256, 512, 1024])
    p.add_argument("--k", type=lambda s: _ints(s, MAX_K), default=[1, 16])
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    rows = [measure(n, k, args.rounds, args.repeat) for n in args.sizes for k in args.k]
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
