"""The operator's series behind the Stalled/Deregistered/Secret alerts (operator/metrics.py)."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from subnetes.operator import metrics


def _cond(type_: str, status: str, reason: str) -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": ""}


def _value(reason: str, condition: str = "Stalled") -> float | None:
    labels = {
        "kind": "Miner",
        "object_namespace": "team-a",
        "object_name": "m1",
        "condition": condition,
        "reason": reason,
    }
    return REGISTRY.get_sample_value("subnetes_operator_condition", labels)


def test_condition_series_follow_the_status() -> None:
    stalled = {"conditions": [_cond("Ready", "False", "BurnAboveLimit"),
                              _cond("Stalled", "True", "BurnAboveLimit")]}  # fmt: skip
    metrics.observe_status("Miner", "team-a", "m1", stalled)
    assert _value("BurnAboveLimit") == 1
    # The reason changes: the old series goes, the new one comes (no stale page).
    secret = {"conditions": [_cond("Stalled", "True", "SecretNotFound")]}
    metrics.observe_status("Miner", "team-a", "m1", secret)
    assert _value("BurnAboveLimit") is None and _value("SecretNotFound") == 1
    # Deregistered and Stalled at once (policy Stop).
    both = {"conditions": [_cond("Deregistered", "True", "Pruned"),
                           _cond("Stalled", "True", "Deregistered")]}  # fmt: skip
    metrics.observe_status("Miner", "team-a", "m1", both)
    assert _value("Pruned", "Deregistered") == 1 and _value("Deregistered") == 1
    assert _value("SecretNotFound") is None
    # Ready again: nothing; the object gone: nothing.
    ready = {"conditions": [_cond("Ready", "True", "Running"), _cond("Stalled", "False", "x")]}
    metrics.observe_status("Miner", "team-a", "m1", ready)
    assert _value("Pruned", "Deregistered") is None and _value("Deregistered") is None
    metrics.observe_status("Miner", "team-a", "m1", stalled)
    metrics.observe_status("Miner", "team-a", "m1", None)
    assert _value("BurnAboveLimit") is None
