"""Audit a chain's state against its own blocks: what the blocks record is what the state holds.

The conservation check (balances + stake + locks == issuance) cannot see an extrinsic applied
twice to the state (after a crash and restart, say): a faucet counted twice raises a balance
*and* the issuance, and the sum still matches. The blocks can: each Block event records the
issuance after that block, and the Faucet/Transfer/FeePaid events record every movement of a
plain account's balance. A state that applied anything twice disagrees with them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any


def balance_flows(blocks: Iterable[dict[str, Any]]) -> tuple[Counter[str], int | None]:
    """(net rao each account received by faucet and transfers, less the fees it paid; the
    issuance the last block records)."""
    flows: Counter[str] = Counter()
    issuance = None
    for block in blocks:
        for ev in block["events"]:
            kind = ev["type"]
            if kind == "Faucet":
                flows[ev["dest"]] += int(ev["amount"])
            elif kind == "Transfer":
                flows[ev["source"]] -= int(ev["amount"])
                flows[ev["dest"]] += int(ev["amount"])
            elif kind == "FeePaid":
                flows[ev["who"]] -= int(ev["fee"]) + int(ev.get("tip") or 0)
            elif kind == "Block":
                issuance = int(ev["issuance"])
    return flows, issuance


def audit(
    blocks: Iterable[dict[str, Any]],
    issuance: int,
    balance: Callable[[str], int],
    plain_accounts: Iterable[str],
) -> None:
    """Assert the state's ``issuance`` is what the head block records, and that each of
    ``plain_accounts`` (moved only by faucet, transfers and fees: no genesis balance, no stake,
    no registration) holds exactly what the blocks' events gave it."""
    flows, recorded = balance_flows(blocks)
    assert issuance == recorded, f"state issuance {issuance} != head block's record {recorded}"
    for addr in plain_accounts:
        assert balance(addr) == flows[addr], (addr, balance(addr), flows[addr])
