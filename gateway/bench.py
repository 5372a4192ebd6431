"""``python -m subnetes.gateway.bench``: requests/s and p50/p99 latency through the gateway vs
calling the best miner directly, with 4 and 16 miners (a benchmark, not a test).

Everything runs on this machine as real processes on 127.0.0.1: a chain (dev profile), one
process hosting the N compute miners' axons, and the gateway (``python -m subnetes.gateway``).
The gateway's hotkey is staked (validator permit) and sets weights that rank the miners, so the
"best miner" is the one with the most incentive. The direct path is a signed dendrite query to
that miner without verification (what a client without a gateway gets); the gateway path adds
routing, Freivalds verification and the HTTP hop.

    python -m subnetes.gateway.bench --miners 4,16 --requests 400 --concurrency 16 --size 64
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import yaml

KEY = "sk-bench-0123456789abcdef"


@dataclass(frozen=True)
class Result:
    """One load run."""

    miners: int
    path: str  # gateway | direct
    requests: int
    concurrency: int
    seconds: float
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def _spawn(
    args: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUBNETES_")}
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        env={**base, "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu"), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


async def load(
    fn: Callable[[int], Awaitable[bool]], requests: int, concurrency: int
) -> tuple[float, int, list[float]]:
    """Run ``fn(i)`` for i < requests, ``concurrency`` at a time: (seconds, errors, latencies)."""
    sem = asyncio.Semaphore(concurrency)
    lat: list[float] = []
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        async with sem:
            t0 = time.perf_counter()
            ok = await fn(i)
            lat.append(time.perf_counter() - t0)
            errors += not ok

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(requests)))
    return time.perf_counter() - t0, errors, lat


def summarize(
    miners: int, path: str, concurrency: int, seconds: float, errors: int, lat: list[float]
) -> Result:
    """Requests/s over the run and latency percentiles in ms."""
    a = np.asarray(lat)
    return Result(
        miners, path, len(lat), concurrency, round(seconds, 3), errors,
        round(len(lat) / seconds, 1),
        round(float(np.percentile(a, 50)) * 1000, 2), round(float(np.percentile(a, 99)) * 1000, 2),
    )  # fmt: skip


# -- the miner farm: N axons in one process -------------------------------------------------------


async def _farm(chain: str, netuid: int, specs: list[str]) -> None:
    from subnetes.sdk.axon import Axon
    from subnetes.sdk.chain_client import ServiceChain
    from subnetes.sdk.keys import load_hotkey
    from subnetes.sdk.lifecycle import install_stop_signals
    from subnetes.workloads.compute.miner import ComputeMiner
    from subnetes.workloads.compute.protocol import ROUTE, MatmulRequest

    stop = asyncio.Event()
    install_stop_signals(stop)
    axons = []
    for spec in specs:
        keyfile, port = spec.rsplit(":", 1)
        kp = load_hotkey(keyfile)
        ax = Axon(kp, netuid, ServiceChain(chain, kp), port=int(port), refresh_s=2.0)
        ax.route(ROUTE, MatmulRequest, ComputeMiner().handle)
        await ax.start()
        axons.append(ax)
    await stop.wait()
    for ax in axons:
        await ax.stop()
        await ax.chain.close()


# -- one scenario -------------------------------------------------------------------------------


class Scenario:
    """A subnet with ``n`` miners and a gateway on the chain at ``chain``."""

    def __init__(self, chain: str, n: int, tmp: Path) -> None:
        from bittensor_wallet import Keypair

        from subnetes.chain.client import ChainClient
        from subnetes.chain.units import tao
        from subnetes.sdk.keys import write_hotkey

        self.n, self.tmp, self.chain = n, tmp, chain
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        alice = Keypair.create_from_uri("//Alice")
        c = self.c = ChainClient(chain)
        owner = Keypair.create_from_uri(f"//bench-owner-{n}")
        res = c.register_network(alice, owner.ss58_address)
        self.netuid = next(e["netuid"] for e in res["events"] if e["type"] == "SubnetRegistered")
        self.gw = Keypair.create_from_uri(f"//bench-gw-{n}")
        keys = [Keypair.create_from_uri(f"//bench-{n}-miner-{i}") for i in range(n)]
        for kp in [self.gw, *keys]:
            c.burned_register(alice, self.netuid, kp.ss58_address)
        c.add_stake(alice, self.gw.ss58_address, tao(100))
        specs = []
        for i, kp in enumerate(keys):
            port = _free_port()
            c.serve_axon(kp, self.netuid, "127.0.0.1", port)
            specs.append(f"{write_hotkey(tmp / f'm{n}-{i}.key', kp)}:{port}")
        write_hotkey(tmp / f"gw{n}.key", self.gw)
        (tmp / "keys.yaml").write_text(
            yaml.safe_dump(
                {"keys": [{"name": "bench", "key": KEY, "requestsPerSecond": 1e6, "burst": 10**6}]}
            )
        )
        self.procs["farm"] = _spawn(
            ["subnetes.gateway.bench", "farm", chain, str(self.netuid), *specs],
            tmp / f"farm{n}.log",
        )
        for spec in specs:
            url = f"http://127.0.0.1:{spec.rsplit(':', 1)[1]}/healthz"
            _wait(functools.partial(_ok, url), 120, "the miners")
        gw_uid = c.uid_of(self.netuid, self.gw.ss58_address)
        _wait(
            lambda: any(
                r["uid"] == gw_uid and r["validator_permit"]
                for r in c.metagraph(self.netuid)["neurons"]
            ),
            60,
            "the gateway's validator permit",
        )
        uids = [int(c.uid_of(self.netuid, kp.ss58_address) or 0) for kp in keys]
        # Ranked weights: miner 0 earns most (the "best miner" the direct path calls).
        c.set_weights(self.gw, self.netuid, uids, [65535 - 2000 * i for i in range(n)])
        self.best_uid = uids[0]
        _wait(
            lambda: (
                next(
                    r["incentive"]
                    for r in c.metagraph(self.netuid)["neurons"]
                    if r["uid"] == self.best_uid
                )
                > 0
            ),
            60,
            "incentive",
        )
        port = _free_port()
        self.gateway = f"http://127.0.0.1:{port}"
        self.procs["gateway"] = _spawn(
            ["subnetes.gateway"],
            tmp / f"gateway{n}.log",
            {
                "SUBNETES_CHAIN_ENDPOINT": chain,
                "SUBNETES_NETUID": str(self.netuid),
                "SUBNETES_HOTKEY_PATH": str(tmp / f"gw{n}.key"),
                "SUBNETES_GATEWAY_PORT": str(port),
                "SUBNETES_GATEWAY_KEYS_PATH": str(tmp / "keys.yaml"),
                "SUBNETES_LOG_LEVEL": "WARNING",
            },
        )
        _wait(lambda: _ok(self.gateway + "/readyz"), 60, "the gateway")

    async def run(self, requests: int, concurrency: int, size: int) -> list[Result]:
        from subnetes.gateway.pool import miner_from_row
        from subnetes.sdk.dendrite import Dendrite
        from subnetes.workloads.compute.protocol import ROUTE, MatmulRequest, MatmulResponse

        row = next(r for r in self.c.metagraph(self.netuid)["neurons"] if r["uid"] == self.best_uid)
        best = miner_from_row(row)[0]
        dendrite = Dendrite(self.gw, self.netuid, max_concurrency=concurrency)
        # aiohttp on both paths (the dendrite uses it): the client's own cost stays equal.
        http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency), trust_env=False
        )
        headers = {"Authorization": f"Bearer {KEY}"}

        def body(i: int) -> dict[str, int]:
            return {"seed": 10_000 + i, "m": size, "k": size, "n": size}

        async def via_gateway(i: int) -> bool:
            async with http.post(self.gateway + "/v1/matmul", json=body(i), headers=headers) as r:
                await r.read()
                return r.status == 200

        async def direct(i: int) -> bool:
            req = MatmulRequest.model_validate(body(i))
            res = await dendrite.query(best, ROUTE, req, MatmulResponse, 30.0)
            return res.ok

        try:
            out = []
            for name, fn in (("direct", direct), ("gateway", via_gateway)):
                await load(fn, min(50, requests), concurrency)  # warm-up: compile, connections
                seconds, errors, lat = await load(fn, requests, concurrency)
                out.append(summarize(self.n, name, concurrency, seconds, errors, lat))
            return out
        finally:
            await http.close()
            await dendrite.close()

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.c.close()


def _start_chain(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    ready = tmp / "chain.ready"
    proc = _spawn(
        [
            "subnetes.chain", "chain", "run", "--db", str(tmp / "chain.db"), "--host", "127.0.0.1",
            "--port", str(port), "--profile", "dev", "--block-time", "0.2",
            "--ready-file", str(ready),
        ],
        tmp / "chain.log",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait(lambda: ready.exists() and _ok(url + "/readyz"), 180, "the chain")
    return proc, url


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per (miners, path)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "farm":
        asyncio.run(_farm(argv[1], int(argv[2]), argv[3:]))
        return 0
    p = argparse.ArgumentParser(prog="python -m subnetes.gateway.bench", description=__doc__)
    p.add_argument("--miners", default="4,16", help="comma-separated miner counts")
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--size", type=int, default=64, help="n of the n x n x n matmul")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    args = p.parse_args(argv)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as d:
        tmp = Path(d)
        chain_proc, chain = _start_chain(tmp)
        try:
            for n in (int(x) for x in args.miners.split(",")):
                sc = Scenario(chain, n, tmp)
                try:
                    results += asyncio.run(sc.run(args.requests, args.concurrency, args.size))
                finally:
                    sc.close()
        finally:
            chain_proc.send_signal(signal.SIGTERM)
            chain_proc.wait(15)
    if args.json:
        for r in results:
            print(json.dumps(asdict(r)))
    else:
        head = f"{'miners':>6} {'path':>8} {'requests':>8} {'conc':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
        print(head)
        for r in results:
            print(
                f"{r.miners:>6} {r.path:>8} {r.requests:>8} {r.concurrency:>5} {r.rps:>8} "
                f"{r.p50_ms:>8} {r.p99_ms:>8} {r.errors:>6}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
