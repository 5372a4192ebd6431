"""Pure checks of the generated CRDs: up to date, structural, documented, examples valid."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from subnetes.operator.crds import CATEGORY, GROUP, KINDS, VERSION, all_crds
from subnetes.operator.crds.common import FRACTION_PATTERN, TAO_PATTERN
from subnetes.operator.crds.render import rendered, stale_files

from .helpers import (
    CRDS_DIR,
    example_manifests,
    invalid_cases,
    kind_named,
    openapi_schema,
    strip_kubernetes_extensions,
    walk,
)

KIND_IDS = [k.kind for k in KINDS]


def validator_for(schema: dict) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(strip_kubernetes_extensions(schema))


# ---- the YAML in crds/ is generated, never hand-edited --------------------------------------


def test_crds_folder_is_what_the_generator_writes() -> None:
    assert stale_files(CRDS_DIR) == [], "run hack/gen-crds.sh and commit crds/"
    assert sorted(p.name for p in CRDS_DIR.glob("*.yaml")) == sorted(rendered())


def test_rendering_is_deterministic_and_round_trips() -> None:
    assert rendered() == rendered()
    for (name, text), crd in zip(rendered().items(), all_crds(), strict=True):
        assert yaml.safe_load(text) == crd, name


# ---- names, scope, columns ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        ("Subnet", ["NETUID", "PHASE", "NEURONS", "EMISSION", "AGE"]),
        ("Miner", ["SUBNET", "UID", "PHASE", "INCENTIVE", "EMISSION", "NODE", "AGE"]),
        ("Validator", ["SUBNET", "UID", "PHASE", "PERMIT", "STAKE", "DIVIDENDS", "VTRUST", "AGE"]),
    ],
)
def test_printer_columns(kind: str, columns: list[str]) -> None:
    crd = next(c for c in all_crds() if c["spec"]["names"]["kind"] == kind)
    printed = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in printed] == columns
    schema = openapi_schema(kind_named(kind))
    for column in printed:
        if column["jsonPath"].startswith(".metadata"):
            continue
        node = schema
        for part in column["jsonPath"].strip(".").split("."):
            node = node["properties"][part]
        expected = {"integer": "integer", "boolean": "boolean"}.get(node["type"], "string")
        assert column["type"] == expected, column


def test_names_scope_category_and_status_subresource() -> None:
    short = [s for c in all_crds() for s in c["spec"]["names"]["shortNames"]]
    assert len(short) == len(set(short)) == 3
    for crd in all_crds():
        spec = crd["spec"]
        assert spec["group"] == GROUP and spec["scope"] == "Namespaced"
        assert spec["names"]["categories"] == [CATEGORY]
        assert crd["metadata"]["name"] == f"{spec['names']['plural']}.{GROUP}"
        (version,) = spec["versions"]
        assert version["name"] == VERSION and version["served"] and version["storage"]
        assert version["subresources"] == {"status": {}}


# ---- structural schema rules (what the API server requires) ---------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_schema_is_structural(kind) -> None:
    for path, node in walk(openapi_schema(kind)):
        assert "$ref" not in node and "anyOf" not in node and "oneOf" not in node, path
        if node.get("x-kubernetes-int-or-string"):
            assert "type" not in node, path
        else:
            assert node.get("type") in {"object", "array", "string", "integer", "boolean"}, path
        assert not ("properties" in node and "additionalProperties" in node), path
        if node.get("type") == "array":
            # Bounded lists keep CEL cost estimates finite (the API server refuses otherwise).
            assert isinstance(node.get("items"), dict) and "maxItems" in node, path
            if node.get("x-kubernetes-list-type") == "map":
                keys = node["x-kubernetes-list-map-keys"]
                assert set(keys) <= set(node["items"].get("required", [])), path
        for name in node.get("required", []):
            assert name in node.get("properties", {}), f"{path}: required {name} undeclared"
    assert openapi_schema(kind)["properties"]["metadata"] == {"type": "object"}


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_every_field_has_a_description(kind) -> None:
    """`kubectl explain` teaches every field (root metadata must stay bare: API rule)."""
    missing = [
        path
        for path, node in walk(openapi_schema(kind))
        if path != ".metadata"
        and not node.get("description", "").strip()
        and not path.endswith(("[]", "{}"))
    ]
    assert missing == []


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_defaults_are_valid_against_their_schema(kind) -> None:
    seen = 0
    for path, node in walk(openapi_schema(kind)):
        if "default" in node:
            seen += 1
            validator_for(node).validate(node["default"])
            assert "required" not in node or node["default"], path
    assert seen > 0


def test_documented_defaults() -> None:
    subnet = openapi_schema(kind_named("Subnet"))["properties"]["spec"]["properties"]
    assert subnet["hyperparameters"]["properties"]["kappa"]["default"] == 32767
    assert subnet["hyperparameters"]["properties"]["kappa"]["maximum"] == 65535
    miner = openapi_schema(kind_named("Miner"))["properties"]["spec"]["properties"]
    assert miner["axonPort"]["default"] == 8091
    assert miner["registration"]["properties"]["policy"]["enum"] == ["Reregister", "Stop"]


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_status_conditions_are_a_map_keyed_by_type(kind) -> None:
    status = openapi_schema(kind)["properties"]["status"]["properties"]
    conditions = status["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert set(conditions["items"]["required"]) == {
        "type",
        "status",
        "lastTransitionTime",
        "reason",
        "message",
    }
    assert "observedGeneration" in status and "phase" in status


def test_immutability_rules_are_transition_rules() -> None:
    miner = openapi_schema(kind_named("Miner"))["properties"]["spec"]
    assert {"rule": "self == oldSelf"}.items() <= miner["properties"]["subnetRef"][
        "x-kubernetes-validations"
    ][0].items()
    assert any("hotkeySecretRef" in r["rule"] for r in miner["x-kubernetes-validations"])


# ---- units ----------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=21_000_000 * 10**9))
def test_tao_pattern_accepts_every_status_amount(rao: int) -> None:
    """What the operator writes (9 decimals, up to total supply) matches the status pattern."""
    text = f"{rao // 10**9}.{rao % 10**9:09d}"
    assert jsonschema.Draft7Validator({"pattern": TAO_PATTERN}).is_valid(text)
    assert Decimal(text) * 10**9 == rao


@pytest.mark.parametrize("good", ["0", "1", "1.5", "0.000000001", "20999999.999999999"])
def test_tao_pattern_accepts(good: str) -> None:
    assert jsonschema.Draft7Validator({"pattern": TAO_PATTERN}).is_valid(good)


@pytest.mark.parametrize(
    "bad", ["", "-1", "+1", "1.", ".5", "01", "1,5", "1e3", "1.0000000001", " 1", "100000000"]
)
def test_tao_pattern_rejects(bad: str) -> None:
    assert not jsonschema.Draft7Validator({"pattern": TAO_PATTERN}).is_valid(bad)


@given(st.integers(min_value=0, max_value=10**6))
def test_fraction_pattern_accepts_six_decimals_in_unit_interval(micro: int) -> None:
    text = f"{micro // 10**6}.{micro % 10**6:06d}"
    assert jsonschema.Draft7Validator({"pattern": FRACTION_PATTERN}).is_valid(text)


@pytest.mark.parametrize("bad", ["0.5", "1.000001", "2.000000", "0.1234567", "-0.100000"])
def test_fraction_pattern_rejects(bad: str) -> None:
    assert not jsonschema.Draft7Validator({"pattern": FRACTION_PATTERN}).is_valid(bad)


# ---- examples and the invalid corpus ----------------------------------------------------------


def test_examples_are_a_subnet_two_validators_and_six_miners() -> None:
    manifests = example_manifests()
    assert Counter(m["kind"] for m in manifests) == {"Subnet": 1, "Validator": 2, "Miner": 6}
    assert all(m["apiVersion"] == f"{GROUP}/{VERSION}" for m in manifests)
    assert all("namespace" not in m["metadata"] for m in manifests)
    gpu_miners = [
        m
        for m in manifests
        if m["kind"] == "Miner"
        and any(
            "nvidia.com/gpu" in c.get("resources", {}).get("limits", {})
            for c in m["spec"]["template"]["spec"]["containers"]
        )
    ]
    assert 0 < len(gpu_miners) < 6
    (subnet,) = [m for m in manifests if m["kind"] == "Subnet"]
    assert {m["spec"]["subnetRef"]["name"] for m in manifests if m["kind"] != "Subnet"} == {
        subnet["metadata"]["name"]
    }


@pytest.mark.parametrize(
    "manifest", example_manifests(), ids=lambda m: f"{m['kind']}/{m['metadata']['name']}"
)
def test_example_validates_against_its_schema(manifest: dict) -> None:
    validator_for(openapi_schema(kind_named(manifest["kind"]))).validate(manifest)


def test_invalid_corpus_is_large_and_well_formed() -> None:
    cases = invalid_cases()
    assert len(cases) >= 15
    assert {k.kind for k in KINDS} <= {yaml.safe_load(c.documents[0])["kind"] for c in cases}, (
        "every kind has invalid cases"
    )
    for case in cases:
        assert case.expect.split(".")[0] in {"spec", "metadata"}, case.path.name
        assert len(case.documents) in (1, 2), case.path.name
        if case.is_update:
            # The first document must be valid: only the update may be rejected.
            first = yaml.safe_load(case.documents[0])
            validator_for(openapi_schema(kind_named(first["kind"]))).validate(first)
