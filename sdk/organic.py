"""Organic scores: how miners did on real users' requests, as a subnet's gateway saw them.

A gateway (``subnetes.gateway``) verifies every answer it returns with the subnet's own check
and keeps a quality EWMA per miner (1 for a verified answer, 0 for a wrong, missing or late
one). Validators read it here and fold it into their own (synthetic) scores before setting
weights, as real subnets do with organic traffic::

    organic = await read_organic_quality(gateway_url)
    scores = blend(validator.scores, organic, weight=0.3)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class OrganicQuality:
    """One miner's organic record at the gateway."""

    uid: int
    hotkey: str
    quality: float  # in [0, 1]
    verified: int
    wrong: int
    failed: int


async def read_organic_quality(
    gateway_url: str, timeout_s: float = 5.0, hotkeys: Mapping[int, str] | None = None
) -> dict[int, OrganicQuality]:
    """The gateway's organic quality by UID (``GET <gateway>/v1/quality``). With ``hotkeys``
    (UID -> hotkey from the validator's metagraph), records of a UID's previous owner are
    dropped, so a re-registered UID does not inherit them. Raises httpx.HTTPError."""
    async with httpx.AsyncClient(timeout=timeout_s, trust_env=False) as client:
        resp = await client.get(gateway_url.rstrip("/") + "/v1/quality")
        resp.raise_for_status()
        doc = resp.json()
    out: dict[int, OrganicQuality] = {}
    for m in doc.get("miners", []):
        q = OrganicQuality(
            int(m["uid"]),
            str(m["hotkey"]),
            min(1.0, max(0.0, float(m["quality"]))),
            int(m.get("verified", 0)),
            int(m.get("wrong", 0)),
            int(m.get("failed", 0)),
        )
        if hotkeys is None or hotkeys.get(q.uid) == q.hotkey:
            out[q.uid] = q
    return out


def blend(
    synthetic: Mapping[int, float], organic: Mapping[int, OrganicQuality], weight: float
) -> dict[int, float]:
    """``(1 - weight) * synthetic + weight * organic quality`` per UID; a UID without organic
    traffic keeps its synthetic score (no traffic is no verdict)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError("weight must be in [0, 1]")
    out = dict(synthetic)
    for uid, q in organic.items():
        base = synthetic.get(uid)
        out[uid] = q.quality if base is None else (1 - weight) * base + weight * q.quality
    return out
