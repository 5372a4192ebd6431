"""Benchmark: ``python -m subnetes.chain.bench [--subnets 32 --uids 256 --validators 64]``.

Prints block production time (weights set by every validator once per ``--weights-every``
blocks, epochs included), accepted extrinsics per second through ``Ledger.step`` (signature
verification included), and the time to reopen the database (restart).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace

from bittensor_wallet import Keypair

from .extrinsic import Extrinsic, parse, sign
from .ledger import Ledger
from .params import dev_config
from .units import tao


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subnets", type=int, default=32)
    ap.add_argument("--uids", type=int, default=256)
    ap.add_argument("--validators", type=int, default=64)
    ap.add_argument("--weights-every", type=int, default=100)
    ap.add_argument("--blocks", type=int, default=200)
    ap.add_argument("--tempo", type=int, default=99)
    a = ap.parse_args()
    hp = replace(
        dev_config().default_hyperparams,
        max_registrations_per_block=100_000,
        target_registrations_per_interval=100_000,
        tempo=a.tempo,
        max_allowed_uids=a.uids,
        max_allowed_validators=a.validators,
        immunity_period=0,
    )
    cfg = dev_config(
        subnet_limit=a.subnets,
        default_hyperparams=hp,
        max_extrinsics_per_block=100_000,
        network_rate_limit=0,
        network_lock_reduction_interval=1,
    )
    db = tempfile.mktemp(suffix=".db")
    L = Ledger.open(cfg, db)
    nonces: dict[str, int] = {}

    def xt(kp: Keypair, call: str, **args: object) -> tuple[Extrinsic, bool]:
        n = nonces.get(kp.ss58_address, 0)
        nonces[kp.ss58_address] = n + 1
        return parse(sign(kp, call, args, n, L.genesis_hash)), False

    alice = Keypair.create_from_uri("//Alice")
    hot = {
        (s, u): Keypair.create_from_uri(f"//bench/{s}/{u}")
        for s in range(1, a.subnets + 1)
        for u in range(1, a.uids)
    }
    for s in range(1, a.subnets + 1):
        _, outs = L.step(
            [
                xt(
                    alice,
                    "register_network",
                    hotkey=Keypair.create_from_uri(f"//bench-owner/{s}").ss58_address,
                )
            ]
        )
        assert outs[0].error is None, outs[0].error
    t0 = time.perf_counter()
    batch = [
        xt(alice, "burned_register", netuid=s, hotkey=kp.ss58_address) for (s, _), kp in hot.items()
    ]
    _, outs = L.step(batch)
    assert not any(o.error for o in outs), next(o.error for o in outs if o.error)
    batch = [
        xt(alice, "add_stake", hotkey=hot[(s, u)].ss58_address, amount=tao(1) * u)
        for s in range(1, a.subnets + 1)
        for u in range(1, a.validators + 1)
    ]
    L.step(batch)
    n_xt = len(hot) + len(batch)
    dt = time.perf_counter() - t0
    print(
        f"accepted extrinsics/s (sign+verify+apply+commit, batched): {n_xt / dt:,.0f} ({n_xt} in {dt:.2f}s)"
    )
    L.step()
    # permits: run until every subnet had an epoch
    for _ in range(a.tempo + 2):
        L.step()
    vals = [(s, u) for s in range(1, a.subnets + 1) for u in range(1, a.validators + 1)]
    per_block = max(1, len(vals) // a.weights_every)
    uids = list(range(a.uids))
    times = []
    rejected: dict[str, int] = {}
    for b in range(a.blocks):
        chunk = vals[(b * per_block) % len(vals) :][:per_block]
        xts = [
            xt(
                hot[k],
                "set_weights",
                netuid=k[0],
                uids=uids,
                values=[(i * 7 + k[1]) % 1000 + 1 for i in uids],
            )
            for k in chunk
        ]
        t = time.perf_counter()
        _, outs = L.step(xts)
        times.append(time.perf_counter() - t)
        for o in outs:
            if o.error:
                rejected[o.error.name] = rejected.get(o.error.name, 0) + 1
    times.sort()
    if rejected:
        print(f"rejected set_weights: {rejected}")
    print(
        f"block production ({a.subnets} subnets x {a.uids} uids, {a.validators} validators, "
        f"{per_block} set_weights/block, tempo {a.tempo}): median {statistics.median(times) * 1e3:.1f} ms, "
        f"p95 {times[int(len(times) * 0.95)] * 1e3:.1f} ms, max {times[-1] * 1e3:.1f} ms"
    )
    head = L.head.number
    L.storage.close()  # type: ignore[union-attr]
    t = time.perf_counter()
    L2 = Ledger.open(cfg, db)
    print(f"restart (load state of {head} blocks from SQLite): {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    L2.verify_chain()
    print(f"verify hash chain of {head + 1} blocks: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
