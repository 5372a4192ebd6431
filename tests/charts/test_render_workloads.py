"""Issue 11 #6, #8-#10: external chain, operator probes/metrics, chain PDB, headless Service.

Rendered offline with the pinned helm (``helm template``, see render.py): ``cluster``-marked
only because helm is built with the control plane; no API server is used.
"""

from __future__ import annotations

import pytest

from .render import (
    FULL,
    NAMESPACE,
    env_of,
    find,
    notes,
    one,
    operator_container,
    render,
    template,
)

pytestmark = pytest.mark.cluster


# ---- 6: an external chain ------------------------------------------------------------------
def test_external_chain_needs_an_endpoint() -> None:
    out = template("chain.enabled=false")
    assert out.returncode != 0
    assert "chain.endpoint is required when chain.enabled=false" in out.stderr


def test_external_chain_endpoint_reaches_the_operator() -> None:
    docs = render("chain.enabled=false", "chain.endpoint=https://chain.example:9944")
    env = env_of(operator_container(docs))
    assert env["SUBNETES_CHAIN_ENDPOINT"] == "https://chain.example:9944"
    assert not find(docs, "StatefulSet") and not find(docs, "NetworkPolicy")
    assert "https://chain.example:9944" in notes(
        "chain.enabled=false", "chain.endpoint=https://chain.example:9944"
    )


def test_in_cluster_chain_endpoint_is_the_service() -> None:
    env = env_of(operator_container(render()))
    assert env["SUBNETES_CHAIN_ENDPOINT"] == f"http://{FULL}-chain.{NAMESPACE}.svc:9944"


# ---- 8: operator probes and metrics -------------------------------------------------------
def test_operator_has_a_readiness_probe_on_its_health_port() -> None:
    op = operator_container(render())
    ports = {p["name"]: p["containerPort"] for p in op["ports"]}
    assert op["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert ports["health"] == 8080
    assert op["livenessProbe"]["httpGet"]["port"] == "health"


def test_operator_serves_metrics_on_its_metrics_port() -> None:
    """The ServiceMonitor scrapes the metrics port: the operator must listen there, on the pod
    IP (its default is off, on 127.0.0.1)."""
    op = operator_container(render("operator.metrics.port=9100"))
    env = env_of(op)
    assert env["SUBNETES_METRICS_PORT"] == "9100"
    assert env["SUBNETES_METRICS_HOST"] == "0.0.0.0"
    assert {p["name"]: p["containerPort"] for p in op["ports"]}["metrics"] == 9100


# ---- 9: the chain PDB -----------------------------------------------------------------------
def test_no_chain_pdb_by_default() -> None:
    """One replica plus maxUnavailable 0 would block every node drain."""
    assert not find(render(), "PodDisruptionBudget")


def test_chain_pdb_opt_in_lets_unhealthy_pods_go() -> None:
    pdb = one(render("chain.podDisruptionBudget.enabled=true"), "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 0
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


# ---- 10: the StatefulSet's governing Service is headless ------------------------------------
def test_chain_statefulset_names_a_headless_service() -> None:
    docs = render()
    sts = one(docs, "StatefulSet")
    governing = one(docs, "Service", sts["spec"]["serviceName"])
    assert governing["spec"]["clusterIP"] == "None"
    assert governing["spec"]["publishNotReadyAddresses"] is True
    assert governing["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]
    api = one(docs, "Service", f"{FULL}-chain")
    assert api["spec"].get("clusterIP") != "None"


# ---- found by the real pods (e2e): probes on a busy node ------------------------------------
@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_liveness_waits_for_a_startup_probe_and_probes_allow_slow_answers(kind: str) -> None:
    """On the real node the operator's liveness probe killed it while it was still starting
    (10 s delay, 1 s timeouts, no startup probe): a restart loop on any loaded node."""
    (workload,) = find(render(), kind)
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe].get("timeoutSeconds", 1) >= 5, probe
    assert "initialDelaySeconds" not in container["livenessProbe"]
