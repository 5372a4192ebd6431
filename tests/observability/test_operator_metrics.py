"""The operator's series behind the Stalled/Deregistered/Secret alerts (operator/metrics.py)."""

from __future__ import annotations

import re
import socket
from typing import Any

import httpx
import pytest
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_standby_serves_metrics_with_leader_0_until_it_holds_the_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A standby (waiting for the Lease) must answer scrapes: a failed scrape of every standby
    pages generic target-down alerts, and SubnetesOperatorLeaderLost reads leader 1 or 0."""
    from subnetes.operator import __main__ as main
    from subnetes.operator import leader

    port, seen = _free_port(), []

    class Standby:  # stands in for the Elector: scrape while "waiting", then give up
        def __init__(self, *_: Any) -> None:
            pass

        def acquire(self) -> None:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            seen.append(re.search(r"^subnetes_operator_leader (\S+)$", text, re.M))
            raise SystemExit(0)

    monkeypatch.setattr(leader, "Elector", Standby)
    monkeypatch.setattr(leader, "LeaseStore", lambda *a: None)
    monkeypatch.setenv("SUBNETES_METRICS_PORT", str(port))
    monkeypatch.setenv("POD_NAMESPACE", "ns")
    with pytest.raises(SystemExit):
        main.run_with_lease("lease", None, ["--liveness", f"http://127.0.0.1:{_free_port()}/"])
    assert seen and seen[0] is not None and float(seen[0].group(1)) == 0
    # Holding the Lease, Kopf's start-up serves again: same port, now 1.
    metrics.serve("127.0.0.1", port)
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert re.search(r"^subnetes_operator_leader 1\.0$", text, re.M)
