"""The hotkey claim check's cost per reconcile at fleet sizes, side by side (not a test).

    .venv/bin/python hack/bench_operator_index.py [--sizes 500 2000 5000]

Every Miner/Validator reconcile asks who else holds its hotkey (``neurons.hotkey_unshared``).
"before" is the check as it was until issue 19: :func:`holders` over every status the operator
holds (a scan per reconcile, so the fleet's reconciles cost N^2); "after" reads the holders of
that one hotkey from ``Indexes.status_hotkeys``. Both give the same answer (checked here).
"""

from __future__ import annotations

import argparse
import time

from subnetes.operator.hotkey_claims import Holder, first_claimant, holders
from subnetes.operator.runtime import Indexes, Key

T = "2026-01-01T00:00:00Z"


def fleet(n: int) -> Indexes:
    idx = Indexes()
    for i in range(n):
        meta = {"namespace": "ns", "name": f"m-{i}", "creationTimestamp": T}
        idx.observe("Miner", {"metadata": meta, "status": {"hotkey": f"5H{i}", "netuid": 1}})
    return idx


def before(idx: Indexes, me: Holder) -> Key | None:
    return first_claimant(me, True, holders(idx.status, idx.hotkeys, idx.bodies))


def after(idx: Indexes, me: Holder) -> Key | None:
    assert me.hotkey is not None
    indexed = idx.hotkeys.get(me.hotkey)
    mine = {me.hotkey: indexed} if indexed is not None else {}
    return first_claimant(me, True, holders(idx.statuses_naming(me.hotkey), mine, idx.bodies))


def per_call_ms(fn: object, idx: Indexes, n: int, reps: int) -> float:
    start = time.perf_counter()
    for r in range(reps):
        i = r % n
        fn(idx, Holder(("Miner", "ns", f"m-{i}"), f"5H{i}", T))  # type: ignore[operator]
    return (time.perf_counter() - start) / reps * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 5000])
    a = ap.parse_args()
    print("| neurons | before ms/reconcile | after ms/reconcile | ratio | before s/fleet pass |")
    print("|---|---|---|---|---|")
    for n in a.sizes:
        idx = fleet(n)
        for i in (0, n // 2, n - 1):
            me = Holder(("Miner", "ns", f"m-{i}"), f"5H{i}", T)
            assert before(idx, me) == after(idx, me)
        b = per_call_ms(before, idx, n, max(20, 20_000 // n))
        f = per_call_ms(after, idx, n, 5000)
        print(f"| {n} | {b:.2f} | {f:.4f} | {b / f:.0f}x | {b * n / 1000:.1f} |")


if __name__ == "__main__":
    main()
