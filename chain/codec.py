"""Canonical JSON and hashing: declared once in ``subnetes.wire.codec``; re-exported here for the
chain's modules."""

from __future__ import annotations

from subnetes.wire.codec import canonical, h256, hex_hash, obj_hash

__all__ = ["canonical", "h256", "hex_hash", "obj_hash"]
