"""One OpenTelemetry tracing setup for the chain, the operator and workloads.

Configured by the standard OpenTelemetry environment variables, so one set of values (a Helm
chart's ``env``, a collector sidecar's conventions) works for every process:

- ``OTEL_TRACES_EXPORTER``: ``none`` (default), ``otlp``, ``console``, or a comma list;
  an explicit ``exporter`` argument (``--trace-exporter``, ``SUBNETES_OTEL_EXPORTER``) wins;
- ``OTEL_SDK_DISABLED=true``: tracing stays off whatever else is set;
- ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` (``k=v,k2=v2``, values URL-encoded):
  the resource; the service name defaults to the caller's (e.g. ``subnetes-chain``);
- ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as is) or ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the
  base: ``/v1/traces`` is appended), default ``http://localhost:4318/v1/traces``;
  ``OTEL_EXPORTER_OTLP_[TRACES_]HEADERS``; ``OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`` must be
  ``http/protobuf`` (the only protocol installed: opentelemetry-exporter-otlp-proto-http);
- the rest (``OTEL_EXPORTER_OTLP_TIMEOUT``, ``_COMPRESSION``, certificates, ``OTEL_BSP_*``,
  ``OTEL_TRACES_SAMPLER``) is read by the OpenTelemetry SDK itself from the process environment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

log = logging.getLogger("subnetes.tracing")

EXPORTERS = ("none", "console", "otlp")
OTLP_PROTOCOL = "http/protobuf"


class TracingConfigError(ValueError):
    """The tracing settings name an exporter or protocol this installation cannot serve."""


def _pairs(raw: str) -> dict[str, str]:
    """``k=v,k2=v2`` (W3C baggage style, values URL-encoded) as a dict; malformed items dropped."""
    out: dict[str, str] = {}
    for item in raw.split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            out[unquote(key.strip())] = unquote(value.strip())
    return out


def exporter_names(exporter: str | None, env: Mapping[str, str]) -> list[str]:
    """The exporters to install: ``exporter`` if given, else ``OTEL_TRACES_EXPORTER``; [] = off.

    Raises TracingConfigError for a name other than none, console or otlp.
    """
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    raw = exporter if exporter is not None else env.get("OTEL_TRACES_EXPORTER", "none")
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in EXPORTERS]
    if unknown:
        raise TracingConfigError(
            f"unknown trace exporter {unknown[0]!r} (expected one of {', '.join(EXPORTERS)})"
        )
    return [n for n in dict.fromkeys(names) if n != "none"]


def resource_attributes(service_name: str, env: Mapping[str, str]) -> dict[str, str]:
    """Resource attributes: ``OTEL_RESOURCE_ATTRIBUTES`` plus ``service.name``
    (``OTEL_SERVICE_NAME`` first, then the attribute list's, then ``service_name``)."""
    attrs = _pairs(env.get("OTEL_RESOURCE_ATTRIBUTES", ""))
    name = env.get("OTEL_SERVICE_NAME", "").strip() or attrs.get("service.name") or service_name
    return attrs | {"service.name": name}


def otlp_endpoint(env: Mapping[str, str]) -> str | None:
    """The traces URL from the environment; None leaves the exporter's default."""
    specific = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if specific:
        return specific
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


def _otlp_exporter(env: Mapping[str, str]) -> Any:
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "").strip()
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip()
        or OTLP_PROTOCOL
    )
    if protocol != OTLP_PROTOCOL:
        raise TracingConfigError(
            f"OTLP protocol {protocol!r} is not installed; use {OTLP_PROTOCOL} (port 4318)"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    raw_headers = env.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or env.get(
        "OTEL_EXPORTER_OTLP_HEADERS", ""
    )
    headers = _pairs(raw_headers) or None
    return OTLPSpanExporter(endpoint=otlp_endpoint(env), headers=headers)


def _console() -> Any:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    return ConsoleSpanExporter()


def setup_tracing(
    service_name: str, exporter: str | None = None, env: Mapping[str, str] | None = None
) -> bool:
    """Install a global tracer provider as the environment (or ``exporter``) asks.

    Returns True when spans are now exported, False when tracing stays off (the default: the
    tracers then hand out non-recording spans at no cost). An unknown exporter or an OTLP
    protocol that is not installed raises TracingConfigError when ``exporter`` asked for it
    explicitly (a flag the user just typed); from the environment alone it is logged and tracing
    stays off, as OpenTelemetry SDKs treat bad OTEL_* values. The provider is process-wide and
    one-shot (OpenTelemetry ignores a second one); it flushes its spans at exit.
    """
    env = os.environ if env is None else env
    try:
        names = exporter_names(exporter, env)
        if not names:
            return False
        # Build every exporter before installing anything: a bad setting changes nothing.
        exporters = [_otlp_exporter(env) if n == "otlp" else _console() for n in names]
    except TracingConfigError as e:
        if exporter is not None:
            raise
        log.warning("tracing stays off: %s", e)
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attrs = resource_attributes(service_name, env)
    provider = TracerProvider(resource=Resource.create(attrs))
    for exp in exporters:
        provider.add_span_processor(BatchSpanProcessor(exp))
    trace.set_tracer_provider(provider)
    log.info(
        "tracing on",
        extra={
            "exporters": names,
            "service": attrs["service.name"],
            "endpoint": otlp_endpoint(env) if "otlp" in names else None,
        },
    )
    return True
