"""The demo's gateway (pure parts): the Subnet gets spec.gateway, its Secrets, the pod URL, and
the live view's traffic per subnet and per miner."""

from __future__ import annotations

import yaml
from rich.console import Console

from subnetes.gateway.capabilities import builtin
from subnetes.gateway.router import parse_routes
from subnetes.localnet.demo import (
    DEMO_FAULTS,
    LINSOLVE,
    LINSOLVE_EXAMPLE,
    SUBNET,
    demo_subnets,
    gateways_served,
    load_example,
    with_faults,
)
from subnetes.localnet.demo_gateway import (
    CAPABILITY,
    DEMO_API_KEY,
    GatewayState,
    curl_command,
    gateway_secrets,
    gateway_url,
    render_traffic,
    request_body,
    routes_file,
    totals,
    traffic_line,
    with_gateway,
)
from subnetes.operator.crds import KINDS, custom_resource_definition

POOL = {
    "netuid": 2,
    "block": 40,
    "miners": [
        {"uid": 3, "hotkey": "5Fhonest", "latency_ewma_s": 0.012, "share": 0.6,
         "breaker": "closed", "counts": {"ok": 7, "wrong": 0, "timeout": 1, "error": 0}},
        {"uid": 4, "hotkey": "5Fwrong", "latency_ewma_s": None, "share": 0.0,
         "breaker": "open", "counts": {"ok": 0, "wrong": 2, "timeout": 0, "error": 1}},
    ],
}  # fmt: skip


def test_the_demo_subnet_gets_a_gateway_that_the_crd_accepts() -> None:
    import jsonschema

    listed = with_gateway(with_faults(load_example(), DEMO_FAULTS), SUBNET)
    (subnet,) = [d for d in listed["items"] if d["kind"] == "Subnet"]
    gw = subnet["spec"]["gateway"]
    assert gw["hotkeySecretRef"] == {"name": "compute-gateway-hotkey"}
    assert gw["authSecretRef"] == {"name": "compute-gateway-keys"}
    assert gw["image"] == "ghcr.io/subnetes/subnetes:0.1.0"  # the CPU image the dev runner runs
    kind = next(k for k in KINDS if k.kind == "Subnet")
    schema = custom_resource_definition(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    plain = yaml.safe_load(yaml.safe_dump(schema).replace("x-kubernetes-", "x-k-"))
    jsonschema.validate(subnet, plain)
    # The other objects are the faulted example's, untouched.
    assert [d for d in listed["items"] if d["kind"] != "Subnet"] == [
        d for d in with_faults(load_example(), DEMO_FAULTS)["items"] if d["kind"] != "Subnet"
    ]


def test_secrets_claim_the_hotkey_for_the_gateway_and_hold_the_demo_key() -> None:
    hot, keys = gateway_secrets("ns", "compute", '{"secretPhrase": "x"}')
    assert hot["metadata"]["annotations"] == {"subnetes.io/hotkey-for": "Gateway/compute"}
    assert hot["stringData"] == {"hotkey": '{"secretPhrase": "x"}'}
    doc = yaml.safe_load(keys["stringData"]["keys.yaml"])
    assert doc == {"keys": [{"name": "demo-user", "key": DEMO_API_KEY}]}


def test_gateway_url_is_the_running_pods_ip_and_port() -> None:
    def pod(phase: str, ip: str | None) -> dict:
        return {
            "spec": {"containers": [{"ports": [{"containerPort": 8080}]}]},
            "status": {"phase": phase, "podIP": ip},
        }

    assert gateway_url({"items": []}) is None
    assert gateway_url({"items": [pod("Pending", None)]}) is None
    assert gateway_url({"items": [pod("Pending", None), pod("Running", "127.64.0.9")]}) == (
        "http://127.64.0.9:8080"
    )
    assert curl_command("http://127.64.0.9:8080").startswith(
        "curl -s http://127.64.0.9:8080/v1/matmul -H 'Authorization: Bearer "
    )


def test_traffic_per_subnet_and_per_miner() -> None:
    assert totals(POOL) == {"verified": 7, "wrong": 2, "failed": 2}
    console = Console(width=200, record=True)
    names = {"5Fhonest": ("Miner", "miner-0", "Registered"), "5Fval": ("Validator", "v", "")}
    pool = {
        **POOL,
        "miners": [*POOL["miners"], {**POOL["miners"][0], "hotkey": "5Fval", "counts": {}}],
    }
    console.print(render_traffic("compute", pool, {"ok": 7, "error": 1}, names))
    text = console.export_text()
    words = " ".join(text.split())  # the title wraps to the table's width
    assert "gateway compute-gateway (netuid 2): 7 verified, 2 wrong (never returned)" in words
    assert "7 answered, 1 not" in words
    row3 = next(line for line in text.splitlines() if "5Fhonest" in line)
    assert row3.split("│")[4].strip() == "7" and "12" in row3 and "0.60" in row3
    assert "miner-0" in row3 and "5Fval" not in text  # validators are not in the miners' table
    assert "open" in next(line for line in text.splitlines() if "5Fwrong" in line)
    assert traffic_line("compute", POOL) == (
        "gateway compute: 7 verified answers to users' requests (UID 3: 7); "
        "2 wrong answers caught and never returned"
    )
    empty = Console(width=200, record=True)
    empty.print(render_traffic("compute", None, {}))
    assert "not serving yet" in empty.export_text()


def test_each_demo_subnet_has_a_capability_and_its_example_names_the_demos_secrets() -> None:
    subs = demo_subnets()
    assert subs[0] == SUBNET and set(subs) <= set(CAPABILITY)
    caps = builtin([CAPABILITY[s] for s in subs])
    for cap in caps.values():  # the traffic's bodies are what each capability accepts
        cap.request_model.model_validate(request_body(cap.name, 7))
    if LINSOLVE in subs:
        (sub,) = [d for d in load_example(LINSOLVE_EXAMPLE) if d["kind"] == "Subnet"]
        gw = sub["spec"]["gateway"]
        assert gw["hotkeySecretRef"]["name"] == "linsolve-gateway-hotkey"
        assert gw["authSecretRef"]["name"] == "linsolve-gateway-keys"
        assert gw["capabilities"] == [CAPABILITY[LINSOLVE]]


def test_the_router_gets_one_route_per_gateway_and_all_must_serve() -> None:
    gws = [GatewayState("compute", None, True, "http://127.64.0.3:8080"),
           GatewayState("linsolve", None, True, "http://127.64.0.9:8080")]  # fmt: skip
    routes = parse_routes(routes_file(gws, {"compute": 1, "linsolve": 2}))
    assert [(r.netuid, r.url, r.capabilities) for r in routes] == [
        (1, "http://127.64.0.3:8080", ("matmul",)),
        (2, "http://127.64.0.9:8080", ("linsolve",)),
    ]
    assert "/v1/linsolve" in curl_command("http://127.0.0.1:1", "linsolve")
    assert gateways_served({"gateways": {"compute": POOL, "linsolve": POOL}})
    assert not gateways_served({"gateways": {"compute": POOL, "linsolve": None}})
    assert not gateways_served({"gateways": {}})
