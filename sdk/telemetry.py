"""Prometheus metrics and OpenTelemetry traces for workloads.

Metrics live in a per-process ``CollectorRegistry`` (not the global one, so tests can build many
axons and validators) and are served on SUBNETES_METRICS_IP:SUBNETES_METRICS_PORT when set.
Traces are off by default: spans go to a no-op tracer unless OTEL_TRACES_EXPORTER is ``console``
or ``otlp`` and OTEL_SDK_DISABLED is not true (the standard OTEL_* variables, read by the setup
the chain and the operator share: :mod:`subnetes.sdk.tracing`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from . import tracing

log = logging.getLogger("subnetes.sdk.telemetry")
tracer = trace.get_tracer("subnetes.sdk")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass
class AxonMetrics:
    """Miner-side: requests served and refused."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "subnetes_axon_requests",
            "Axon requests by route and HTTP status",
            ["route", "status"],
            registry=r,
        )
        self.rejected = Counter(
            "subnetes_axon_rejected", "Requests refused by authentication", ["reason"], registry=r
        )
        self.duration = Histogram(
            "subnetes_axon_request_duration_seconds",
            "Time to answer an authenticated request",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "subnetes_axon_requests_in_progress", "Requests being handled", registry=r
        )


@dataclass
class ValidatorMetrics:
    """Validator-side: queries, scores, weights, chain errors."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.queries = Counter(
            "subnetes_validator_queries", "Miner queries by outcome", ["outcome"], registry=r
        )
        self.query_latency = Histogram(
            "subnetes_validator_query_latency_seconds",
            "Latency of answered queries",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.steps = Counter("subnetes_validator_steps", "Validation rounds completed", registry=r)
        self.score = Gauge(
            "subnetes_validator_miner_score", "Moving-average score per UID", ["uid"], registry=r
        )
        self.weights_set = Counter(
            "subnetes_validator_weights_set", "set_weights by result", ["result"], registry=r
        )
        self.last_weights_block = Gauge(
            "subnetes_validator_last_weights_block",
            "Block of the last accepted set_weights",
            registry=r,
        )
        self.chain_errors = Counter(
            "subnetes_validator_chain_errors", "Chain calls that failed", ["kind"], registry=r
        )
        self.block = Gauge("subnetes_validator_chain_block", "Last block seen", registry=r)


def start_metrics_server(registry: CollectorRegistry, ip: str | None, port: int | None) -> Any:
    """Serve ``registry`` at http://ip:port/metrics when a port is configured; returns the server."""
    if not port:
        return None
    server, _thread = start_http_server(port, addr=ip or "127.0.0.1", registry=registry)
    log.info("metrics served", extra={"addr": f"{ip}:{port}"})
    return server


def setup_tracing(service_name: str, env: Mapping[str, str] | None = None) -> bool:
    """Install a tracer provider when the OTEL_* environment asks for one; False (no-op) by
    default. A workload never fails to start over tracing: bad settings are logged, not raised
    (see :mod:`subnetes.sdk.tracing` for the variables)."""
    try:
        return tracing.setup_tracing(service_name, env=env)
    except tracing.TracingConfigError as e:
        log.warning("tracing stays off", extra={"error": str(e)})
        return False
