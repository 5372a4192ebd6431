"""Issue 11 #2, #3: NetworkPolicy peers; the Ingress routes reads only.

Rendered offline with the pinned helm (``helm template``, see render.py): ``cluster``-marked
only because helm is built with the control plane; no API server is used.
"""

from __future__ import annotations

from typing import Any

import pytest

from .render import (
    ALICE,
    RELEASE,
    one,
    render,
    template,
)

pytestmark = pytest.mark.cluster


# ---- 2: NetworkPolicy peers -----------------------------------------------------------------
def _peers(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    (rule,) = one(docs, "NetworkPolicy")["spec"]["ingress"]
    assert rule["ports"] == [{"port": 9944, "protocol": "TCP"}]
    return rule["from"]


RELEASE_PODS = {
    "podSelector": {
        "matchLabels": {
            "app.kubernetes.io/instance": RELEASE,
            "app.kubernetes.io/part-of": "subnetes",
        }
    }
}
SUBNETES_PODS = {
    "namespaceSelector": {},
    "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "subnetes"}},
}


def test_network_policy_default_admits_only_subnetes_pods() -> None:
    assert _peers(render()) == [RELEASE_PODS, SUBNETES_PODS]


def test_network_policy_takes_a_list_of_peers() -> None:
    mine = [
        {"namespaceSelector": {"matchLabels": {"team": "a"}}},
        {"podSelector": {"matchLabels": {"role": "client"}}},
    ]
    peers = _peers(render(values={"chain": {"networkPolicy": {"allowedPeers": mine}}}))
    # the release's own pods (operator, helm test) stay admitted whatever the list says
    assert peers == [RELEASE_PODS, *mine]


def test_network_policy_admits_the_metrics_scraper_with_service_monitors() -> None:
    scraper = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }
    assert scraper not in _peers(render())
    assert scraper in _peers(render("serviceMonitor.enabled=true"))
    assert scraper in _peers(render("chain.networkPolicy.metricsScraper.enabled=true"))
    custom = [{"podSelector": {"matchLabels": {"scraper": "yes"}}}]
    values = {"chain": {"networkPolicy": {"metricsScraper": {"enabled": True, "peers": custom}}}}
    assert _peers(render(values=values))[-1] == custom[0]


def test_network_policy_admits_the_ingress_controller_with_the_ingress() -> None:
    controller = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
    }
    assert controller not in _peers(render())
    assert controller in _peers(render("chain.ingress.enabled=true"))


def test_old_allowed_pod_labels_value_is_refused_by_name() -> None:
    out = template("chain.networkPolicy.allowedPodLabels.a=b")
    assert out.returncode != 0 and "allowedPodLabels" in out.stderr


# ---- 3: the Ingress routes reads only -------------------------------------------------------
def _ingress_paths() -> list[dict[str, Any]]:
    (rule,) = one(render("chain.ingress.enabled=true"), "Ingress")["spec"]["rules"]
    return rule["http"]["paths"]


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _ingress_matches(ing: dict[str, Any], route: str) -> bool:
    """Could a request that FastAPI routes to ``route`` (``{param}`` = any segment) match the
    Ingress path? Kubernetes semantics: Exact is the whole path; Prefix compares whole
    '/'-separated elements."""
    want, have = _segments(ing["path"]), _segments(route)
    if ing["pathType"] == "Exact" and len(want) != len(have):
        return False
    if len(have) < len(want):
        return False
    return all(h == w or h.startswith("{") for w, h in zip(want, have, strict=False))


def _admits(paths: list[dict[str, Any]], request: str) -> bool:
    return any(_ingress_matches(p, request) for p in paths)


def test_ingress_routes_no_write_dev_or_metrics_path() -> None:
    paths = _ingress_paths()
    assert {p["pathType"] for p in paths} <= {"Exact", "Prefix"}
    for request in ("/v1/extrinsics", "/v1/extrinsics/0xab", "/v1/dev/produce", "/metrics",
                    "/healthz", "/readyz", "/openapi.json", "/v1"):  # fmt: skip
        assert not _admits(paths, request), request
    for request in ("/", "/dashboard", "/dashboard/app.js", "/v1/chain", "/v1/network",
                    "/v1/lock_cost", "/v1/blocks/latest", "/v1/blocks/7", "/v1/subnets",
                    "/v1/subnets/1/metagraph", "/v1/events", "/v1/accounts/" + ALICE,
                    "/v1/hotkeys/" + ALICE):  # fmt: skip
        assert _admits(paths, request), request


def test_ingress_paths_reach_only_get_routes_of_the_chain_api() -> None:
    """Against the chain's real route table: every route an Ingress path can reach is a read."""
    from fastapi.routing import APIRoute

    from subnetes.chain.api import create_app
    from subnetes.chain.ledger import Ledger
    from subnetes.chain.node import Node
    from subnetes.chain.params import dev_config

    app = create_app(Node(Ledger.open(dev_config(), None, None), 1.0, manual=True))
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert any(r.path == "/v1/extrinsics" and "POST" in r.methods for r in routes)
    reached = [r for r in routes if _admits(_ingress_paths(), r.path)]
    assert reached
    for r in reached:
        assert r.methods <= {"GET", "HEAD"}, (r.path, r.methods)
        assert not r.path.startswith(("/v1/dev", "/v1/extrinsics", "/metrics")), r.path
