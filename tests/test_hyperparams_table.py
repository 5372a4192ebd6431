"""Every reader of the hyperparameter table agrees with it (issue 12 #1).

The table (``subnetes.wire.hyperparams``) is the one declaration; the chain's checks, the Subnet
CRD's spec.hyperparameters, the operator's mapping, the consensus SubnetParams and the SDK's
weights policy are derived from it. These tests fail when any of them says something else, and
when the CRD grows a hyperparameter field the table does not know.
"""

from __future__ import annotations

import copy
import re
from dataclasses import fields
from typing import Any

import pytest

from subnetes.chain import params
from subnetes.chain.units import fmt_tao
from subnetes.consensus import SubnetParams
from subnetes.operator import hyperparams as op_hp
from subnetes.operator.crds.common import TAO_PATTERN
from subnetes.operator.crds.subnet import GROUPS, SUBNET
from subnetes.sdk.chain import WeightsPolicy
from subnetes.sdk.chain_client import policy_from_hyperparameters
from subnetes.wire.hyperparams import (
    BOUNDS,
    BY_CRD,
    BY_NAME,
    HYPERPARAMS,
    INT32_MAX,
    INT64_MAX,
    Hyperparam,
    Hyperparams,
    Setter,
    Unit,
    consensus_params,
)

INT_ROWS = [h for h in HYPERPARAMS if h.type is int]
CRD_ROWS = [h for h in HYPERPARAMS if h.crd is not None]
# SubnetParams fields that are epoch inputs rather than subnet hyperparameters.
NOT_HYPERPARAMS = {"bonds_reset_enabled", "stake_threshold"}


def hyperparameters_schema() -> dict[str, Any]:
    return SUBNET.spec["properties"]["hyperparameters"]


def crd_leaves(schema: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Leaf fields of spec.hyperparameters by path ("kappa", "liquidAlpha.alphaLow")."""
    out: dict[str, dict[str, Any]] = {}
    for key, sub in schema["properties"].items():
        if sub.get("type") == "object":
            out.update(crd_leaves(sub, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = sub
    return out


def crd_disagreements(schema: dict[str, Any]) -> list[str]:
    """What the CRD's spec.hyperparameters says that the table does not (empty: they agree)."""
    problems = []
    leaves = crd_leaves(schema)
    for path in sorted(set(leaves) - set(BY_CRD)):
        problems.append(f"{path}: a CRD field outside the hyperparameter table")
    for path in sorted(set(BY_CRD) - set(leaves)):
        problems.append(f"{path}: in the table, missing from the CRD")
    for path, sub in leaves.items():
        if path in BY_CRD:
            problems += [f"{path}: {p}" for p in field_disagreements(BY_CRD[path], sub)]
    return problems


def field_disagreements(h: Hyperparam, sub: dict[str, Any]) -> list[str]:
    """How one CRD field differs from its table row."""
    problems = []
    if not sub.get("description", "").startswith(h.description):
        problems.append("description is not the table's")
    if h.crd_default and sub.get("default") != h.default:
        problems.append(f"default {sub.get('default')!r}, table {h.default!r}")
    if not h.crd_default and "default" in sub:
        problems.append("a default the table does not state")
    if h.type is bool:
        if sub.get("type") != "boolean":
            problems.append(f"type {sub.get('type')}, table bool")
        return problems
    assert h.crd_range is not None
    lo, hi = h.crd_range
    if h.unit is Unit.RAO:
        if sub.get("type") != "string" or sub.get("pattern") != TAO_PATTERN:
            problems.append("not a TAO string")
        return problems
    if sub.get("type") != "integer":
        return [*problems, f"type {sub.get('type')}, table int"]
    if "enum" in sub:
        got = (min(sub["enum"]), max(sub["enum"]))
        if sub["enum"] != list(range(lo, hi + 1)):
            problems.append(f"enum {sub['enum']} is not the range {h.crd_range}")
    else:
        implied = INT64_MAX if sub.get("format") == "int64" else INT32_MAX
        got = (sub.get("minimum"), sub.get("maximum", implied))
    if got != (lo, hi):
        problems.append(f"range {got}, table {(lo, hi)}")
    return problems


def test_table_rows_are_well_formed() -> None:
    assert len(BY_NAME) == len(HYPERPARAMS) and len(BY_CRD) == len(CRD_ROWS)
    for h in HYPERPARAMS:
        assert h.type in (int, bool), h.name
        if h.type is bool:
            assert h.range is None and h.unit is Unit.FLAG, h.name
            continue
        assert h.range is not None and h.unit is not Unit.FLAG, h.name
        lo, hi = h.range
        assert lo <= h.default <= hi, h.name
        # The CRD may be stricter than the chain, never looser.
        assert h.crd_range is not None and lo <= h.crd_range[0] <= h.default, h.name
    consensus_names = [h.consensus for h in HYPERPARAMS if h.consensus]
    assert len(consensus_names) == len(set(consensus_names))
    for b in BOUNDS:
        assert BY_NAME[b.lower].unit is BY_NAME[b.upper].unit
        assert BY_NAME[b.lower].default <= BY_NAME[b.upper].default


def test_chain_params_are_the_table() -> None:
    hp = params.Hyperparams()
    assert tuple(h.name for h in HYPERPARAMS) == params.HYPERPARAM_NAMES
    assert {h.name: h.default for h in HYPERPARAMS} == hp.to_json()
    assert {h.name: h.range for h in INT_ROWS} == params.HYPERPARAM_RANGES
    assert {h.name for h in HYPERPARAMS if h.setter is Setter.ROOT} == (
        params.ROOT_ONLY_HYPERPARAMS
    )
    assert params.ChainConfig().default_hyperparams == Hyperparams()


@pytest.mark.parametrize("h", INT_ROWS, ids=lambda h: h.name)
def test_chain_enforces_the_table_range(h: Hyperparam) -> None:
    assert h.range is not None
    lo, hi = h.range
    # Bound partners at their extremes, so both ends of the row's range are valid on their own.
    base = Hyperparams(
        **{b.upper: BY_NAME[b.upper].range[1] for b in BOUNDS},  # type: ignore[index]
        **{b.lower: BY_NAME[b.lower].range[0] for b in BOUNDS},  # type: ignore[index]
    )
    for ok in (lo, hi):
        assert getattr(params.check_hyperparam(base, h.name, ok), h.name) == ok
    for bad in (lo - 1, hi + 1):
        with pytest.raises(ValueError, match=re.escape(f"[{lo}, {hi}]")):
            params.check_hyperparam(base, h.name, bad)


@pytest.mark.parametrize("bound", BOUNDS, ids=lambda b: b.lower)
def test_chain_enforces_the_table_bounds(bound: Any) -> None:
    upper = BY_NAME[bound.upper]
    hp = Hyperparams(**{bound.upper: upper.range[0] + 1})
    with pytest.raises(ValueError, match=bound.message()):
        params.check_hyperparam(hp, bound.lower, upper.range[0] + 2)


def test_crd_schema_is_the_table() -> None:
    assert crd_disagreements(hyperparameters_schema()) == []


def test_crd_states_the_table_bounds() -> None:
    rules = [
        r["rule"]
        for sub in [hyperparameters_schema(), *hyperparameters_schema()["properties"].values()]
        for r in sub.get("x-kubernetes-validations", [])
    ]
    for b in BOUNDS:
        lower, upper = crd_field_of(b.lower), crd_field_of(b.upper)
        assert any(f"self.{lower}" in r and f"self.{upper}" in r for r in rules), b


def crd_field_of(name: str) -> str:
    crd_field = BY_NAME[name].crd_field
    assert crd_field is not None
    return crd_field


def test_a_crd_field_outside_the_table_fails() -> None:
    schema = copy.deepcopy(hyperparameters_schema())
    schema["properties"]["newKnob"] = {"type": "integer", "description": "Not in the table."}
    schema["properties"]["liquidAlpha"]["properties"]["extra"] = {"type": "boolean"}
    problems = crd_disagreements(schema)
    assert "newKnob: a CRD field outside the hyperparameter table" in problems
    assert "liquidAlpha.extra: a CRD field outside the hyperparameter table" in problems


def test_a_crd_range_other_than_the_table_fails() -> None:
    schema = copy.deepcopy(hyperparameters_schema())
    schema["properties"]["rho"]["maximum"] = 999
    assert crd_disagreements(schema) == ["rho: range (0, 999), table (0, 1000)"]


def test_crd_groups_are_declared() -> None:
    groups = {h.crd_group for h in CRD_ROWS if h.crd_group}
    assert groups == set(GROUPS)


def test_operator_mapping_is_the_table() -> None:
    assert {h.crd: h.name for h in CRD_ROWS} == op_hp.SPEC_TO_CHAIN
    # A spec setting every field to its table default asks the chain for the table's defaults.
    spec: dict[str, Any] = {}
    for h in CRD_ROWS:
        assert h.crd is not None
        group, _, key = h.crd.rpartition(".")
        where = spec.setdefault(group, {}) if group else spec
        where[key] = fmt_tao(int(h.default)) if h.unit is Unit.RAO else h.default
    assert op_hp.desired(spec) == {h.name: h.default for h in CRD_ROWS}
    assert op_hp.ORDER == ("max_allowed_uids", "max_burn", "alpha_high")


def test_consensus_params_are_the_table() -> None:
    fed = {h.consensus: h for h in HYPERPARAMS if h.consensus}
    assert set(SubnetParams._fields) == set(fed) | NOT_HYPERPARAMS
    defaults = SubnetParams.defaults(1)
    for name, h in fed.items():
        # New subnets run Yuma 3 in consensus' defaults; the chain starts subnets at its default.
        want = 3 if name == "yuma_version" else h.default
        assert getattr(defaults, name)[0] == want, name
    hp = Hyperparams(tempo=7, kappa=1, liquid_alpha_enabled=True, max_allowed_validators=3)
    assert consensus_params(hp) == {name: getattr(hp, h.name) for name, h in fed.items()}


def test_chain_builds_subnet_params_from_the_table() -> None:
    """chain/epoch.py's builder passes every field consensus reads, from the subnet's values."""
    from subnetes.chain.epoch import build_inputs
    from subnetes.chain.state import Neuron, State, Subnet

    hp = Hyperparams(tempo=7, kappa=123, alpha_low=5, yuma_version=3, max_allowed_validators=3)
    st = State(params.dev_config())
    sub = Subnet(netuid=1, owner_coldkey="c", owner_hotkey="h", registered_at=0, hp=hp)
    sub.neurons.append(Neuron(uid=0, hotkey="h", registered_at=0, last_update=0))
    _, p, _ = build_inputs(st, [(sub, 0)], block=10)
    for h in HYPERPARAMS:
        if h.consensus:
            assert list(getattr(p, h.consensus)) == [getattr(hp, h.name)], h.name


def test_sdk_policy_is_the_table() -> None:
    policy = WeightsPolicy()
    for f in fields(WeightsPolicy):
        assert getattr(policy, f.name) == BY_NAME[f.name].default, f.name
    assert policy_from_hyperparameters(Hyperparams(tempo=9).to_json()).tempo == 9
