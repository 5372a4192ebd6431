"""Prometheus metrics (Kopf has none): reconciles, errors, chain calls, status lag."""

from __future__ import annotations

import contextlib
from typing import Any

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
CHILD_APPLIES = Counter(
    "subnetes_operator_child_applies_total",
    "Children (StatefulSet, Service, Deployment) by result: applied, or unchanged (not sent).",
    ["kind", "result"],
)
# For alerts (charts/subnetes PrometheusRule): 1 in the replica that runs Kopf (it holds the
# Lease, or is the only one without leader election); a standby serves 0 while it waits.
LEADER = Gauge("subnetes_operator_leader", "1 while this replica reconciles (holds the Lease).")
_serving: list[tuple[str, int]] = []
# One series per object whose Stalled or Deregistered condition is True (1), with its reason
# (BurnAboveLimit, LockCostAboveLimit, SecretNotFound, Pruned...): what a user must act on.
# object_namespace, not namespace: Prometheus sets `namespace` to the operator pod's own.
CONDITION = Gauge(
    "subnetes_operator_condition",
    "1 per Subnet/Miner/Validator whose Stalled or Deregistered condition is True.",
    ["kind", "object_namespace", "object_name", "condition", "reason"],
)
WATCHED_CONDITIONS = ("Stalled", "Deregistered")
_conditions: dict[tuple[str, str, str], set[tuple[str, str]]] = {}


def observe_status(kind: str, ns: str, name: str, status: dict[str, Any] | None) -> None:
    """Set :data:`CONDITION` from an object's status as just computed (None: the object is
    gone), dropping the series of conditions that cleared or changed reason."""
    now = {
        (cond["type"], str(cond.get("reason") or ""))
        for cond in (status or {}).get("conditions") or ()
        if cond.get("type") in WATCHED_CONDITIONS and cond.get("status") == "True"
    }
    key = (kind, ns, name)
    for condition, reason in _conditions.pop(key, set()) - now:
        with contextlib.suppress(KeyError):
            CONDITION.remove(kind, ns, name, condition, reason)
    for condition, reason in now:
        CONDITION.labels(kind, ns, name, condition, reason).set(1)
    if now:
        _conditions[key] = now


def serve(host: str, port: int, leader: bool = True) -> None:
    """Expose /metrics on ``host:port`` (loopback unless configured), once per process, with
    ``subnetes_operator_leader`` 1 (reconciling) or 0 (a standby waiting for the Lease)."""
    if (host, port) not in _serving:
        start_http_server(port, addr=host)
        _serving.append((host, port))
    LEADER.set(1 if leader else 0)
