"""The gateway's Prometheus metrics (a per-process registry, served at ``GET /metrics``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass
class GatewayMetrics:
    """Requests, latency (overall and by miner), verification failures, pool size."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "subnetes_gateway_requests",
            "User requests by capability, HTTP status and error name",
            ["capability", "status", "error"],
            registry=r,
        )
        self.duration = Histogram(
            "subnetes_gateway_request_duration_seconds",
            "Time to answer a user request (admitted requests only)",
            ["capability"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.miner_latency = Histogram(
            "subnetes_gateway_miner_latency_seconds",
            "Latency of miners' answers by UID",
            ["uid"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.miner_outcomes = Counter(
            "subnetes_gateway_miner_outcomes",
            "Requests sent to miners by UID and outcome (ok, wrong, timeout, error, cancelled)",
            ["uid", "outcome"],
            registry=r,
        )
        self.verification_failures = Counter(
            "subnetes_gateway_verification_failures",
            "Miner answers that failed the subnet's check, by UID",
            ["uid"],
            registry=r,
        )
        self.hedges = Counter(
            "subnetes_gateway_hedged_requests", "Requests sent to a second miner", registry=r
        )
        self.pool_size = Gauge(
            "subnetes_gateway_pool_miners", "Miners in the routing pool", registry=r
        )
        self.pool_block = Gauge(
            "subnetes_gateway_pool_block", "Block of the last metagraph applied", registry=r
        )
