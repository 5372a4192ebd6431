"""Canonical JSON and hashing: the bytes that get signed and hashed (the chain, its clients and
the operator agree on them through this one module)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 (interfaces.md "Extrinsics on the wire")."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def h256(data: bytes) -> bytes:
    """blake2b-256, Substrate's hash."""
    return hashlib.blake2b(data, digest_size=32).digest()


def hex_hash(data: bytes) -> str:
    """``0x``-prefixed blake2b-256 of ``data``."""
    return "0x" + h256(data).hex()


def obj_hash(obj: Any) -> str:
    """``0x``-prefixed hash of the canonical JSON of ``obj``."""
    return hex_hash(canonical(obj))
