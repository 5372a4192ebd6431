"""Restart to first block, side by side with the previous start-up: ``python -m
subnetes.chain.bench_restart`` (``--network``: 128 subnets x 256 UIDs, 64 validators each).

Seeds the network as ``bench_network`` does (weights and bonds on every validator), runs the
real node (``subnetes chain run``, real consensus) for a few blocks, then restarts it in turn:

* ``new, clean stop``: after SIGINT, which writes the state snapshot (chain/snapshot.py);
* ``old``: the start-up before it (every state chunk decoded with the garbage collector on,
  JAX imported only after the state is loaded, the first block one block time after the
  compile, no snapshot written at the stop);
* ``new, after a crash``: the old run's blocks made the snapshot stale, so the chunks are
  read (as after a crash), with the collector paused and JAX imported meanwhile;
* ``new, clean stop`` again.

Each figure is the wall time from starting the process to the node's head passing the last
block before the stop (the first block's slot: ``--block-time`` from the start, or at once when
the start-up took longer), with the node's CPU seconds by then (user + system: on a loaded
machine wall time is mostly waiting for a core), its own "state loaded" time from its log and
the load average beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import bench_network as bn


def _use_old_startup() -> None:
    """The start-up before chain/snapshot.py: chunks decoded with the collector on, JAX
    imported on the event loop after the state is loaded, nothing written at the stop, the
    first block's slot counted from the end of the compile."""
    import concurrent.futures

    from . import server, snapshot
    from .node import Node
    from .state import State
    from .warmup import Warmup, enable_cache

    def load_state(storage: Any, config: Any, head: Any, use: bool) -> State:
        t0 = time.perf_counter()
        st = State.load(config, storage.load_chunks())
        snapshot.log.info("state loaded from its chunks in %.2f s", time.perf_counter() - t0)
        return st

    def begin(self: Warmup, cache_dir: Any) -> concurrent.futures.Future[Any]:
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        fut.set_result(None)  # JAX is imported after the ledger is open (open_ledger)
        return fut

    opened = server._open_ledger

    async def open_ledger(*a: Any) -> Any:
        out = await opened(*a)
        enable_cache(None)  # the old order: JAX after the state (same cache directory)
        return out

    node_start = Node.start

    def start(self: Node, first_now: bool = False, first_at: float | None = None) -> Any:
        return node_start(self, first_now)  # the first block one block time after the compile

    Node.start = start  # type: ignore[method-assign]
    snapshot.load_state = load_state  # type: ignore[assignment]
    Warmup.begin = begin  # type: ignore[method-assign]
    server._save_snapshot = lambda ledger: None
    server._open_ledger = open_ledger  # type: ignore[assignment]


def start(
    db: Path, port: int, block_time: float, log: Path, times: Path, old: bool
) -> tuple[subprocess.Popen[bytes], float]:
    cmd = [
        sys.executable, "-m", "subnetes.chain.bench_restart", "--node", str(times),
        "old" if old else "new", "--", "chain", "run", "--db", str(db), "--port", str(port),
        "--block-time", str(block_time),
    ]  # fmt: skip
    t0 = time.perf_counter()
    with open(log, "ab") as f:
        f.write(f"---- start ({'old' if old else 'new'})\n".encode())
        f.flush()
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
    return proc, t0


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used: on a loaded machine the wall time
    mostly measures waiting for a core; this does not."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _loaded_line(log: Path) -> str:
    """The node's own state-load line of its latest start."""
    text = log.read_text(errors="replace").rsplit("---- start", 1)[-1]
    m = re.findall(r"state loaded from (?:the snapshot of block \d+|its chunks) in [\d.]+ s", text)
    return m[-1] if m else "?"


async def run(a: argparse.Namespace, d: Path) -> list[dict[str, Any]]:
    db, log, times = d / "chain.db", d / "node.log", d / "block-times.txt"
    url = f"http://127.0.0.1:{a.port}"
    t = time.perf_counter()
    head = bn.seed(str(db), a.subnets, a.uids, a.validators, a.tempo)
    print(f"seeded {a.subnets} x {a.uids} in {time.perf_counter() - t:.1f} s", flush=True)
    rows: list[dict[str, Any]] = []
    plan = [("first start (compiles)", False)] + [
        (name, old)
        for _ in range(a.rounds)
        for name, old in (
            ("new, clean stop (snapshot)", False),
            ("old", True),
            ("new, after a crash (chunks)", False),
        )
    ]
    plan.append(("new, clean stop (snapshot)", False))
    for name, old in plan:
        load = bn.load()
        proc, t0 = start(db, a.port, a.block_time, log, times, old)
        try:
            await bn.wait_block_after(url, head, 600)
            took, cpu = time.perf_counter() - t0, cpu_s(proc.pid)
            row = {"run": name, "s": took, "cpu": cpu, "load": load, "node": _loaded_line(log)}
            rows.append(row)
            print(
                f"  {name}: {took:.2f} s, CPU {cpu:.2f} s (load {load}) {row['node']}", flush=True
            )
            await asyncio.sleep(a.block_time * a.blocks)
            async with __import__("aiohttp").ClientSession() as s:
                head = await bn.head_of(s, url) or head
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(120)
    return rows


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--node"]:  # the node child process (start)
        if argv[2] == "old":
            _use_old_startup()
        sys.exit(bn._node_main(argv[1], False, argv[4:]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", action="store_true", help="128 x 256, 64 validators")
    ap.add_argument("--subnets", type=int, default=8)
    ap.add_argument("--uids", type=int, default=64)
    ap.add_argument("--validators", type=int, default=16)
    ap.add_argument("--tempo", type=int, default=None, help="9; 99 with --network")
    ap.add_argument("--block-time", type=float, default=1.0)
    ap.add_argument("--blocks", type=int, default=3, help="blocks each run produces")
    ap.add_argument("--rounds", type=int, default=1, help="new/old/crash rounds")
    ap.add_argument("--port", type=int, default=19945)
    ap.add_argument("--keep", help="keep the database and node log in this directory")
    a = ap.parse_args(argv)
    if a.network:
        a.subnets, a.uids, a.validators = 128, 256, 64
    if a.tempo is None:
        a.tempo = 99 if a.network else 9
    d = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="bench-restart-"))
    d.mkdir(parents=True, exist_ok=True)
    for p in d.glob("chain.db*"):
        p.unlink()
    for name in ("node.log", "block-times.txt"):
        (d / name).unlink(missing_ok=True)
    rows = asyncio.run(run(a, d))
    print(
        f"\nrestart to first block: {a.subnets} subnets x {a.uids} UIDs, {a.validators} "
        f"validators each, block time {a.block_time} s (the first block waits one), "
        f"{os.cpu_count()} cores"
    )
    print("| start | to first block s | node CPU s by then | node: state load | load average |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['s']:.2f} | {r['cpu']:.2f} | {r['node']} | {r['load']} |")
    print(f"(node log: {d / 'node.log'})")


if __name__ == "__main__":
    main()
