"""The subnet chart agrees with the CRDs: every Subnet, Validator and Miner spec field can be set
through values with the CRD's own constraints, names fit the CRDs' name rules, and what the
chart renders is what the API server accepts.

The first tests read the schemas only; the ones that render need the pinned helm (built with
the control plane), so they carry the ``cluster`` marker like tests/charts' other helm tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from subnetes.operator.crds import KINDS, custom_resource_definition
from subnetes.operator.crds.chart_values import render_values_schema

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "subnet"
SCHEMA = json.loads((CHART / "values.schema.json").read_text())
CONSTRAINTS = (
    "type",
    "minimum",
    "maximum",
    "pattern",
    "enum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "maxProperties",
)
DERIVED = "derived"  # set by the chart itself, checked by the name and render tests


def crd_schema(kind: str) -> dict[str, Any]:
    k = next(k for k in KINDS if k.kind == kind)
    return custom_resource_definition(k)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def leaves(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every settable leaf of a CRD schema: typed fields, maps, lists of scalars, opaque
    objects. Descends into properties and into lists of objects (``[]``)."""
    if node.get("properties"):
        for name, child in node["properties"].items():
            yield from leaves(child, f"{path}.{name}")
    elif node.get("type") == "array" and node["items"].get("properties"):
        yield from leaves(node["items"], f"{path}[]")
    else:
        yield path, node


def chart_path(kind: str, crd_path: str) -> str:
    """Where the chart takes a CRD spec field from, relative to a subnet entry (the contract
    this test pins down; written by hand, not derived from the generator)."""
    if kind == "Subnet":
        if crd_path.startswith((".hyperparameters.", ".registration.", ".gateway.")):
            return crd_path
        return {
            ".ownerColdkeySecretRef.name": ".ownerColdkeySecret",
            ".ownerHotkeySecretRef.name": ".ownerHotkeySecret",
            ".deletionPolicy": ".deletionPolicy",
        }[crd_path]
    pool = ".validators" if kind == "Validator" else ".miners"
    fixed = {
        ".subnetRef.name": DERIVED,  # the entry's name
        ".template.spec.containers[].name": DERIVED,  # the role
        ".coldkeySecretRef.name": ".coldkeySecret",
        ".hotkeySecretRef.name": f"{pool}.hotkeySecrets[]",
        ".template.metadata.labels": f"{pool}.podLabels",
        ".template.metadata.annotations": f"{pool}.podAnnotations",
        ".registration.policy": f"{pool}.policy",
        ".registration.maxBurn": f"{pool}.maxBurn",
    }
    if crd_path in fixed:
        return fixed[crd_path]
    for prefix in (".template.spec.containers[].", ".template.spec.", "."):
        if crd_path.startswith(prefix):
            return f"{pool}.{crd_path.removeprefix(prefix)}"
    raise KeyError(crd_path)


def values_node(root: dict[str, Any], path: str) -> dict[str, Any]:
    node = root
    for part in re.findall(r"\.([A-Za-z]+)|(\[\])", path):
        node = node["items"] if part[1] else node["properties"][part[0]]
    return node


def signature(node: dict[str, Any]) -> dict[str, Any]:
    """The constraints that decide what a value may be (maps: their values' too)."""
    sig = {k: node[k] for k in CONSTRAINTS if k in node}
    if node.get("x-kubernetes-int-or-string"):
        sig["type"] = ["integer", "string"]
    if node.get("type") == "array" and "properties" not in node["items"]:
        sig["items"] = signature(node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        sig["additionalProperties"] = signature(node["additionalProperties"])
    return sig


def all_fields() -> list[tuple[str, str, str]]:
    """(kind, CRD spec path, chart path) for every leaf of the three specs."""
    return [
        (kind, path, chart_path(kind, path))
        for kind in ("Subnet", "Validator", "Miner")
        for path, _ in leaves(crd_schema(kind)["properties"]["spec"])
    ]


# ---- schema-only checks ---------------------------------------------------------------------


def test_values_schema_is_generated_from_the_crds() -> None:
    assert (CHART / "values.schema.json").read_text() == render_values_schema(), (
        "run hack/gen-crds.sh"
    )


@pytest.mark.parametrize("where", ["subnets", "defaults"])
def test_every_crd_spec_field_is_settable_with_the_crds_constraints(where: str) -> None:
    entry = SCHEMA["properties"]["subnets"]["items"]
    if where == "defaults":
        entry = SCHEMA["properties"]["defaults"]
    fields = all_fields()
    assert len(fields) > 60  # the walk really covers the specs
    problems = []
    for kind, crd_path, path in fields:
        if path == DERIVED:
            continue
        crd_node = values_node(crd_schema(kind)["properties"]["spec"], crd_path)
        try:
            chart_node = values_node(entry, path)
        except KeyError:
            problems.append(f"{kind}{crd_path}: no chart value {path}")
            continue
        if signature(chart_node) != signature(crd_node):
            problems.append(
                f"{kind}{crd_path} vs {path}: {signature(chart_node)} != {signature(crd_node)}"
            )
    assert not problems, "\n".join(problems)


def _name_rule(kind: str) -> tuple[int, str]:
    """(max length, pattern) from a kind's metadata.name CEL rule."""
    for rule in crd_schema(kind)["x-kubernetes-validations"]:
        m = re.search(
            r"name.size\(\) <= (\d+) && self.metadata.name.matches\('(.+)'\)", rule["rule"]
        )
        if m:
            return int(m.group(1)), m.group(2)
    raise AssertionError(f"{kind} has no name rule")


def test_subnet_name_leaves_room_for_every_derived_name() -> None:
    name = SCHEMA["properties"]["subnets"]["items"]["properties"]["name"]
    count_max = {
        role: SCHEMA["properties"]["defaults"]["properties"][role]["properties"]["count"]["maximum"]
        for role in ("validators", "miners")
    }
    subnet_max, subnet_pattern = _name_rule("Subnet")
    assert name["pattern"] == subnet_pattern and name["maxLength"] <= subnet_max
    longest = subnet_max
    for kind, role in (("Validator", "validators"), ("Miner", "miners")):
        neuron_max, neuron_pattern = _name_rule(kind)
        assert name["pattern"] == neuron_pattern  # a letter first, as the CRDs want
        suffix = f"-{kind.lower()}-{count_max[role] - 1}"
        assert name["maxLength"] + len(suffix) <= neuron_max, (kind, name["maxLength"])
        longest = min(longest, neuron_max - len(suffix))
    assert name["maxLength"] == longest  # and not shorter than it must be


@pytest.mark.parametrize(
    ("entry", "ok"),
    [
        ({"name": "compute"}, True),
        ({"name": "1compute"}, False),  # the CRDs want a letter first
        ({"name": "a" * 37}, True),
        ({"name": "a" * 38}, False),  # a-...-validator-4095 would pass 52
        ({"name": "c", "hyperparameters": {"tempo": 50400}}, True),
        ({"name": "c", "hyperparameters": {"tempo": 50401}}, False),
        ({"name": "c", "hyperparameters": {"immunityPeriod": 1000000}}, True),
        ({"name": "c", "hyperparameters": {"rho": 10, "commitReveal": {"enabled": True}}}, True),
        ({"name": "c", "hyperparameters": {"commitReveal": {"revealPeriodEpochs": 0}}}, False),
        ({"name": "c", "deletionPolicy": "Retain"}, True),
        ({"name": "c", "deletionPolicy": "Later"}, False),
        ({"name": "c", "validators": {"stake": "100000000"}}, False),  # CRD: below 100M TAO
        ({"name": "c", "validators": {"delegateTake": 70000}}, False),
        ({"name": "c", "miners": {"resources": {"limits": {"memory": "-1Gi"}}}}, False),
        ({"name": "c", "miners": {"tolerations": [{"operator": "Sometimes"}]}}, False),
        ({"name": "c", "miners": {"imagePullSecrets": [{"name": "regcred"}]}}, True),
        ({"name": "c", "miners": {"tempo": 1}}, False),  # typos fail
    ],
)
def test_values_schema_accepts_what_the_crds_accept(entry: dict[str, Any], ok: bool) -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text()) | {"subnets": [entry]}
    errors = list(jsonschema.Draft7Validator(SCHEMA).iter_errors(values))
    assert (not errors) == ok, [e.message for e in errors]


# ---- rendered with the pinned helm ----------------------------------------------------------


def helm_template(values: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    from subnetes.localnet.cluster import bin_dir

    helm = bin_dir() / "helm"
    if not helm.exists():
        pytest.fail(f"{helm} is missing: run `bash hack/build-control-plane.sh helm` first")
    env = {**os.environ, "HELM_CACHE_HOME": "/tmp/helm", "KUBECONFIG": "/dev/null"}
    return subprocess.run(
        [str(helm), "template", "net", str(CHART), "-n", "ns1", "-f", "-"],
        input=yaml.safe_dump(values),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


class _Strict(yaml.SafeLoader):
    """Refuses duplicate keys, as kubectl's parser does."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        assert len(keys) == len(set(keys)), f"duplicate key in {keys} {node.start_mark}"
        return super().construct_mapping(node, deep=deep)


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    out = helm_template(values)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.load_all(out.stdout, Loader=_Strict) if d]
    for doc in docs:  # each object is what the CRD (structural schema, no CEL) accepts
        jsonschema.Draft7Validator(_openapi_as_json_schema(doc["kind"])).validate(doc)
    return docs


def _openapi_as_json_schema(kind: str) -> dict[str, Any]:
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
        return [strip(v) for v in node] if isinstance(node, list) else node

    return strip(crd_schema(kind))


def by_name(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in docs if d["metadata"]["name"] == name)


def sample(node: dict[str, Any], path: str) -> Any:
    """A valid, non-default value for a chart field, from its schema."""
    if "enum" in node:
        return node["enum"][-1]
    kind = node.get("type")
    if kind == "integer":
        return node.get("maximum", node.get("minimum", 0) + 7)
    if kind == "boolean":
        return True
    if kind == "string":
        if node.get("pattern", "").startswith("^(0|[1-9]"):  # TAO amounts
            return "12.5"
        return "x-" + re.sub(r"[^a-z]", "", path.split(".")[-1].lower())
    if kind == "array":
        return [sample(node["items"], path)]
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return {"example.io/key": "v" if node["additionalProperties"]["type"] == "string" else "3"}
    if kind == ["integer", "string"]:
        return "3"
    return {"nodeAffinity": {}} if path.endswith("affinity") else {"k": "v"}


def set_path(values: dict[str, Any], path: str, value: Any) -> None:
    parts = path.strip(".").removesuffix("[]").split(".")
    for part in parts[:-1]:
        values = values.setdefault(part, {})
    values[parts[-1]] = [value] if path.endswith("[]") else value


def get_path(obj: Any, path: str) -> Any:
    for part in path.strip(".").split("."):
        obj = obj[0] if isinstance(obj, list) else obj
        obj = obj[part.removesuffix("[]")]
    return obj


@pytest.mark.cluster
def test_every_crd_field_set_in_values_reaches_the_rendered_resource() -> None:
    """Each CRD spec field gets a value through its chart value; the rendered Subnet, Validator
    and Miner carry exactly that value at the CRD path and pass the CRDs' schemas."""
    entry: dict[str, Any] = {"name": "full", "validators": {"count": 1}, "miners": {"count": 1}}
    schema = SCHEMA["properties"]["subnets"]["items"]
    expect = []
    for kind, crd_path, path in all_fields():
        if path == DERIVED or crd_path.startswith(".template.spec.containers[].env[]"):
            continue
        if crd_path.startswith(".template.spec.tolerations[]"):
            continue  # checked as a whole list below (with the GPU toleration)
        value = sample(values_node(schema, path), path)
        if crd_path.startswith(".hyperparameters.liquidAlpha.alpha"):
            value = 100 if crd_path.endswith("Low") else 200  # alphaLow <= alphaHigh
        if crd_path.endswith(("minBurn", "maxWeightLimit")):
            value = "1" if crd_path.endswith("minBurn") else 7
        if crd_path == ".hyperparameters.maxAllowedValidators":
            value = 64
        set_path(entry, path, value)
        expect.append((kind, crd_path, value))
    env = [
        {"name": "A", "value": "1"},
        {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "x"}}},
    ]
    tolerations = [
        {
            "key": "k",
            "operator": "Equal",
            "value": "v",
            "effect": "NoExecute",
            "tolerationSeconds": 5,
        }
    ]
    for pool in ("validators", "miners"):
        entry[pool] |= {"env": env, "tolerations": tolerations, "gpus": 0}
    docs = render({"subnets": [entry]})
    objs = {
        "Subnet": by_name(docs, "full"),
        "Validator": by_name(docs, "full-validator-0"),
        "Miner": by_name(docs, "full-miner-0"),
    }
    wrong = []
    for kind, crd_path, value in expect:
        got = get_path(objs[kind]["spec"], crd_path)
        if isinstance(value, dict) and isinstance(got, dict):
            ok = value.items() <= got.items()  # maps merge with values.yaml's defaults
        else:
            ok = got == value or (isinstance(value, list) and got == value[0])
        if not ok:
            wrong.append(f"{kind}{crd_path}: {got!r} != {value!r}")
    assert not wrong, "\n".join(wrong)
    for kind in ("Validator", "Miner"):
        pod = objs[kind]["spec"]["template"]["spec"]
        assert pod["containers"][0]["env"] == env
        assert pod["tolerations"] == tolerations
        assert objs[kind]["spec"]["subnetRef"] == {"name": "full"}
        assert pod["containers"][0]["name"] == kind.lower()


@pytest.mark.cluster
def test_neuron_pod_fields_the_crds_pass_through_are_settable() -> None:
    """securityContext, probes, imagePullSecrets, volumes: kept as written in the CRDs, so the
    chart must be able to set them (the operator's defaults apply when unset)."""
    probe = {"httpGet": {"path": "/ok", "port": 9100}, "periodSeconds": 3}
    pool = {
        "count": 2,
        "hotkeySecrets": ["vali-hotkey-0"],
        "securityContext": {"readOnlyRootFilesystem": False},
        "podSecurityContext": {"runAsUser": 10001},
        "startupProbe": probe,
        "livenessProbe": probe,
        "readinessProbe": probe,
        "imagePullSecrets": [{"name": "regcred"}],
        "volumes": [{"name": "cache", "emptyDir": {}}],
        "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
        "priorityClassName": "neurons",
        "command": ["subnetes"],
    }
    docs = render({"subnets": [{"name": "c", "validators": pool}]})
    v0, v1 = by_name(docs, "c-validator-0"), by_name(docs, "c-validator-1")
    assert v0["spec"]["hotkeySecretRef"] == {"name": "vali-hotkey-0"}
    assert "hotkeySecretRef" not in v1["spec"]  # beyond the list: the operator makes one
    pod = v0["spec"]["template"]["spec"]
    ct = pod["containers"][0]
    assert ct["securityContext"] == {"readOnlyRootFilesystem": False}
    assert all(ct[k] == probe for k in ("startupProbe", "livenessProbe", "readinessProbe"))
    assert ct["volumeMounts"] == pool["volumeMounts"] and ct["command"] == ["subnetes"]
    assert pod["securityContext"] == {"runAsUser": 10001}
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["volumes"] == pool["volumes"] and pod["priorityClassName"] == "neurons"
    # Unset ones stay unset, so the operator's defaults (probes, read-only root...) apply.
    miner = by_name(docs, "c-miner-0")["spec"]["template"]
    assert "metadata" not in miner
    assert not {"securityContext", "livenessProbe", "volumeMounts", "env"} & set(
        miner["spec"]["containers"][0]
    )


@pytest.mark.cluster
def test_longest_name_renders_names_the_crds_accept() -> None:
    name = "a" * 37
    docs = render(
        {"subnets": [{"name": name, "validators": {"count": 11}, "miners": {"count": 2}}]}
    )
    max_len, pattern = _name_rule("Validator")
    for doc in docs:
        assert len(doc["metadata"]["name"]) <= max_len and re.match(
            pattern, doc["metadata"]["name"]
        )
    assert by_name(docs, f"{name}-validator-10")


@pytest.mark.cluster
@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "1abc"}, "/subnets/0/name"),
        ({"name": "a" * 38}, "/subnets/0/name"),
        ({"name": "c", "hyperparameters": {"tempo": 50401}}, "/subnets/0/hyperparameters/tempo"),
        (
            {"name": "c", "hyperparameters": {"maxAllowedUids": 8, "maxAllowedValidators": 9}},
            "maxAllowedValidators (9) must not exceed maxAllowedUids (8)",
        ),
        (
            {"name": "c", "hyperparameters": {"minBurn": "2", "maxBurn": "1.5"}},
            "minBurn (2) must not exceed maxBurn (1.5)",
        ),
        (
            {"name": "c", "hyperparameters": {"liquidAlpha": {"alphaLow": 60000}}},
            "alphaLow must not exceed alphaHigh",
        ),
        ({"name": "c", "miners": {"count": 1, "hotkeySecrets": ["a", "b"]}}, "2 hotkeySecrets"),
    ],
)
def test_bad_values_fail_before_anything_is_applied(entry: dict[str, Any], message: str) -> None:
    out = helm_template({"subnets": [entry]})
    assert out.returncode != 0 and message in out.stderr, out.stderr


@pytest.mark.cluster
def test_default_values_render_valid_strict_resources() -> None:
    docs = render({})
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["Miner"] * 4 + ["Subnet"] + ["Validator"] * 2
