"""The platform chart's PrometheusRule: valid rules (``promtool check rules``), each alert unit
tested on synthetic series (``promtool test rules``, alerts_test.yaml), a runbook per alert,
and only metric names the chain and the operator export (or kube-state-metrics')."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from .exported import EXTERNAL_METRICS, exported_metric_names, metric_names_in
from .promtool import HERE, REPO, promtool, render_chart, rule_groups, write_rule_file

pytestmark = pytest.mark.cluster  # helm and promtool come with the control-plane build


def _alerts(groups: list[dict]) -> list[dict]:
    return [r for g in groups for r in g["rules"] if "alert" in r]


def test_rules_pass_promtool_check(tmp_path: Path) -> None:
    out = promtool("check", "rules", str(write_rule_file(tmp_path / "rules.yaml", rule_groups())))
    assert "SUCCESS: 13 rules found" in out, out


def test_every_alert_fires_and_stays_silent_in_the_unit_tests(tmp_path: Path) -> None:
    write_rule_file(tmp_path / "rules.yaml", rule_groups())
    shutil.copy(HERE / "alerts_test.yaml", tmp_path / "alerts_test.yaml")
    promtool("test", "rules", "alerts_test.yaml", cwd=tmp_path)
    # Each alert has a case where it fires and one where it stays silent.
    cases = [c for t in yaml.safe_load((HERE / "alerts_test.yaml").read_text())["tests"]
             for c in t["alert_rule_test"]]  # fmt: skip
    for alert in _alerts(rule_groups()):
        name = alert["alert"]
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c["exp_alerts"] for c in mine), f"no test where {name} fires"
        assert any(not c["exp_alerts"] for c in mine), f"no test where {name} stays silent"


def test_every_alert_has_a_runbook_section() -> None:
    headings = set(re.findall(r"^#### (\S+)$", (REPO / "docs/operations.md").read_text(), re.M))
    for alert in _alerts(rule_groups()):
        name = alert["alert"]
        assert name in headings, f"docs/operations.md has no #### {name} runbook"
        assert alert["annotations"]["runbook_url"] == f"docs/operations.md#{name.lower()}"
        assert alert["labels"]["severity"] in {"critical", "warning"}


def test_rules_read_only_exported_metrics() -> None:
    exported = exported_metric_names()
    for alert in _alerts(rule_groups()):
        for name in metric_names_in(alert["expr"]):
            assert name in exported or name in EXTERNAL_METRICS, (
                f"{alert['alert']} reads {name}, which neither the chain nor the operator exports"
            )


def test_rule_toggles() -> None:
    kinds = [d["kind"] for d in render_chart({})]
    assert "PrometheusRule" not in kinds  # off by default
    # No operator, no chain Secrets: only the chain's group.
    groups = rule_groups({"prometheusRule": {"enabled": True}, "operator": {"enabled": False}})
    assert [g["name"] for g in groups] == ["subnetes-chain"]
    labelled = render_chart({"prometheusRule": {"enabled": True, "labels": {"release": "kps"}}})
    rule = next(d for d in labelled if d["kind"] == "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kps"
    assert rule["metadata"]["namespace"] == "subnetes-system"
