"""OpenTelemetry spans around reconciles and chain calls (exporter off by default)."""

from __future__ import annotations

from opentelemetry import trace

tracer = trace.get_tracer("subnetes.operator")


def setup(exporter: str | None) -> None:
    """Install a tracer provider: ``console`` or ``otlp``; nothing when unset or ``none``."""
    if not exporter or exporter == "none":
        return
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider()
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore
            OTLPSpanExporter,
        )

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        raise ValueError(f"unknown trace exporter {exporter!r}")
    trace.set_tracer_provider(provider)
