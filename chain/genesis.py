"""Genesis balances from a file (``subnetes chain run --genesis-balances FILE``).

The ``default`` profile mints nothing at genesis, so on such a network nobody could pay a
subnet lock or a registration burn. Operators list the coldkeys to fund in a JSON file (the
platform chart renders it from ``chain.genesis.balances``)::

    [{"address": "5F...", "rao": 1000000000000}, ...]

``rao`` is an integer or a string of digits (Helm reads YAML numbers as floats, so amounts above
2**53 rao travel as strings). The balances are added to the profile's own (the ``dev`` accounts
keep theirs) and only shape a new database: an existing chain keeps the genesis it was created
with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from subnetes.wire.ss58 import is_ss58

from .units import TOTAL_SUPPLY

Balances = tuple[tuple[str, int], ...]


def _amount(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{where}: rao must be an integer")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f"{where}: rao must be a positive integer (got {value!r})")
    return value


def parse_balances(data: Any) -> Balances:
    """Validate a parsed balances document (a list of ``{address, rao}``) into genesis pairs."""
    if not isinstance(data, list):
        raise ValueError("genesis balances must be a JSON list of {address, rao} objects")
    pairs: list[tuple[str, int]] = []
    for i, entry in enumerate(data):
        where = f"genesis balance #{i}"
        if not isinstance(entry, dict) or set(entry) != {"address", "rao"}:
            raise ValueError(f"{where}: expected exactly the keys 'address' and 'rao'")
        address = entry["address"]
        if not isinstance(address, str) or not is_ss58(address):
            raise ValueError(f"{where}: {address!r} is not an SS58 address")
        pairs.append((address, _amount(entry["rao"], where)))
    return tuple(pairs)


def load_balances(path: str | Path) -> Balances:
    """Read and validate a genesis balances file (see the module docstring)."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not JSON: {e}") from e
    return parse_balances(data)


def with_balances(existing: Balances, extra: Balances) -> Balances:
    """The profile's balances plus ``extra``; the total must stay within the supply cap (the
    block emission formula assumes issuance <= TOTAL_SUPPLY)."""
    combined = existing + extra
    total = sum(amount for _, amount in combined)
    if total > TOTAL_SUPPLY:
        raise ValueError(f"genesis balances total {total} rao, above the supply of {TOTAL_SUPPLY}")
    return combined
