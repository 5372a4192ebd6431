"""Admission under spam: how long an honest transfer waits, and what the queue holds.

``python -m subnetes.chain.bench_admission [--junk 5000 --big 148 --big-kb 900 --weights 40]`` runs the same
spam against an in-process node twice, with admission on and off (``PoolLimits(enabled=False)``:
the old queue, which checked only signature and stale nonces before queuing), and prints side
by side: what was queued, the queue's bytes, the process's RSS growth, and in how many blocks
the honest transfer landed (x 12 s at the default block time). Blocks are produced on demand,
so no wall clock is involved. The spam:

* ``--junk`` transfers from a key with no balance (nonces 0, 1, ...);
* ``--junk`` transfers from a funded key;
* ``--big`` bodies of ``--big-kb`` kB with an unknown argument, from funded keys;
* ``--weights`` valid ``set_weights`` bodies of ~770 kB (65 536 uids) from funded, unregistered
  keys (they pay the byte fee; the queue's byte bound refuses them once full).

Each body goes through JSON as on the wire, so queued arguments are fresh objects.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
from typing import Any

from bittensor_wallet import Keypair

from .admission import PoolLimits
from .errors import ChainError
from .extrinsic import sign
from .ledger import Ledger
from .node import Node
from .params import dev_config
from .units import RAO_PER_TAO

BLOCK_SECONDS = 12


def rss_bytes() -> int:
    """Resident set size of this process (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def scenario(enabled: bool, junk: int, big: int, big_kb: int, weights: int) -> dict[str, Any]:
    cfg = dev_config(tx_fee_base=100_000, tx_fee_per_byte=100)  # the default profile's fees
    node = Node(Ledger.open(cfg, None, None), BLOCK_SECONDS, True, PoolLimits(enabled=enabled))
    g = node.ledger.genesis_hash
    tag = "on" if enabled else "off"
    broke = Keypair.create_from_uri(f"//bench-broke-{tag}")
    rich = [Keypair.create_from_uri(f"//bench-rich-{tag}-{i}") for i in range(4)]
    alice, bob = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    for kp in rich:
        await node.submit(sign(kp, "faucet", {"amount": 1000 * RAO_PER_TAO}, 0, g), wait=False)
    await node.produce_async()
    gc.collect()
    rss0 = rss_bytes()
    nonce = {kp.ss58_address: 1 for kp in rich}
    counts = {"queued": 0, "refused": 0}

    async def send(kp: Keypair, call: str, args: dict[str, Any], n: int | None = None) -> bool:
        if n is None:
            n = nonce.get(kp.ss58_address, 0)
        try:
            body = json.loads(json.dumps(sign(kp, call, args, n, g)))  # as from the wire
            await node.submit(body, wait=False)
        except ChainError:
            counts["refused"] += 1
            return False
        nonce[kp.ss58_address] = n + 1
        counts["queued"] += 1
        return True

    for n in range(junk):
        await send(broke, "transfer", {"dest": bob.ss58_address, "amount": 1}, n)
    for _ in range(junk):
        await send(rich[0], "transfer", {"dest": bob.ss58_address, "amount": 1})
    pad = "x" * (big_kb * 1000)
    for i in range(big):
        await send(
            rich[1 + i % 3], "transfer", {"dest": bob.ss58_address, "amount": 1, "memo": pad}
        )
    uids = list(range(65_536))
    for i in range(weights):
        args = {"netuid": 1, "uids": uids, "values": [1] * len(uids)}
        await send(rich[1 + i % 3], "set_weights", args)
    queue_bytes, queue_len = node.pool.bytes, len(node.queue)
    gc.collect()
    rss = rss_bytes() - rss0
    honest = sign(alice, "transfer", {"dest": bob.ss58_address, "amount": 5}, 0, g)
    xt, _ = await node.submit(honest, wait=False)
    start, blocks = node.ledger.head.number, 0
    while node.results.get(xt.hash) is None:
        await node.produce_async()
        blocks += 1
    return {
        "admission": tag,
        "queued": counts["queued"],
        "refused": counts["refused"],
        "queue_len": queue_len,
        "queue_mb": round(queue_bytes / 1e6, 1),
        "rss_mb": round(rss / 1e6, 1),
        "honest_blocks": node.ledger.head.number - start,
        "honest_seconds": blocks * BLOCK_SECONDS,
        "status": node.results[xt.hash]["status"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--junk", type=int, default=5000)
    ap.add_argument("--big", type=int, default=148)
    ap.add_argument("--big-kb", type=int, default=900)
    ap.add_argument("--weights", type=int, default=40)
    a = ap.parse_args()
    rows = [asyncio.run(scenario(on, a.junk, a.big, a.big_kb, a.weights)) for on in (False, True)]
    keys = list(rows[0])
    print(f"{'':16}" + "".join(f"{r['admission']:>14}" for r in rows))
    for k in keys[1:]:
        print(f"{k:16}" + "".join(f"{r[k]!s:>14}" for r in rows))


if __name__ == "__main__":
    main()
