"""Subnet.spec.gateway (pure): the schema accepts and defaults it, the builders turn it into a
Deployment and a Service the gateway's configuration reads back, the RBAC allows applying them."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from subnetes.gateway.config import GatewaySettings
from subnetes.operator import rbac
from subnetes.operator import subnets as sn
from subnetes.operator.config import Config
from subnetes.operator.crds import KINDS, custom_resource_definition
from subnetes.operator.gateway import (
    build_gateway_deployment,
    build_gateway_service,
    gateway_name,
)
from subnetes.operator.labels import HOTKEY_CLAIM_ANNOTATION
from subnetes.operator.steps import CONTINUE

SUBNET: dict[str, Any] = {
    "apiVersion": "subnetes.io/v1alpha1",
    "kind": "Subnet",
    "metadata": {"name": "compute", "namespace": "ns1", "uid": "u-1"},
    "spec": {
        "ownerColdkeySecretRef": {"name": "owner"},
        "gateway": {
            "image": "ghcr.io/subnetes/subnetes:0.1.0",
            "replicas": 2,
            "hotkeySecretRef": {"name": "gw-hotkey"},
            "authSecretRef": {"name": "gw-keys"},
            "rateLimits": {"requestsPerSecond": 5, "burst": 7, "quota": 1000},
            "routing": {
                "policy": "Health",
                "hedgeAfterMilliseconds": 0,
                "deadlineMilliseconds": 2500,
            },
        },
    },
}


def gateway_schema() -> dict[str, Any]:
    kind = next(k for k in KINDS if k.kind == "Subnet")
    crd = custom_resource_definition(kind)
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"
    ]["gateway"]


def _plain(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _plain(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if isinstance(schema, list):
        return [_plain(v) for v in schema]
    return schema


def test_schema_accepts_the_example_and_refuses_bad_values() -> None:
    v = jsonschema.Draft7Validator(_plain(gateway_schema()))
    gw = SUBNET["spec"]["gateway"]
    assert not list(v.iter_errors(gw))
    for bad in (
        {**gw, "replicas": -1},
        {**gw, "capabilities": ["translate"]},
        {**gw, "routing": {"policy": "Random"}},
        {k: val for k, val in gw.items() if k != "authSecretRef"},
        {**gw, "rateLimits": {"requestsPerSecond": 0}},
    ):
        assert list(v.iter_errors(bad)), bad


def test_root_rule_bounds_the_name_of_a_subnet_with_a_gateway() -> None:
    kind = next(k for k in KINDS if k.kind == "Subnet")
    rules = custom_resource_definition(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"][
        "x-kubernetes-validations"
    ]
    assert any("has(self.spec.gateway)" in r["rule"] and "<= 55" in r["rule"] for r in rules)


def env_of(deploy: dict[str, Any]) -> dict[str, str]:
    ct = deploy["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "10.0.0.9") for e in ct["env"]}


def test_deployment_runs_the_gateway_as_the_spec_says() -> None:
    d = build_gateway_deployment(SUBNET, netuid=3, chain_endpoint="http://chain:9944")
    assert d["kind"] == "Deployment" and d["metadata"]["name"] == gateway_name("compute")
    assert d["metadata"]["ownerReferences"][0]["kind"] == "Subnet"  # deleted with the Subnet
    assert d["spec"]["replicas"] == 2
    pod = d["spec"]["template"]["spec"]
    ct = pod["containers"][0]
    assert ct["image"] == "ghcr.io/subnetes/subnetes:0.1.0"
    assert ct["command"] == ["python", "-m", "subnetes.gateway"]
    assert ct["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert ct["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["automountServiceAccountToken"] is False
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert sorted(secrets.values()) == ["gw-hotkey", "gw-keys"]
    labels = d["spec"]["template"]["metadata"]["labels"]
    assert d["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # What the gateway process reads back from that environment.
    s = GatewaySettings.from_env(env_of(d))
    assert (s.netuid, s.port, s.chain_endpoint) == (3, 8080, "http://chain:9944")
    assert (s.limits.rate_per_s, s.limits.burst, s.limits.quota) == (5.0, 7, 1000)
    assert s.routing.mode == "health" and s.dispatch.hedge_after_s is None
    assert s.dispatch.deadline_s == 2.5
    assert str(s.keys_path) == "/var/run/subnetes/gateway-keys/keys.yaml"


def test_defaults_and_resources() -> None:
    body = copy.deepcopy(SUBNET)
    gw = body["spec"]["gateway"]
    for k in ("replicas", "rateLimits", "routing"):
        gw.pop(k)
    gw["resources"] = {"limits": {"memory": "512Mi"}}
    d = build_gateway_deployment(body, netuid=1, chain_endpoint="http://c:1")
    s = GatewaySettings.from_env(env_of(d))
    assert d["spec"]["replicas"] == 1
    assert s.routing.mode == "incentive" and s.dispatch.hedge_after_s == 0.5
    assert d["spec"]["template"]["spec"]["containers"][0]["resources"] == gw["resources"]


def test_service_selects_the_gateway_pods() -> None:
    d = build_gateway_deployment(SUBNET, netuid=3, chain_endpoint="http://chain:9944")
    svc = build_gateway_service(SUBNET)
    assert svc["metadata"]["name"] == "compute-gateway"
    assert svc["spec"]["selector"] == d["spec"]["selector"]["matchLabels"]
    assert svc["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]


@pytest.mark.parametrize("verb", ["get", "create", "patch"])
def test_operator_may_apply_deployments(verb: str) -> None:
    assert any(
        "apps" in r["apiGroups"] and "deployments" in r["resources"] and verb in r["verbs"]
        for r in rbac.RULES
    )


# -- the reconcile step, with an in-memory API server -------------------------------------------


class FakeKube:
    def __init__(self, secrets: dict[str, dict[str, Any]]) -> None:
        self.secrets = secrets
        self.applied: list[tuple[str, str]] = []
        self.events: list[tuple[str, str]] = []
        self.owned: dict[tuple[str, str], str] = {}  # (kind, name) -> owner uid
        self.deleted: list[tuple[str, str]] = []

    async def delete_owned(self, kind: str, ns: str, name: str, owner_uid: str) -> bool:
        if self.owned.get((kind, name)) != owner_uid:
            return False
        del self.owned[(kind, name)]
        self.deleted.append((kind, name))
        return True

    async def secret(self, ns: str, name: str) -> tuple[dict[str, Any], dict[str, bytes]] | None:
        meta = self.secrets.get(name)
        return None if meta is None else (meta, {})

    async def apply(self, manifest: dict[str, Any]) -> None:
        self.applied.append((manifest["kind"], manifest["metadata"]["name"]))

    async def event(self, body: dict[str, Any], type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason))


class FakeRt:
    def __init__(self, kube: FakeKube) -> None:
        self.kube = kube
        self.config = Config(chain_endpoint="http://chain:9944")


def run_of(body: dict[str, Any]) -> sn.SubnetRun:
    run = sn.SubnetRun.begin(copy.deepcopy(body), {}, 1.0)
    run.found = 3
    return run


@pytest.mark.parametrize(
    ("secrets", "event"),
    [
        ({}, "GatewaySecretNotFound"),
        (
            {"gw-hotkey": {"annotations": {HOTKEY_CLAIM_ANNOTATION: "Miner/x"}}},
            "GatewayHotkeySecretNotClaimed",
        ),
        ({"gw-hotkey": {}}, "GatewayHotkeySecretNotClaimed"),
    ],
)
async def test_step_refuses_a_hotkey_not_claimed_for_the_gateway(
    secrets: dict[str, dict[str, Any]], event: str
) -> None:
    kube = FakeKube(secrets)
    out = await sn.gateway_workload(FakeRt(kube), run_of(SUBNET))  # type: ignore[arg-type]
    assert out is CONTINUE  # the subnet itself goes on to Registered
    assert kube.applied == [] and kube.events == [("Warning", event)]


async def test_step_applies_the_deployment_and_service() -> None:
    kube = FakeKube({"gw-hotkey": {"annotations": {HOTKEY_CLAIM_ANNOTATION: "Gateway/compute"}}})
    assert await sn.gateway_workload(FakeRt(kube), run_of(SUBNET)) is CONTINUE  # type: ignore[arg-type]
    assert kube.applied == [("Deployment", "compute-gateway"), ("Service", "compute-gateway")]
    body = copy.deepcopy(SUBNET)
    del body["spec"]["gateway"]
    kube2 = FakeKube({})
    assert await sn.gateway_workload(FakeRt(kube2), run_of(body)) is CONTINUE  # type: ignore[arg-type]
    assert kube2.applied == [] and kube2.events == []


async def test_removing_spec_gateway_deletes_the_gateway_it_owns() -> None:
    body = copy.deepcopy(SUBNET)
    del body["spec"]["gateway"]
    kube = FakeKube({})
    kube.owned = {("Deployment", "compute-gateway"): "u-1", ("Service", "compute-gateway"): "u-1"}
    assert await sn.gateway_workload(FakeRt(kube), run_of(body)) is CONTINUE  # type: ignore[arg-type]
    assert kube.deleted == [("Deployment", "compute-gateway"), ("Service", "compute-gateway")]
    assert kube.events == [("Normal", "GatewayRemoved")]
    # Someone else's object of that name stays.
    kube2 = FakeKube({})
    kube2.owned = {("Deployment", "compute-gateway"): "another-uid"}
    assert await sn.gateway_workload(FakeRt(kube2), run_of(body)) is CONTINUE  # type: ignore[arg-type]
    assert kube2.deleted == [] and kube2.events == []


def test_the_crd_offers_exactly_the_capabilities_a_gateway_serves() -> None:
    from subnetes.gateway.capabilities import builtin
    from subnetes.operator.crds.gateway import CAPABILITIES

    caps = gateway_schema()["properties"]["capabilities"]
    assert set(caps["items"]["enum"]) == set(builtin(list(CAPABILITIES)))
    with pytest.raises(ValueError, match="unknown capabilities"):
        builtin(["not-a-capability"])
    assert caps["default"] == ["matmul"]  # a gateway without the field serves the compute subnet
