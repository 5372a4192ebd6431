"""Gateway traffic per subnet and per miner, for the network router's ``GET /v1/traffic`` and
its web page (``gateway/dashboard/``).

Pure: the router counts what it forwarded (:class:`SubnetTraffic`); each subnet gateway's
``GET /v1/pool`` document (fetched by the router) gives the per-miner rows
(:func:`miner_rows`); :func:`subnet_row` joins the two for one route. No secrets are here:
miners are named by UID and axon (public on chain), never by a key.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

LATENCY_SAMPLES = 512  # the p50 is over the last this-many verified answers


def p50(samples: Iterable[float]) -> float | None:
    """The median of ``samples`` (the lower middle for an even count), None when empty."""
    xs = sorted(samples)
    return xs[(len(xs) - 1) // 2] if xs else None


@dataclass
class SubnetTraffic:
    """What the router forwarded to one subnet's gateway."""

    requests: int = 0  # attempts sent to the subnet's gateway
    verified: int = 0  # 2xx answers (a gateway returns only verified answers)
    rejected: int = 0  # 4xx: the user's error, passed back as it is
    errors: int = 0  # 5xx or unreachable: the router moved on to another subnet
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))

    def record(self, status: int | None, latency_s: float | None = None) -> None:
        """One attempt: its HTTP status (None: no answer) and, for a 2xx, its latency."""
        self.requests += 1
        if status is None or status >= 500:
            self.errors += 1
        elif status >= 400:
            self.rejected += 1
        else:
            self.verified += 1
            if latency_s is not None:
                self.latencies.append(latency_s)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts and the latency p50 (seconds)."""
        return {
            "requests": self.requests,
            "verified": self.verified,
            "rejected": self.rejected,
            "errors": self.errors,
            "latency_p50_s": p50(self.latencies),
        }


def miner_rows(pool: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-miner traffic from a gateway's ``GET /v1/pool`` document, by UID.

    ``requests`` counts every attempt sent to the miner (hedges that lost included);
    ``failures`` are wrong answers, timeouts and errors; a miner is ``in_pool`` while its
    circuit breaker is closed, and ``penalised`` otherwise (open or probing)."""
    out = []
    for m in sorted(pool.get("miners", []), key=lambda m: int(m["uid"])):
        counts: Mapping[str, int] = m.get("counts", {})
        wrong = int(counts.get("wrong", 0))
        failed = int(counts.get("timeout", 0)) + int(counts.get("error", 0))
        breaker = str(m.get("breaker", "closed"))
        out.append(
            {
                "uid": int(m["uid"]),
                "axon": m.get("axon"),
                "incentive": m.get("incentive", 0),
                "share": m.get("share", 0.0),
                "requests": sum(int(v) for v in counts.values()),
                "verified": int(counts.get("ok", 0)),
                "wrong": wrong,
                "failures": wrong + failed,
                "latency_ewma_s": m.get("latency_ewma_s"),
                "breaker": breaker,
                "in_pool": breaker == "closed",
            }
        )
    return out


def subnet_row(
    netuid: int,
    url: str,
    capabilities: Iterable[str],
    traffic: SubnetTraffic,
    pool: Mapping[str, Any] | None,
    pool_error: str | None = None,
) -> dict[str, Any]:
    """One route's row: the router's counts and the gateway's miners (``pool`` None when the
    gateway did not answer; ``pool_error`` says why)."""
    return {
        "netuid": netuid,
        "url": url,
        "capabilities": list(capabilities),
        "router": traffic.as_dict(),
        "block": None if pool is None else pool.get("block"),
        "miners": [] if pool is None else miner_rows(pool),
        "pool_error": pool_error,
    }
