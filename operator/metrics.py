"""Prometheus metrics (Kopf has none): reconciles, errors, chain calls, status lag."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RECONCILES = Counter(
    "subnetes_operator_reconcile_total", "Reconciles by kind and result.", ["kind", "result"]
)
RECONCILE_ERRORS = Counter(
    "subnetes_operator_reconcile_errors_total", "Reconciles that raised, by kind.", ["kind"]
)
RECONCILE_SECONDS = Histogram(
    "subnetes_operator_reconcile_duration_seconds", "Reconcile wall time.", ["kind"]
)
CHAIN_CALLS = Counter(
    "subnetes_operator_chain_calls_total", "Chain API calls by call and result.", ["call", "result"]
)
CHAIN_SECONDS = Histogram(
    "subnetes_operator_chain_call_duration_seconds", "Chain API call wall time.", ["call"]
)
STATUS_LAG = Histogram(
    "subnetes_operator_status_lag_seconds",
    "From receiving a chain event to the status patch that reflects it.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
CHAIN_HEAD = Gauge("subnetes_operator_chain_block", "Last chain block seen on the event stream.")
STATUS_PATCHES = Counter(
    "subnetes_operator_status_patches_total", "Status patches written, by kind.", ["kind"]
)


def serve(host: str, port: int) -> None:
    """Expose /metrics on ``host:port`` (loopback unless configured)."""
    start_http_server(port, addr=host)
