"""Grafana dashboards as code: the network, a subnet and the operator, written to
charts/subnetes/dashboards/*.json (the chart ships each as a ConfigMap for Grafana's sidecar).

Run ``.venv/bin/python hack/dashboards.py`` after editing; tests/observability checks that the
files are what this module generates, that promtool parses every panel's query, and that every
metric a query reads is one the chain's or the operator's /metrics exports.

A small builder of its own rather than grafana-foundation-sdk: the dashboards need panels,
targets and variables only, and a generator that runs at development time should not add a
dependency to the runtime's locked requirements.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "charts" / "subnetes" / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
NS = 'namespace="$namespace"'
SUBNET = f'{NS}, netuid="$netuid"'
RATE = "$__rate_interval"


@dataclass
class Panel:
    """One panel: a title, its PromQL queries (expr, legend) and how to show them."""

    title: str
    queries: list[tuple[str, str]]
    kind: str = "timeseries"  # timeseries | stat | table
    unit: str = "short"
    description: str = ""
    width: int = 12
    height: int = 8

    def to_json(self, pid: int, x: int, y: int) -> dict[str, Any]:
        """The panel's Grafana JSON at grid position (x, y)."""
        targets = [
            {"refId": chr(ord("A") + i), "datasource": DS, "expr": expr, "legendFormat": legend}
            | ({"instant": True, "format": "table"} if self.kind == "table" else {})
            for i, (expr, legend) in enumerate(self.queries)
        ]
        return {
            "id": pid,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": DS,
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "fieldConfig": {"defaults": {"unit": self.unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}}
            if self.kind == "timeseries"
            else {},
            "targets": targets,
        }


@dataclass
class Dashboard:
    """A dashboard: panels laid out left to right, top to bottom, and its variables."""

    uid: str
    title: str
    description: str
    panels: list[Panel]
    variables: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The dashboard's Grafana JSON (schema 39)."""
        panels, x, y, row_h = [], 0, 0, 0
        for pid, panel in enumerate(self.panels, start=1):
            if x + panel.width > 24:
                x, y, row_h = 0, y + row_h, 0
            panels.append(panel.to_json(pid, x, y))
            x, row_h = x + panel.width, max(row_h, panel.height)
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["subnetes"],
            "editable": True,
            "schemaVersion": 39,
            "version": 1,
            "refresh": "30s",
            "time": {"from": "now-6h", "to": "now"},
            "timezone": "browser",
            "annotations": {"list": []},
            "templating": {"list": [DATASOURCE, NAMESPACE, *self.variables]},
            "panels": panels,
        }


def query_variable(name: str, label: str, query: str) -> dict[str, Any]:
    """A variable whose values are ``label_values(query)``."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": f"{name}-values"},
        "definition": query,
        "refresh": 2,  # on time range change
        "sort": 3,  # numerical ascending
        "includeAll": False,
        "multi": False,
    }


DATASOURCE = {
    "name": "datasource",
    "label": "Data source",
    "type": "datasource",
    "query": "prometheus",
}
NAMESPACE = query_variable(
    "namespace", "Namespace", "label_values(subnetes_chain_block_height, namespace)"
)
NETUID = query_variable(
    "netuid", "Subnet", f"label_values(subnetes_chain_subnet_uids{{{NS}}}, netuid)"
)


def p99(metric: str, by: str = "") -> str:
    """The 99th percentile of histogram ``metric`` over the rate interval."""
    return f"histogram_quantile(0.99, sum by (le{by}) (rate({metric}_bucket{{{NS}}}[{RATE}])))"


def network() -> Dashboard:
    """Blocks, epochs, emission per subnet, consensus time, extrinsics."""
    return Dashboard(
        "subnetes-network",
        "Subnetes / Network",
        "The chain: blocks, epochs, emission per subnet, consensus time and extrinsics.",
        [
            Panel(
                "Block height",
                [(f"max(subnetes_chain_block_height{{{NS}}})", "height")],
                "stat",
                width=6,
                height=4,
            ),
            Panel(
                "Since the last block",
                [(f"time() - max(subnetes_chain_last_block_timestamp_seconds{{{NS}}})", "age")],
                "stat",
                "s",
                width=6,
                height=4,
            ),
            Panel(
                "Target block time",
                [(f"max(subnetes_chain_block_time_seconds{{{NS}}})", "")],
                "stat",
                "s",
                width=6,
                height=4,
            ),
            Panel(
                "Subnets",
                [(f"count(subnetes_chain_subnet_uids{{{NS}}})", "subnets")],
                "stat",
                width=6,
                height=4,
            ),
            Panel(
                "Blocks per minute",
                [
                    (
                        f"sum(rate(subnetes_chain_block_production_seconds_count{{{NS}}}[{RATE}])) * 60",
                        "blocks/min",
                    )
                ],
            ),
            Panel(
                "Block production time",
                [
                    (p99("subnetes_chain_block_production_seconds"), "p99"),
                    (
                        f"sum(rate(subnetes_chain_block_production_seconds_sum{{{NS}}}[{RATE}])) / "
                        f"sum(rate(subnetes_chain_block_production_seconds_count{{{NS}}}[{RATE}]))",
                        "mean",
                    ),
                ],
                unit="s",
            ),
            Panel(
                "Consensus time (one batched call, all subnets)",
                [
                    (p99("subnetes_chain_epoch_seconds"), "p99"),
                    (
                        f"sum(rate(subnetes_chain_epoch_seconds_sum{{{NS}}}[{RATE}])) / "
                        f"sum(rate(subnetes_chain_epoch_seconds_count{{{NS}}}[{RATE}]))",
                        "mean",
                    ),
                ],
                unit="s",
                description="SubnetesConsensusSlow compares the mean with the shortest tempo.",
            ),
            Panel(
                "Epochs per hour, by subnet",
                [
                    (
                        f"sum by (netuid) (increase(subnetes_chain_epochs_total{{{NS}}}[1h]))",
                        "netuid {{netuid}}",
                    )
                ],
            ),
            Panel(
                "Emission per subnet (TAO per hour)",
                [
                    (
                        f"sum by (netuid) (rate(subnetes_chain_subnet_emission_rao_total{{{NS}}}[{RATE}]))"
                        " * 3600 / 1e9",
                        "netuid {{netuid}}",
                    )
                ],
            ),
            Panel(
                "Epoch fallbacks to the NumPy reference",
                [(f"sum(increase(subnetes_chain_epoch_fallbacks_total{{{NS}}}[1h]))", "per hour")],
            ),
            Panel(
                "Extrinsics by result",
                [
                    (
                        f"sum by (result) (rate(subnetes_chain_extrinsics_total{{{NS}}}[{RATE}]))",
                        "{{result}}",
                    )
                ],
                unit="ops",
            ),
            Panel(
                "Queue and UIDs",
                [
                    (f"max(subnetes_chain_queue_length{{{NS}}})", "queued extrinsics"),
                    (f"sum(subnetes_chain_subnet_uids{{{NS}}})", "UIDs, all subnets"),
                ],
            ),
        ],
    )


def subnet() -> Dashboard:
    """One subnet ($netuid): UIDs, incentive, dividends and emission per UID, registrations."""
    return Dashboard(
        "subnetes-subnet",
        "Subnetes / Subnet",
        "One subnet: its UIDs, each UID's incentive, dividends and emission after every epoch, "
        "registrations and prunes.",
        [
            Panel(
                "UIDs",
                [(f"max(subnetes_chain_subnet_uids{{{SUBNET}}})", "UIDs")],
                "stat",
                width=6,
                height=4,
            ),
            Panel(
                "Tempo",
                [(f"max(subnetes_chain_subnet_tempo_blocks{{{SUBNET}}})", "blocks")],
                "stat",
                width=6,
                height=4,
            ),
            Panel(
                "Epochs (6h)",
                [(f"sum(increase(subnetes_chain_epochs_total{{{SUBNET}}}[6h]))", "epochs")],
                "stat",
                width=6,
                height=4,
            ),
            Panel(
                "Emission (TAO per hour)",
                [
                    (
                        f"sum(rate(subnetes_chain_subnet_emission_rao_total{{{SUBNET}}}[{RATE}])) "
                        "* 3600 / 1e9",
                        "TAO/h",
                    )
                ],
                "stat",
                width=6,
                height=4,
            ),
            Panel(
                "Incentive by UID",
                [(f"subnetes_chain_uid_incentive{{{SUBNET}}}", "uid {{uid}}")],
                unit="percentunit",
            ),
            Panel(
                "Dividends by UID",
                [(f"subnetes_chain_uid_dividends{{{SUBNET}}}", "uid {{uid}}")],
                unit="percentunit",
            ),
            Panel(
                "Emission by UID, last epoch (TAO)",
                [(f"subnetes_chain_uid_emission_rao{{{SUBNET}}} / 1e9", "uid {{uid}}")],
            ),
            Panel(
                "Registrations and prunes per hour",
                [
                    (
                        f"sum(increase(subnetes_chain_neuron_registrations_total{{{SUBNET}}}[1h]))",
                        "registered",
                    ),
                    (
                        f"sum(increase(subnetes_chain_neuron_deregistrations_total{{{SUBNET}}}[1h]))",
                        "deregistered (pruned or replaced)",
                    ),
                ],
            ),
            Panel(
                "Top UIDs by incentive",
                [(f"topk(10, subnetes_chain_uid_incentive{{{SUBNET}}})", "uid {{uid}}")],
                "table",
                "percentunit",
                width=24,
            ),
        ],
        [NETUID],
    )


def operator() -> Dashboard:
    """Reconciles, errors, status lag, chain calls, leadership and objects needing a user."""
    return Dashboard(
        "subnetes-operator",
        "Subnetes / Operator",
        "The operator: reconciles, errors, status lag behind the chain, chain calls, "
        "leadership, and the objects waiting for a user.",
        [
            Panel(
                "Replicas reconciling",
                [(f"sum(subnetes_operator_leader{{{NS}}})", "leader")],
                "stat",
                width=6,
                height=4,
            ),
            Panel(
                "Blocks behind the chain",
                [
                    (
                        f"max(subnetes_chain_block_height{{{NS}}}) - "
                        f"max(subnetes_operator_chain_block{{{NS}}})",
                        "blocks",
                    )
                ],
                "stat",
                width=6,
                height=4,
            ),
            Panel(
                "Stalled objects",
                [(f'count(subnetes_operator_condition{{{NS}, condition="Stalled"}} == 1)', "")],
                "stat",
                width=6,
                height=4,
            ),
            Panel(
                "Deregistered objects",
                [
                    (
                        f'count(subnetes_operator_condition{{{NS}, condition="Deregistered"}} == 1)',
                        "",
                    )
                ],
                "stat",
                width=6,
                height=4,
            ),
            Panel(
                "Reconciles by kind and result",
                [
                    (
                        f"sum by (kind, result) (rate(subnetes_operator_reconcile_total{{{NS}}}[{RATE}]))",
                        "{{kind}} {{result}}",
                    )
                ],
                unit="ops",
            ),
            Panel(
                "Reconcile errors by kind",
                [
                    (
                        f"sum by (kind) (increase(subnetes_operator_reconcile_errors_total{{{NS}}}[10m]))",
                        "{{kind}}",
                    )
                ],
                description="SubnetesOperatorReconcileErrors fires above 3 in 10 minutes.",
            ),
            Panel(
                "Reconcile time p99 by kind",
                [(p99("subnetes_operator_reconcile_duration_seconds", ", kind"), "{{kind}}")],
                unit="s",
            ),
            Panel(
                "Status lag behind chain events",
                [
                    (p99("subnetes_operator_status_lag_seconds"), "p99"),
                    (
                        f"sum(rate(subnetes_operator_status_lag_seconds_sum{{{NS}}}[{RATE}])) / "
                        f"sum(rate(subnetes_operator_status_lag_seconds_count{{{NS}}}[{RATE}]))",
                        "mean",
                    ),
                ],
                unit="s",
            ),
            Panel(
                "Chain calls by result",
                [
                    (
                        f"sum by (call, result) (rate(subnetes_operator_chain_calls_total{{{NS}}}[{RATE}]))",
                        "{{call}} {{result}}",
                    )
                ],
                unit="ops",
            ),
            Panel(
                "Chain call time p99",
                [(p99("subnetes_operator_chain_call_duration_seconds", ", call"), "{{call}}")],
                unit="s",
            ),
            Panel(
                "Objects waiting for a user",
                [(f"subnetes_operator_condition{{{NS}}} == 1", "")],
                "table",
                width=24,
                description="Stalled or Deregistered Subnets, Miners and Validators, with the "
                "reason (docs/operations.md: SubnetesNeuronStalled).",
            ),
        ],
    )


DASHBOARDS = {"network": network, "subnet": subnet, "operator": operator}


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {
        f"{name}.json": json.dumps(build().to_json(), indent=2) + "\n"
        for name, build in DASHBOARDS.items()
    }


def main() -> int:
    """Write the dashboards into the chart (``--check``: only say whether they are current)."""
    stale = [
        n for n, text in render().items() if not (OUT / n).exists() or (OUT / n).read_text() != text
    ]
    if "--check" in sys.argv[1:]:
        for n in stale:
            print(f"{OUT / n} is stale: run .venv/bin/python hack/dashboards.py", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for n, text in render().items():
        (OUT / n).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
