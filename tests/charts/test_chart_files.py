"""Chart files that must stay in step with their sources (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_chart_crds_are_the_generated_crds() -> None:
    top = {p.name: p.read_text() for p in (REPO / "crds").glob("*.yaml")}
    chart = {p.name: p.read_text() for p in (REPO / "charts/subnetes/crds").glob("*.yaml")}
    assert top, "crds/ is empty"
    assert chart == top, "charts/subnetes/crds differs from crds/: run `make crds`"


def test_chart_operator_rules_are_the_operator_rbac_rules() -> None:
    import yaml

    from subnetes.operator.rbac import RULES

    rendered = yaml.safe_load(
        (REPO / "charts/subnetes/files/operator-clusterrole-rules.yaml").read_text()
    )
    assert rendered == RULES, "chart RBAC differs from operator/rbac.py: run `make crds`"
