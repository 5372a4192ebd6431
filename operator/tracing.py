"""OpenTelemetry spans around reconciles and chain calls (exporter off by default)."""

from __future__ import annotations

from opentelemetry import trace

from subnetes.sdk.tracing import setup_tracing

tracer = trace.get_tracer("subnetes.operator")
SERVICE_NAME = "subnetes-operator"


def setup(exporter: str | None) -> bool:
    """Install a tracer provider: ``exporter`` (SUBNETES_OTEL_EXPORTER: none, console or otlp)
    or else the standard OTEL_* variables; nothing by default. See :mod:`subnetes.sdk.tracing`."""
    return setup_tracing(SERVICE_NAME, exporter=exporter)
