"""Benchmark a whole network on a real chain process: ``python -m subnetes.chain.bench_network``.

``--network`` is mainnet's size: 128 subnets x 256 UIDs, 64 validators each (the defaults are a
quick 8 x 64 x 16 run). The state is seeded directly (the real registration rules called
in-process, stakes, validator permits, weights and bonds written through the state's
accessors, committed as block 1), then everything measured runs through the real node:
``python -m subnetes.chain chain run`` on the seeded SQLite database, producing blocks on its
timer with the real consensus. Each validator sets weights once per tempo (signed set_weights
of every UID, submitted over HTTP); subnet ``k``'s epoch falls at blocks ``b`` with
``(b + k + 1) % (tempo + 1) == 0``, so with 128 subnets and tempo 99 every block runs one or
two epochs (mainnet's tempo 360 gives one in about a third of the blocks).

Phases, on the same node: blocks only; ``--readers`` concurrent metagraph readers (each reads a
random subnet's metagraph every ``--read-interval`` s); ``--subscribers`` event-stream
subscribers (every event id checked for gaps); then a restart (SIGINT, start again, time to the
first new block). Block production times are the node's own ``block`` spans (its console trace
exporter), per block; resident memory is the node's /proc status. ``--json FILE`` saves the
figures; ``--compare FILE`` prints them side by side with a saved run (e.g. the previous
implementation's).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import multiprocessing as mp
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bittensor_wallet import Keypair

from subnetes.wire.ss58 import encode_ss58

from .context import Ctx
from .extrinsic import sign
from .ledger import Ledger
from .params import DEV_ACCOUNTS, ChainConfig, dev_config
from .rules.registration import add_neuron, claim_hotkey
from .rules.root import update_shares
from .rules.subnets import register_network
from .units import U16_MAX, tao

ALICE = DEV_ACCOUNTS["//Alice"]


def network_config(subnets: int, uids: int, validators: int, tempo: int) -> ChainConfig:
    """The dev profile (fees off, loopback only) sized for ``subnets`` x ``uids``: the subnet
    limit raised, epochs every ``tempo`` blocks, weights at any rate (once per tempo here)."""
    hp = replace(
        dev_config().default_hyperparams,
        tempo=tempo,
        max_allowed_uids=uids,
        max_allowed_validators=validators,
        immunity_period=0,
        max_registrations_per_block=uids,
        target_registrations_per_interval=uids,
    )
    return dev_config(
        subnet_limit=subnets,
        default_hyperparams=hp,
        network_lock_reduction_interval=1,
        network_rate_limit=0,
    )


def validator_key(netuid: int, uid: int) -> Keypair:
    """The (deterministic) hotkey of validator ``uid`` on ``netuid``."""
    seed = hashlib.blake2b(f"v/{netuid}/{uid}".encode(), digest_size=32).hexdigest()
    return Keypair.create_from_seed(seed)  # type: ignore[arg-type]  # takes hex text at run time


def miner_hotkey(netuid: int, uid: int) -> str:
    """A miner's hotkey address (miners sign nothing here, so no key pair is derived)."""
    return encode_ss58(hashlib.blake2b(f"m/{netuid}/{uid}".encode(), digest_size=32).digest())


def weight_values(netuid: int, uid: int, n: int, rnd: int = 0) -> list[int]:
    """A validator's raw weights over ``n`` UIDs (varied per validator and round)."""
    return [(i * 7 + uid * 13 + netuid + rnd * 31) % 1000 + 1 for i in range(n)]


def seed(db: str, subnets: int, uids: int, validators: int, tempo: int) -> int:
    """Create the network in ``db`` (block 1): subnets registered by //Alice through the real
    rule, UIDs added through the real rule, validators staked, permitted, with weights on every
    UID and bonds. Returns the head block."""
    cfg = network_config(subnets, uids, validators, tempo)
    L = Ledger.open(cfg, db)
    st = L.state
    ctx = Ctx(block=1)
    minted = 0
    for s in range(1, subnets + 1):
        # one lock at the minimum each (the lock doubles per registration in one block)
        g = st.globals_mut()
        g.last_lock, g.last_lock_block = 0, None
        register_network(st, ctx, ALICE, {"hotkey": miner_hotkey(s, 0), "max_lock_cost": None})
        cold = encode_ss58(hashlib.blake2b(f"c/{s}".encode(), digest_size=32).digest())
        for u in range(1, uids):
            hk = validator_key(s, u).ss58_address if u <= validators else miner_hotkey(s, u)
            claim_hotkey(st, hk, cold)
            add_neuron(st, ctx, s, hk, None)
            if u <= validators:
                amount = tao(100) * u
                st.hotkey_mut(hk).stakes[cold] = amount
                minted += amount
                n = st.neuron_mut(s, u)
                n.validator_permit = True
                raw = weight_values(s, u, uids)
                top = max(raw)
                n.weights = {j: v * U16_MAX // top for j, v in enumerate(raw)}
                n.bonds = {j: (j * 97 + u * 31) % U16_MAX for j in range(uids)}
    st.globals_mut().issuance += minted
    update_shares(st)
    L.step()  # block 1 commits every chunk the seeding touched
    head = L.head.number
    assert L.storage is not None
    L.storage.close()
    return head


def signed_schedule(
    genesis: str, subnets: int, uids: int, validators: int, tempo: int, blocks: int
) -> list[list[dict[str, Any]]]:
    """Per block, the signed set_weights bodies due: every validator once per tempo+1 blocks,
    validators interleaved across subnets."""
    vals = [(s, u) for u in range(1, validators + 1) for s in range(1, subnets + 1)]
    per_block = math.ceil(len(vals) / (tempo + 1))
    keys: dict[tuple[int, int], Keypair] = {}
    nonces: dict[tuple[int, int], int] = {}
    out = []
    for b in range(blocks):
        batch = []
        for i in range(per_block):
            pos = b * per_block + i
            s, u = vals[pos % len(vals)]
            kp = keys.get((s, u)) or keys.setdefault((s, u), validator_key(s, u))
            n = nonces.get((s, u), 0)
            nonces[(s, u)] = n + 1
            args = {
                "netuid": s,
                "uids": list(range(uids)),
                "values": weight_values(s, u, uids, pos // len(vals) + 1),
            }
            batch.append(sign(kp, "set_weights", args, n, genesis))
        out.append(batch)
    return out


# ---- the node process ---------------------------------------------------------------------------
def start_node(
    db: str, port: int, block_time: float, log: Path, times: Path, old: bool | str = False
) -> tuple[subprocess.Popen[bytes], float]:
    """``subnetes chain run`` on ``db`` in a child process (see :func:`_node_main`); ``old``:
    True or "old" for the paths :func:`_use_old_paths` puts back, "prev" for the metagraph
    read path before row caching, ETags and gzip (:func:`_use_previous_reads`)."""
    paths = old if isinstance(old, str) else ("old" if old else "new")
    cmd = [
        sys.executable, "-m", "subnetes.chain.bench_network", "--node", str(times), paths, "--",
        "chain", "run", "--db", db, "--port", str(port), "--block-time", str(block_time),
    ]  # fmt: skip
    t0 = time.perf_counter()
    f = open(log, "ab")  # noqa: SIM115 - the child owns it
    # gzip on (an opt-in of the node): the readers' "gzip" mode measures it
    env = {**os.environ, "SUBNETES_CHAIN_GZIP": "1"}
    proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    f.close()
    return proc, t0


def _node_main(times: str, old: bool | str, argv: list[str]) -> int:
    """The CLI's ``chain run``, recording each block's production time (the interval the
    node's own histogram observes: taking the batch to the commit) with its block number,
    epochs and extrinsics to ``times``, one line per block. ``old``: with the code paths
    this benchmark replaced put back (:func:`_use_old_paths`)."""
    from . import node as node_mod
    from .cli import main as cli_main

    if old == "prev":
        _use_previous_reads()
    elif old:
        _use_old_paths()

    out = open(times, "a", buffering=1)  # noqa: SIM115 - open while the node runs
    finish, build = node_mod.Node._finish, node_mod.Node._build
    cpu: dict[int, float] = {}

    def timed_build(self: Any, batch: Any) -> Any:
        # CPU seconds of the block thread: the work itself, apart from waiting for a core on
        # a loaded machine
        t = time.thread_time()
        record, outcomes = build(self, batch)
        cpu[record.number] = time.thread_time() - t
        return record, outcomes

    def timed_finish(self: Any, batch: Any, record: Any, outcomes: Any, t0: float) -> Any:
        ms = (time.perf_counter() - t0) * 1e3
        epochs = sum(1 for e in record.events if e["type"] == "EpochResult")
        cpu_ms = cpu.pop(record.number, float("nan")) * 1e3
        out.write(f"{record.number} {ms:.3f} {epochs} {len(record.extrinsics)} {cpu_ms:.3f}\n")
        return finish(self, batch, record, outcomes, t0)

    node_mod.Node._build = timed_build  # type: ignore[method-assign]
    node_mod.Node._finish = timed_finish  # type: ignore[method-assign]
    return cli_main(argv)


async def head_of(session: Any, url: str) -> int | None:
    try:
        async with session.get(url + "/readyz") as r:
            if r.status != 200:
                return None
            return int((await r.json())["head"])
    except Exception:
        return None


async def wait_block_after(url: str, after: int, timeout: float) -> float:
    """Seconds until the node's head passes ``after``."""
    import aiohttp

    t0 = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - t0 < timeout:
            h = await head_of(session, url)
            if h is not None and h > after:
                return time.perf_counter() - t0
            await asyncio.sleep(0.02)
    raise TimeoutError(f"no block after {after} within {timeout} s")


def rss_mb(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            out[k] = int(v.split()[0]) / 1024
    return out


def block_times(times: Path) -> dict[int, dict[str, float]]:
    """Per block number: production milliseconds and epochs run (from :func:`_node_main`)."""
    out: dict[int, dict[str, float]] = {}
    for line in times.read_text().splitlines():
        n, ms, epochs, _, cpu_ms = line.split()
        out[int(n)] = {"ms": float(ms), "epochs": int(epochs), "cpu_ms": float(cpu_ms)}
    return out


def _use_old_paths() -> None:
    """The implementation before chain/read_cache.py and the neuron chunk codec fix, for the
    side-by-side figures: neuron chunks through ``dataclasses.asdict``, the metagraph through
    FastAPI's ``jsonable_encoder`` per request, every event encoded per subscriber."""
    import dataclasses

    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse

    from . import read_cache, views
    from .state import Axon, Neuron

    def to_json(self: Neuron) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["weights"] = sorted(self.weights.items())
        d["bonds"] = sorted(self.bonds.items())
        return d

    def metagraph(
        self: Any, st: Any, head: str, s: Any, gz: bool = False, lite: bool = False
    ) -> Any:
        return JSONResponse(jsonable_encoder(views.metagraph(st, s)))

    def block_events(self: Any, rec: Any) -> bytes:
        return b"".join(read_cache.sse_message(rec.number, ev) for ev in rec.events)

    @classmethod  # type: ignore[misc]
    def from_json(cls: type[Neuron], d: dict[str, Any]) -> Neuron:
        d = dict(d)
        d["weights"] = {int(k): int(v) for k, v in d["weights"]}
        d["bonds"] = {int(k): int(v) for k, v in d["bonds"]}
        d["axon"] = Axon(**d["axon"]) if d.get("axon") else None
        return cls(**d)

    Neuron.to_json = to_json  # type: ignore[method-assign]
    Neuron.from_json = from_json  # type: ignore[method-assign,assignment]
    read_cache.ReadCache.metagraph = metagraph  # type: ignore[method-assign]
    read_cache.ReadCache.block_events = block_events  # type: ignore[method-assign]


def _use_previous_reads() -> None:
    """The metagraph read path before rows were kept across blocks (commit 4207ff2..0d3af42):
    the whole answer encoded once per (subnet, block), no ETag, no gzip."""
    from fastapi.responses import Response

    from . import api, read_cache, views

    def encoded(self: Any, st: Any, head: str, s: Any, lite: bool = False) -> Any:
        if head != self._head:
            self._head, self._metagraphs = head, {}
        enc = self._metagraphs.get((s.netuid, False))
        if enc is None:
            body = read_cache.encode_json(views.metagraph(st, s))
            enc = self._metagraphs[s.netuid, False] = read_cache.Encoded(body, head, s.netuid)
        return enc

    def response(enc: Any, gz: bool) -> Any:
        return Response(enc.body, media_type="application/json")

    read_cache.ReadCache.encoded = encoded  # type: ignore[method-assign]
    read_cache.metagraph_response = response
    # no gzip, no 304 (module globals of the handler and of ReadCache.quick_answer), and the
    # requests go through FastAPI's routing as before
    setattr(read_cache.ReadCache, "wants_gzip", lambda self, _: False)  # noqa: B010
    setattr(read_cache, "etag_matches", lambda *_: False)  # noqa: B010
    api.CommittedStateOnly.fast_path = False


READER_MODES = {
    "full": "unconditional, identity: every read a whole uncompressed body (the worst case)",
    "gzip": "unconditional, Accept-Encoding gzip",
    "poll": "each reader polls one subnet with If-None-Match (its last ETag), identity",
    "lite": "unconditional, identity, ?lite=true: the rows without weights (what the operator reads)",
}


# ---- clients (each in its own process, so they do not share the bench's loop) -------------------
def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * q))]


def _readers(
    url: str, n: int, subnets: int, interval: float, seconds: float, mode: str, q: Any
) -> None:
    """``n`` readers for ``seconds``, each sleeping 0.5-1.5 x ``interval`` between reads (a
    closed loop: a slow answer delays that reader's next read). ``mode``: see READER_MODES."""
    import aiohttp

    async def main() -> dict[str, Any]:
        lat: list[float] = []
        errors = not_modified = 0
        sizes: list[int] = []
        wire: list[int] = []  # bytes on the wire (compressed) per 200 answer
        cpu0, wall0 = time.process_time(), time.perf_counter()
        stop = time.perf_counter() + seconds
        conn = aiohttp.TCPConnector(limit=n)
        async with aiohttp.ClientSession(connector=conn) as session:

            async def reader(i: int) -> None:
                nonlocal errors, not_modified
                rnd = random.Random(i)
                etag = ""
                enc = "gzip" if mode == "gzip" else "identity"
                query = "?lite=true" if mode == "lite" else ""
                await asyncio.sleep(rnd.random() * interval)
                while time.perf_counter() < stop:
                    netuid = i % subnets + 1 if mode == "poll" else rnd.randint(1, subnets)
                    headers = {"Accept-Encoding": enc}
                    if mode == "poll" and etag:
                        headers["If-None-Match"] = etag
                    t = time.perf_counter()
                    try:
                        async with session.get(
                            f"{url}/v1/subnets/{netuid}/metagraph{query}", headers=headers
                        ) as r:
                            body = await r.read()
                            status = r.status
                            etag = r.headers.get("ETag", etag)
                            length = int(r.headers.get("Content-Length", len(body)))
                    except aiohttp.ClientError:
                        status, body, length = 0, b"", 0
                    lat.append(time.perf_counter() - t)
                    if status == 304:
                        not_modified += 1
                    elif status != 200:
                        errors += 1
                    else:
                        wire.append(length)
                        if len(sizes) < 3:
                            sizes.append(len(body))
                            assert json.loads(body)["netuid"] == netuid
                    await asyncio.sleep(max(0.0, interval * (0.5 + rnd.random())))

            await asyncio.gather(*(reader(i) for i in range(n)))
        return {
            "latencies": lat,
            "errors": errors,
            "not_modified": not_modified,
            "bytes": statistics.mean(sizes) if sizes else 0,
            "wire_bytes": statistics.mean(wire) if wire else 0,
            "mode": mode,
            # the readers' own process: near 100 % its event loop queues the answers it
            # measures (the latencies then include the client's wait, not only the node's)
            "client_cpu": (time.process_time() - cpu0) / (time.perf_counter() - wall0),
        }

    q.put(asyncio.run(main()))


def _subscribers(url: str, n: int, start: int, seconds: float, q: Any) -> None:
    import aiohttp

    async def main() -> dict[str, Any]:
        stop = time.perf_counter() + seconds
        results: list[dict[str, Any]] = []
        conn = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
        async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:

            async def sub(i: int) -> None:
                prev: tuple[int, int] | None = None
                prev_type = ""
                gaps = events = 0
                buf = b""
                try:
                    async with session.get(f"{url}/v1/events?from_block={start}") as r:
                        async for chunk in r.content.iter_any():
                            buf += chunk
                            *msgs, buf = buf.split(b"\n\n")
                            for m in msgs:
                                if not m.startswith(b"id: "):
                                    continue
                                line, _, rest = m.partition(b"\n")
                                b, _, k = line[4:].partition(b":")
                                cur = (int(b), int(k))
                                typ = rest[7 : rest.find(b"\n")].decode()
                                ok = (prev is None and cur == (start, 0)) or (
                                    prev is not None
                                    and (
                                        cur == (prev[0], prev[1] + 1)
                                        or (cur == (prev[0] + 1, 0) and prev_type == "Block")
                                    )
                                )
                                gaps += not ok
                                prev, prev_type = cur, typ
                                events += 1
                            if time.perf_counter() > stop:
                                break
                except (aiohttp.ClientError, TimeoutError) as e:
                    gaps += 1
                    prev_type = f"error {type(e).__name__}"
                results.append({"events": events, "gaps": gaps, "last": prev, "end": prev_type})

            await asyncio.gather(*(sub(i) for i in range(n)))
        return {
            "subscribers": len(results),
            "gaps": sum(r["gaps"] for r in results),
            "events_min": min(r["events"] for r in results),
            "events_max": max(r["events"] for r in results),
            "last_block_min": min((r["last"] or (0, 0))[0] for r in results),
            "last_block_max": max((r["last"] or (0, 0))[0] for r in results),
        }

    q.put(asyncio.run(main()))


async def submit_loop(
    url: str,
    schedule: list[list[dict[str, Any]]],
    block_time: float,
    seconds: float,
    state: dict[str, int],
) -> None:
    """Post each block's set_weights bodies (wait=false) once per block time, for ``seconds``."""
    import aiohttp

    conn = aiohttp.TCPConnector(limit=8)
    stop = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=conn) as session:
        sem = asyncio.Semaphore(8)

        async def post(body: dict[str, Any]) -> None:
            async with sem, session.post(f"{url}/v1/extrinsics?wait=false", json=body) as r:
                await r.read()
                key = "accepted" if r.status in (200, 202) else f"http {r.status}"
                state[key] = state.get(key, 0) + 1

        while time.perf_counter() < stop and state["next"] < len(schedule):
            t = time.perf_counter()
            batch = schedule[state["next"]]
            state["next"] += 1
            await asyncio.gather(*(post(b) for b in batch))
            await asyncio.sleep(max(0.0, block_time - (time.perf_counter() - t)))


def summarize(ms: list[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "median": statistics.median(ms) if ms else float("nan"),
        "p95": pct(ms, 0.95),
        "p99": pct(ms, 0.99),
        "max": max(ms) if ms else float("nan"),
    }


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def phase(
    name: str,
    url: str,
    proc: subprocess.Popen[bytes],
    schedule: list[list[dict[str, Any]]],
    sub_state: dict[str, int],
    a: argparse.Namespace,
    seconds: float,
    client: tuple[Any, tuple[Any, ...]] | None,
) -> dict[str, Any]:
    """Run the submitter (and one client process) for ``seconds``; the blocks it spans."""
    import aiohttp

    async with aiohttp.ClientSession() as s:
        first = await head_of(s, url) or 0
    q: Any = mp.get_context("spawn").Queue()
    p = None
    if client is not None:
        fn, args = client
        p = mp.get_context("spawn").Process(target=fn, args=(*args, q))
        p.start()
    await submit_loop(url, schedule, a.block_time, seconds, sub_state)
    out: dict[str, Any] = {}
    if p is not None:
        out = await asyncio.get_running_loop().run_in_executor(None, q.get)
        p.join()
    async with aiohttp.ClientSession() as s:
        last = await head_of(s, url) or 0
    out.update({"phase": name, "blocks": (first + 1, last), "load": load(), **rss_mb(proc.pid)})
    return out


async def run(a: argparse.Namespace, db: str, log: Path, times: Path) -> dict[str, Any]:
    url = f"http://127.0.0.1:{a.port}"
    t = time.perf_counter()
    head = seed(db, a.subnets, a.uids, a.validators, a.tempo)
    res: dict[str, Any] = {"seed_s": time.perf_counter() - t, "load_start": load()}
    genesis = Ledger.open(network_config(a.subnets, a.uids, a.validators, a.tempo), db)
    ghash = genesis.genesis_hash
    assert genesis.storage is not None
    genesis.storage.close()
    del genesis
    blocks_needed = int(a.seconds * 3 / a.block_time) + 10
    t = time.perf_counter()
    schedule = signed_schedule(ghash, a.subnets, a.uids, a.validators, a.tempo, blocks_needed)
    res["sign_s"] = time.perf_counter() - t
    res["set_weights_per_block"] = len(schedule[0])
    print(
        f"seeded {a.subnets} x {a.uids} (block {head}) in {res['seed_s']:.1f} s; signed "
        f"{sum(map(len, schedule))} set_weights in {res['sign_s']:.1f} s",
        flush=True,
    )
    proc, t0 = start_node(db, a.port, a.block_time, log, times, a.old)
    try:
        await wait_block_after(url, head, 600)
        res["first_start_to_block_s"] = time.perf_counter() - t0
        sub_state = {"next": 0}
        phases = [await phase("blocks", url, proc, schedule, sub_state, a, a.seconds, None)]
        print(f"  phase blocks done (load {load()})", flush=True)
        phases.append(
            await phase(
                "readers", url, proc, schedule, sub_state, a, a.seconds,
                (_readers, (url, a.readers, a.subnets, a.read_interval, a.seconds, "full")),
            )
        )  # fmt: skip
        print(f"  phase readers done (load {load()})", flush=True)
        async with __import__("aiohttp").ClientSession() as s:
            start = (await head_of(s, url) or 0) + 1
        phases.append(
            await phase(
                "subscribers", url, proc, schedule, sub_state, a, a.seconds,
                (_subscribers, (url, a.subscribers, start, a.seconds)),
            )
        )  # fmt: skip
        res["submitted"] = {k: v for k, v in sub_state.items() if k != "next"}
        async with __import__("aiohttp").ClientSession() as s:
            stopped_at = await head_of(s, url) or 0
    finally:
        stop_node(proc)
    proc, t0 = start_node(db, a.port, a.block_time, log, times, a.old)
    try:
        await wait_block_after(url, stopped_at, 600)
        res["restart_to_block_s"] = time.perf_counter() - t0
    finally:
        stop_node(proc)
    res["phases"] = with_block_figures(phases, times, a.seconds)
    return res


def stop_node(proc: subprocess.Popen[bytes]) -> None:
    """Stop a node the way an operator does (SIGINT: a clean stop, its snapshot written)."""
    proc.send_signal(signal.SIGINT)
    proc.wait(60)


def with_block_figures(
    phases: list[dict[str, Any]], times: Path, seconds: float
) -> list[dict[str, Any]]:
    """``phases`` with each one's block-time figures from the node's block log ``times``."""
    spans = block_times(times)
    for ph in phases:
        phase_figures(ph, spans, seconds)
    return phases


def phase_figures(ph: dict[str, Any], spans: dict[int, dict[str, float]], seconds: float) -> None:
    """Add the block times of the phase's blocks and its read latencies' summary to ``ph``."""
    lo, hi = ph["blocks"]
    ms = [spans[n]["ms"] for n in range(lo, hi + 1) if n in spans]
    ep = [spans[n]["ms"] for n in range(lo, hi + 1) if n in spans and spans[n]["epochs"]]
    ph["block_ms"] = summarize(ms)
    ph["block_cpu_ms"] = summarize([spans[n]["cpu_ms"] for n in range(lo, hi + 1) if n in spans])
    ph["epoch_block_ms"] = summarize(ep)
    ph["epochs_per_block"] = sum(spans[n]["epochs"] for n in range(lo, hi + 1) if n in spans) / max(
        1, len(ms)
    )
    if "latencies" in ph:
        lat = [x * 1e3 for x in ph.pop("latencies")]
        ph["read_ms"] = summarize(lat)
        ph["reads_per_s"] = len(lat) / seconds


async def run_reads(a: argparse.Namespace, d: Path) -> dict[str, Any]:
    """``--reads``: the metagraph read path before this change ("prev") and now ("new"), one
    node each on a copy of the same seeded database, readers phases in each ``a.reads`` mode
    while validators keep setting weights; no subscribers, no restart."""
    import shutil

    url = f"http://127.0.0.1:{a.port}"
    seeded = d / "seeded.db"
    head = seed(str(seeded), a.subnets, a.uids, a.validators, a.tempo)
    genesis = Ledger.open(network_config(a.subnets, a.uids, a.validators, a.tempo), str(seeded))
    ghash = genesis.genesis_hash
    assert genesis.storage is not None
    genesis.storage.close()
    del genesis
    blocks_needed = int(a.seconds * len(a.reads) / a.block_time) + 20
    schedule = signed_schedule(ghash, a.subnets, a.uids, a.validators, a.tempo, blocks_needed)
    res: dict[str, Any] = {"load_start": load(), "set_weights_per_block": len(schedule[0])}
    for paths in ("prev", "new"):
        db, log, times = d / f"{paths}.db", d / f"{paths}.log", d / f"{paths}-times.txt"
        for p in (db, times, Path(f"{db}-wal"), Path(f"{db}-shm")):
            p.unlink(missing_ok=True)
        shutil.copyfile(seeded, db)
        proc, _ = start_node(str(db), a.port, a.block_time, log, times, paths)
        phases = []
        try:
            await wait_block_after(url, head, 600)
            sub_state = {"next": 0}
            for mode in a.reads:
                args = (url, a.readers, a.subnets, a.read_interval, a.seconds, mode)
                ph = await phase(
                    f"readers {mode}", url, proc, schedule, sub_state, a, a.seconds,
                    (_readers, args),
                )  # fmt: skip
                phases.append(ph)
                print(f"  {paths} readers {mode} done (load {load()})", flush=True)
        finally:
            stop_node(proc)
        res[paths] = with_block_figures(phases, times, a.seconds)
    return res


def report_reads(a: argparse.Namespace, res: dict[str, Any]) -> None:
    """The ``--reads`` table: per reader mode, the previous read path beside the new one."""
    print(
        f"\n{a.subnets} subnets x {a.uids} UIDs, {a.validators} validators each, "
        f"{a.readers} metagraph readers (each sleeps {a.read_interval / 2:g}-"
        f"{a.read_interval * 1.5:g} s between reads), {res['set_weights_per_block']} "
        f"set_weights/block, block time {a.block_time} s, load at start {res['load_start']}"
    )
    for mode in a.reads:
        print(f"- {mode}: {READER_MODES[mode]}")
    print("| reader mode | measure | previous read path | new |")
    print("|---|---|---|---|")
    for i, mode in enumerate(a.reads):
        rows = [
            ("load average (1/5/15 min)", lambda p: p["load"]),
            ("read ms median / p95 / p99 / max (n)", lambda p: _quad(p["read_ms"])),
            ("reads/s; 304s; errors", lambda p: (
                f"{p['reads_per_s']:.0f}; {p['not_modified']}; {p['errors']}")),
            ("readers' process CPU (of one core)", lambda p: f"{p['client_cpu'] * 100:.0f} %"),
            ("body bytes / on the wire per 200", lambda p: (
                f"{p['bytes']:.0f} / {p['wire_bytes']:.0f}")),
            ("block wall ms median / p99", lambda p: (
                f"{p['block_ms']['median']:.0f} / {p['block_ms']['p99']:.0f}")),
            ("block CPU ms median / p99", lambda p: (
                f"{p['block_cpu_ms']['median']:.0f} / {p['block_cpu_ms']['p99']:.0f}")),
        ]  # fmt: skip
        for label, get in rows:
            prev, new = res["prev"][i], res["new"][i]
            print(f"| {mode} | {label} | {get(prev)} | {get(new)} |")


def report(a: argparse.Namespace, res: dict[str, Any], old: dict[str, Any] | None) -> None:
    bt = a.block_time * 1e3

    def row(label: str, get: Any) -> None:
        new = get(res)
        prev = "" if old is None else f" | {_fmt(_safe(get, old))}"
        print(f"| {label} | {_fmt(new)}{prev} |")

    print(
        f"\n{a.subnets} subnets x {a.uids} UIDs, {a.validators} validators each, tempo {a.tempo} "
        f"({res['set_weights_per_block']} set_weights/block), block time {a.block_time} s, "
        f"load at start {res['load_start']}"
    )
    this = "old paths (--old)" if a.old else "this run"
    other = "" if old is None else (" old paths |" if old["args"].get("old") else " other run |")
    print(f"| measure | {this} |{other}")
    print("|---|---" + ("|---|" if old else "|"))
    for i, name in enumerate(("blocks", "readers", "subscribers")):
        ph = lambda r, i=i: r["phases"][i]  # noqa: E731
        row(f"{name}: load average", lambda r, ph=ph: ph(r)["load"])
        row(
            f"{name}: block production ms median/p95/p99/max (n)",
            lambda r, ph=ph: _quad(ph(r)["block_ms"]),
        )
        row(
            f"{name}: block thread CPU ms median/p95/p99/max",
            lambda r, ph=ph: _quad(ph(r)["block_cpu_ms"]),
        )
        row(
            f"{name}: epoch blocks ms median/p99/max (n)",
            lambda r, ph=ph: _quad(ph(r)["epoch_block_ms"], short=True),
        )
        row(
            f"{name}: p99 as % of block time",
            lambda r, ph=ph: f"{ph(r)['block_ms']['p99'] / bt * 100:.1f} %",
        )
        row(f"{name}: epochs per block", lambda r, ph=ph: f"{ph(r)['epochs_per_block']:.2f}")
        row(
            f"{name}: node RSS / peak MB",
            lambda r, ph=ph: f"{ph(r)['VmRSS']:.0f} / {ph(r)['VmHWM']:.0f}",
        )
    row(
        f"metagraph reads ({a.readers} readers) ms median/p95/p99/max (n)",
        lambda r: _quad(r["phases"][1]["read_ms"]),
    )
    row(
        "metagraph reads/s, errors, bytes",
        lambda r: (
            f"{r['phases'][1]['reads_per_s']:.0f}, {r['phases'][1]['errors']}, {r['phases'][1]['bytes']:.0f}"
        ),
    )
    row(
        f"event stream ({a.subscribers} subscribers): gaps, events min/max, last block min/max",
        lambda r: "{gaps}, {events_min}/{events_max}, {last_block_min}/{last_block_max}".format(
            **r["phases"][2]
        ),
    )
    row("restart to first block s", lambda r: f"{r['restart_to_block_s']:.2f}")
    row("first start (compile) to first block s", lambda r: f"{r['first_start_to_block_s']:.2f}")
    row("set_weights submitted", lambda r: r["submitted"])


def _safe(get: Any, r: dict[str, Any]) -> Any:
    try:
        return get(r)
    except (KeyError, IndexError, TypeError):
        return "-"


def _fmt(v: Any) -> str:
    return str(v)


def _quad(d: dict[str, float], short: bool = False) -> str:
    if short:
        return f"{d['median']:.1f} / {d['p99']:.1f} / {d['max']:.1f} ({d['n']})"
    return f"{d['median']:.1f} / {d['p95']:.1f} / {d['p99']:.1f} / {d['max']:.1f} ({d['n']})"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--network",
        action="store_true",
        help="128 x 256, 64 validators, 50 readers, 200 subscribers",
    )
    ap.add_argument("--subnets", type=int, default=8)
    ap.add_argument("--uids", type=int, default=64)
    ap.add_argument("--validators", type=int, default=16)
    ap.add_argument(
        "--tempo", type=int, default=None, help="blocks between epochs (9; 99 with --network)"
    )
    ap.add_argument("--block-time", type=float, default=1.0)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    ap.add_argument("--readers", type=int, default=10)
    ap.add_argument("--read-interval", type=float, default=0.25)
    ap.add_argument("--subscribers", type=int, default=20)
    ap.add_argument("--port", type=int, default=19944)
    ap.add_argument(
        "--old",
        action="store_true",
        help="run the node with the code paths this benchmark replaced (for --compare)",
    )
    ap.add_argument(
        "--reads",
        nargs="?",
        const=",".join(READER_MODES),
        help="only metagraph readers, one phase per mode (comma list of "
        + ", ".join(READER_MODES)
        + "; all when no list is given), the previous read path beside the new one",
    )
    ap.add_argument("--keep", help="keep the database and node log in this directory")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--compare", help="a --json file of an earlier run to print side by side")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--node"]:  # the node child process (start_node)
        sys.exit(_node_main(argv[1], {"old": True, "new": False}.get(argv[2], argv[2]), argv[4:]))
    a = ap.parse_args(argv)
    if a.network:
        a.subnets, a.uids, a.validators, a.readers, a.subscribers = 128, 256, 64, 50, 200
    if a.tempo is None:  # every block runs epochs: 128 subnets / 100, 8 subnets / 10
        a.tempo = 99 if a.network else 9
    d = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="bench-network-"))
    d.mkdir(parents=True, exist_ok=True)
    if a.reads:
        a.reads = a.reads.split(",")
        unknown = set(a.reads) - set(READER_MODES)
        if unknown:
            ap.error(f"--reads: unknown mode(s) {', '.join(sorted(unknown))}")
        reads = asyncio.run(run_reads(a, d))
        reads["args"] = vars(a)
        report_reads(a, reads)
        if a.json:
            Path(a.json).write_text(json.dumps(reads, indent=1))
        return
    db, log, times = d / "chain.db", d / "node.log", d / "block-times.txt"
    for p in (db, log, times, Path(f"{db}-wal"), Path(f"{db}-shm")):
        p.unlink(missing_ok=True)
    res = asyncio.run(run(a, str(db), log, times))
    res["args"] = vars(a)
    old = json.loads(Path(a.compare).read_text()) if a.compare else None
    report(a, res, old)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
