"""The metagraph watcher's event handling (pure: a fake chain client)."""

from __future__ import annotations

from typing import Any

from subnetes.gateway.pool import Pool
from subnetes.gateway.watcher import Watcher


class FakeClient:
    def __init__(self, rows: list[dict[str, Any]], block: int) -> None:
        self.rows, self.block, self.reads = rows, block, 0

    async def metagraph(self, netuid: int) -> dict[str, Any]:
        self.reads += 1
        return {"netuid": netuid, "block": self.block, "neurons": self.rows}


def rows(*uids: int) -> list[dict[str, Any]]:
    return [
        {"uid": u, "hotkey": f"hk{u}", "incentive": 10, "axon": {"ip": "127.0.0.1", "port": 1}}
        for u in uids
    ]


async def test_events_move_the_pool() -> None:
    pool = Pool()
    client = FakeClient(rows(0, 1, 2), 10)
    changes: list[int] = []
    w = Watcher(client, 1, pool, on_change=lambda: changes.append(1))  # type: ignore[arg-type]
    assert await w.load() == 10 and w.loaded and sorted(pool.miners) == [0, 1, 2]
    # Another subnet's events and Block events change nothing.
    w.apply({"type": "NeuronDeregistered", "netuid": 2, "uid": 0, "hotkey": "hk0", "block": 11})
    w.apply({"type": "Block", "block": 11})
    assert sorted(pool.miners) == [0, 1, 2] and not w._dirty.is_set()
    # Pruned: out at once, in the block that pruned it; a re-read is due for the newcomer.
    w.apply({"type": "NeuronDeregistered", "netuid": 1, "uid": 1, "hotkey": "hk1", "block": 12})
    assert sorted(pool.miners) == [0, 2] and w._dirty.is_set()
    w.apply(
        {
            "type": "EpochResult",
            "netuid": 1,
            "block": 13,
            "uids": [{"uid": 0, "hotkey": "hk0", "incentive": 0, "trust": 5}],
        }
    )
    assert pool.miners[0].incentive == 0 and pool.block == 13
    w._dirty.clear()
    w.apply({"type": "AxonServed", "netuid": 1, "uid": 2, "hotkey": "hk2", "block": 14})
    assert w._dirty.is_set()
    w.apply({"type": "SubnetDeregistered", "netuid": 1, "block": 15})
    assert pool.miners == {} and len(changes) >= 3
