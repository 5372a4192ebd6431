"""Issue 11 #1: a usable default network; genesis balances for the default profile.

Rendered offline with the pinned helm (``helm template``, see render.py): ``cluster``-marked
only because helm is built with the control plane; no API server is used.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from .render import (
    ALICE,
    BOB,
    FULL,
    REPO,
    chain_container,
    find,
    notes,
    one,
    render,
    template,
)

pytestmark = pytest.mark.cluster


# ---- 1: a usable default network ------------------------------------------------------------
def test_default_install_is_a_usable_labelled_dev_network() -> None:
    """With no values someone can pay a lock: the default is the dev profile (funded dev keys
    and a faucet), and NOTES.txt says so loudly and says how to fund keys and register."""
    args = chain_container(render())["args"]
    assert "--profile=dev" in args
    text = notes()
    assert "development only" in text
    assert "subnetes faucet" in text and "//Alice" in text
    assert "chain.genesis.balances" in text
    assert "wallet import" in text and "charts/subnet" in text


def test_genesis_balances_reach_the_chain_as_a_file() -> None:
    big = str(21_000_000 * 10**9)  # above 2**53: Helm would round a YAML number
    values = {
        "chain": {
            "profile": "default",
            "genesis": {
                "balances": [{"address": ALICE, "rao": 10**12}, {"address": BOB, "rao": big}]
            },
        }
    }
    docs = render(values=values)
    chain = chain_container(docs)
    assert "--profile=default" in chain["args"]
    assert "--genesis-balances=/etc/subnetes/genesis/balances.json" in chain["args"]
    cm = one(docs, "ConfigMap", f"{FULL}-chain-genesis")
    assert json.loads(cm["data"]["balances.json"]) == [
        {"address": ALICE, "rao": 10**12},
        {"address": BOB, "rao": int(big)},
    ]
    mounts = {m["name"]: m["mountPath"] for m in chain["volumeMounts"]}
    assert mounts["genesis"] == "/etc/subnetes/genesis"
    pod = one(docs, "StatefulSet")["spec"]["template"]
    assert pod["spec"]["volumes"][-1]["configMap"]["name"] == cm["metadata"]["name"]
    text = notes(values=values)
    assert "2 accounts" in text and "development only" not in text


def test_default_profile_without_balances_warns_in_notes() -> None:
    assert "no account holds TAO" in notes("chain.profile=default")
    assert not find(render("chain.profile=default"), "ConfigMap")


@pytest.mark.parametrize(
    ("address", "rao", "field"),
    [
        ("notanaddress", "1", "/chain/genesis/balances/0/address"),
        (ALICE, "-1", "/chain/genesis/balances/0/rao"),
        (ALICE, "1.5", "/chain/genesis/balances/0/rao"),
    ],
)
def test_bad_genesis_values_fail_with_the_field_named(address: str, rao: str, field: str) -> None:
    b = "chain.genesis.balances[0]"
    assert template(f"{b}.address={ALICE}", f"{b}.rao=1").returncode == 0
    out = template(f"{b}.address={address}", f"{b}.rao={rao}")
    assert out.returncode != 0 and field in out.stderr


def _gitops_platform_values() -> list[tuple[str, dict[str, Any]]]:
    argo = yaml.safe_load((REPO / "examples/gitops/argocd/application.yaml").read_text())
    (flux,) = [
        d
        for d in yaml.safe_load_all(
            (REPO / "examples/gitops/flux/platform/helmrelease.yaml").read_text()
        )
        if d and d["kind"] == "HelmRelease"
    ]
    return [
        ("argocd", argo["spec"]["source"]["helm"]["valuesObject"]),
        ("flux", flux["spec"]["values"]),
    ]


@pytest.mark.parametrize(("name", "values"), _gitops_platform_values(), ids=lambda v: str(v)[:6])
def test_gitops_examples_fund_keys_at_genesis(name: str, values: dict[str, Any]) -> None:
    """The GitOps examples use the default profile, so they must fund coldkeys at genesis; the
    placeholders fail the schema (a sync error naming the field) until they are replaced."""
    chain = values["chain"]
    assert chain.get("profile", "dev") != "dev", f"{name}: GitOps examples are production-shaped"
    balances = chain["genesis"]["balances"]
    assert balances, f"{name}: nobody could pay a lock"
    out = template(values=values)
    assert out.returncode != 0 and "/chain/genesis/balances/0/address" in out.stderr
    for b in balances:
        b["address"] = ALICE
    args = chain_container(render(values=values))["args"]
    assert any(a.startswith("--genesis-balances=") for a in args)
