"""Operator configuration from the environment (the chart sets these on the Deployment)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    """Settings of one operator process."""

    chain_endpoint: str = "http://127.0.0.1:9944"
    # What workloads are told (in-cluster Service DNS name in production); defaults to the above.
    workload_chain_endpoint: str | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    otel_exporter: str | None = None  # none (default) | console | otlp
    retry_delay: float = 10.0  # waiting on a Subnet, a Secret, a burn above maxBurn
    reregister_backoff: float = 5.0  # first delay before re-registering; doubles, capped
    reregister_backoff_max: float = 300.0
    max_concurrent_reconciles: int = 32

    @property
    def endpoint_for_workloads(self) -> str:
        return self.workload_chain_endpoint or self.chain_endpoint

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        e = os.environ if env is None else env
        port = e.get("SUBNETES_METRICS_PORT")
        return cls(
            chain_endpoint=e.get("SUBNETES_CHAIN_ENDPOINT", cls.chain_endpoint),
            workload_chain_endpoint=e.get("SUBNETES_WORKLOAD_CHAIN_ENDPOINT") or None,
            metrics_host=e.get("SUBNETES_METRICS_HOST", cls.metrics_host),
            metrics_port=int(port) if port else None,
            otel_exporter=e.get("SUBNETES_OTEL_EXPORTER") or None,
            retry_delay=float(e.get("SUBNETES_RETRY_DELAY", cls.retry_delay)),
            reregister_backoff=float(e.get("SUBNETES_REREGISTER_BACKOFF", cls.reregister_backoff)),
            reregister_backoff_max=float(
                e.get("SUBNETES_REREGISTER_BACKOFF_MAX", cls.reregister_backoff_max)
            ),
            max_concurrent_reconciles=int(
                e.get("SUBNETES_MAX_CONCURRENT_RECONCILES", cls.max_concurrent_reconciles)
            ),
        )
