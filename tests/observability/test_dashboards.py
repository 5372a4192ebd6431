"""The Grafana dashboards (hack/dashboards.py -> charts/subnetes/dashboards/): current with
their generator, shipped as sidecar ConfigMaps, every panel query parsed by promtool, and every
metric a query reads exported by the chain's or the operator's /metrics."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .exported import exported_metric_names, metric_names_in
from .promtool import REPO, promtool, render_chart, write_rule_file

# What Grafana substitutes before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$namespace": "subnetes-system", "$netuid": "1"}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dashboards", REPO / "hack/dashboards.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _dashboards() -> dict[str, dict[str, Any]]:
    files = sorted((REPO / "charts/subnetes/dashboards").glob("*.json"))
    return {p.name: json.loads(p.read_text()) for p in files}


def _queries() -> list[tuple[str, str]]:
    """(where, PromQL as Prometheus receives it) for every panel target and query variable."""
    out = []
    for name, board in _dashboards().items():
        for panel in board["panels"]:
            for t in panel["targets"]:
                out.append((f"{name} panel {panel['title']!r} {t['refId']}", t["expr"]))
        for var in board["templating"]["list"]:
            if var["type"] == "query":  # label_values(<selector>, label): the selector
                sel = re.fullmatch(r"label_values\((.*), *\w+\)", var["definition"])
                assert sel, var["definition"]
                out.append((f"{name} variable {var['name']}", sel.group(1)))
    return [(where, _substitute(where, expr)) for where, expr in out]


def _substitute(where: str, expr: str) -> str:
    for var, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(var, value)
    assert "$" not in expr, f"{where}: unknown Grafana variable in {expr}"
    return expr


def test_dashboards_are_what_the_generator_makes() -> None:
    rendered = _generator().render()
    assert set(rendered) == set(_dashboards()), "run .venv/bin/python hack/dashboards.py"
    for name, text in rendered.items():
        on_disk = (REPO / "charts/subnetes/dashboards" / name).read_text()
        assert on_disk == text, f"{name} is stale: run .venv/bin/python hack/dashboards.py"


def test_dashboards_cover_the_network_a_subnet_and_the_operator() -> None:
    boards = _dashboards()
    assert {b["uid"] for b in boards.values()} == {
        "subnetes-network", "subnetes-subnet", "subnetes-operator"
    }  # fmt: skip
    for board in boards.values():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)) and all(p["targets"] for p in board["panels"])
        for p in board["panels"]:  # within the 24-column grid
            g = p["gridPos"]
            assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
    text = json.dumps(boards)
    for metric in ("subnetes_chain_epochs_total", "subnetes_chain_subnet_emission_rao_total",
                   "subnetes_chain_epoch_seconds", "subnetes_chain_uid_incentive",
                   "subnetes_chain_uid_dividends", "subnetes_chain_uid_emission_rao",
                   "subnetes_chain_neuron_registrations_total",
                   "subnetes_chain_neuron_deregistrations_total",
                   "subnetes_operator_reconcile_total", "subnetes_operator_status_lag_seconds",
                   "subnetes_operator_reconcile_errors_total"):  # fmt: skip
        assert metric in text, f"no panel shows {metric}"


@pytest.mark.cluster  # promtool comes with the control-plane build
def test_every_panel_query_parses_with_promtool(tmp_path: Path) -> None:
    queries = _queries()
    rules = [{"record": f"panel:q{i}", "expr": expr} for i, (_, expr) in enumerate(queries)]
    path = write_rule_file(tmp_path / "panels.yaml", [{"name": "panels", "rules": rules}])
    out = promtool("check", "rules", str(path))
    assert f"SUCCESS: {len(rules)} rules found" in out, out


@pytest.mark.cluster  # scrapes a real chain process; runs with the promtool tests
def test_every_panel_reads_metrics_the_chain_or_operator_export() -> None:
    exported = exported_metric_names()
    for where, expr in _queries():
        for name in metric_names_in(expr):
            assert name in exported, f"{where} reads {name}, which nothing exports: {expr}"


@pytest.mark.cluster  # helm comes with the control-plane build
def test_chart_ships_the_dashboards_to_grafanas_sidecar() -> None:
    assert not [d for d in render_chart({}) if d["kind"] == "ConfigMap"
                and "dashboard" in d["metadata"]["name"]]  # fmt: skip
    docs = render_chart(
        {"grafanaDashboards": {"enabled": True, "namespace": "monitoring", "labels": {"a": "b"}}}
    )
    maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"
            and d["metadata"]["name"].startswith("rel-subnetes-dashboard-")}  # fmt: skip
    assert set(maps) == {f"rel-subnetes-dashboard-{n}" for n in ("network", "subnet", "operator")}
    for name, cm in maps.items():
        meta = cm["metadata"]
        assert meta["labels"]["grafana_dashboard"] == "1" and meta["labels"]["a"] == "b"
        assert meta["namespace"] == "monitoring"
        assert meta["annotations"] == {"grafana_folder": "Subnetes"}
        short = name.removeprefix("rel-subnetes-dashboard-")
        ((key, text),) = cm["data"].items()
        assert key == f"subnetes-{short}.json"
        assert json.loads(text) == _dashboards()[f"{short}.json"]
