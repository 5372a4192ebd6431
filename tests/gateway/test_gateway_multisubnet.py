"""Two reference subnets behind the network router, all real processes: a chain (dev profile),
two compute subnets (capability ``matmul``; one miner each, the second one slow) and a
linear-solve subnet (capability ``linsolve``; a right and a wrong miner), a gateway per subnet
and the router (``python -m subnetes.gateway.router``), each configured by environment as in a
pod. A root validator gives the first compute subnet three times the second's root weight, so
the chain's emission shares differ. Shows: each capability reaches a subnet that serves it and
comes back verified; the wrong linsolve miner is never returned; traffic for ``matmul`` is
split by emission share (policy ``emission``) and goes to the faster subnet (``quality``).
"""

from __future__ import annotations

import math
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml
from bittensor_wallet import Keypair
from gateway_harness import free_port, http_ok, start, start_chain, stop, wait_for

from subnetes.chain.client import ChainClient
from subnetes.chain.units import tao
from subnetes.sdk.keys import write_hotkey
from subnetes.workloads.compute.challenge import Challenge as MatmulChallenge
from subnetes.workloads.compute.challenge import operands
from subnetes.workloads.compute.protocol import MatmulResponse
from subnetes.workloads.linsolve.challenge import Challenge as SolveChallenge
from subnetes.workloads.linsolve.challenge import system
from subnetes.workloads.linsolve.protocol import SolveResponse

ALICE = Keypair.create_from_uri("//Alice")  # the dev profile's funded sudo account
KEY = "sk-router-test-key"
SIZE = 16
# subnet -> (miner module, capability, {miner name: fault}), root weight
SUBNETS: dict[str, tuple[str, str, dict[str, str], int]] = {
    "mm1": ("subnetes.workloads.compute.miner", "matmul", {"mm1-a": ""}, 3 * 16384),
    "mm2": ("subnetes.workloads.compute.miner", "matmul", {"mm2-a": "slow:1.0"}, 16384),
    "ls": ("subnetes.workloads.linsolve.miner", "linsolve", {"ls-good": "", "ls-wrong": "wrong"}, 16384),
}  # fmt: skip
FAULT_VAR = {"matmul": "SUBNETES_COMPUTE_FAULT", "linsolve": "SUBNETES_LINSOLVE_FAULT"}


@dataclass
class Net:
    tmp: Path
    chain: str
    c: ChainClient
    netuids: dict[str, int]
    uids: dict[str, int]  # miner name -> UID on its subnet
    gateways: dict[str, str]  # subnet -> gateway URL
    routers: dict[str, str]  # policy -> router URL
    procs: dict[str, subprocess.Popen[bytes]]


def _register_subnet(c: ChainClient, owner: Keypair) -> int:
    events = c.register_network(ALICE, owner.ss58_address)["events"]
    return int(next(e["netuid"] for e in events if e["type"] == "SubnetRegistered"))


def _start_gateway(tmp: Path, chain: str, netuid: int, cap: str, name: str, procs: Any) -> str:
    port = free_port()
    env = {
        "SUBNETES_CHAIN_ENDPOINT": chain,
        "SUBNETES_NETUID": str(netuid),
        "SUBNETES_HOTKEY_PATH": str(tmp / "gw.key"),
        "SUBNETES_GATEWAY_PORT": str(port),
        "SUBNETES_GATEWAY_KEYS_PATH": str(tmp / "keys.yaml"),
        "SUBNETES_GATEWAY_CAPABILITIES": cap,
        "SUBNETES_GATEWAY_DEADLINE": "30",  # the first matmul compiles (JAX)
        "SUBNETES_GATEWAY_HEDGE_AFTER": "0",  # one miner at a time: every attempt is counted
        "SUBNETES_GATEWAY_REFRESH": "2",
        "SUBNETES_LINSOLVE_ROUNDS": "32",
        "SUBNETES_LOG_FORMAT": "json",
    }
    procs[name] = start("subnetes.gateway", env, tmp / f"{name}.log")
    return f"http://127.0.0.1:{port}"  # the caller waits for /readyz (all start at once)


def _start_router(
    tmp: Path, chain: str, routes: list[dict[str, Any]], policy: str, procs: Any
) -> str:
    port = free_port()
    path = tmp / f"routes-{policy}.yaml"
    path.write_text(yaml.safe_dump({"routes": routes}))
    env = {
        "SUBNETES_ROUTER_ROUTES": str(path),
        "SUBNETES_ROUTER_POLICY": policy,
        "SUBNETES_ROUTER_PORT": str(port),
        "SUBNETES_ROUTER_REFRESH": "1",
        "SUBNETES_ROUTER_DEADLINE": "30",
        "SUBNETES_CHAIN_ENDPOINT": chain,
        "SUBNETES_LOG_FORMAT": "json",
    }
    name = f"router-{policy}"
    procs[name] = start("subnetes.gateway.router", env, tmp / f"{name}.log")
    return f"http://127.0.0.1:{port}"  # the caller waits for /healthz


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    tmp = tmp_path_factory.mktemp("mx")
    chain_proc, url = start_chain(tmp)
    procs: dict[str, subprocess.Popen[bytes]] = {"chain": chain_proc}
    c = ChainClient(url)
    try:
        gw = Keypair.create_from_uri("//mx-gateway")  # one gateway hotkey on every subnet
        write_hotkey(tmp / "gw.key", gw)
        (tmp / "keys.yaml").write_text(
            yaml.safe_dump(
                {"keys": [{"name": "u", "key": KEY, "requestsPerSecond": 1000, "burst": 1000}]}
            )
        )
        netuids = {
            s: _register_subnet(c, Keypair.create_from_uri(f"//mx-owner-{s}")) for s in SUBNETS
        }
        uids: dict[str, int] = {}
        for s, (module, cap, miners, _w) in SUBNETS.items():
            c.burned_register(ALICE, netuids[s], gw.ss58_address)
            for name, fault in miners.items():
                kp = Keypair.create_from_uri(f"//mx-{name}")
                c.burned_register(ALICE, netuids[s], kp.ss58_address)
                uids[name] = int(c.uid_of(netuids[s], kp.ss58_address))
                port = free_port()
                c.serve_axon(kp, netuids[s], "127.0.0.1", port)
                env = {
                    "SUBNETES_CHAIN_ENDPOINT": url,
                    "SUBNETES_NETUID": str(netuids[s]),
                    "SUBNETES_AXON_IP": "127.0.0.1",
                    "SUBNETES_AXON_PORT": str(port),
                    "SUBNETES_HOTKEY_PATH": str(write_hotkey(tmp / f"{name}.key", kp)),
                    "SUBNETES_METAGRAPH_REFRESH": "1",
                    FAULT_VAR[cap]: fault,
                }
                procs[name] = start(module, env, tmp / f"{name}.log")
        c.add_stake(ALICE, gw.ss58_address, tao(100))  # validator permits at the next epochs
        # The linear-solve subnet's own validator (started by the last test): permit now too.
        lsv = Keypair.create_from_uri("//mx-ls-validator")
        c.burned_register(ALICE, netuids["ls"], lsv.ss58_address)
        # Far more stake than the gateway's, which sets no weights: Yuma's consensus needs a
        # majority of the stake behind a weight (kappa 0.5) before it pays, and the gateway's
        # stake grows by its dividends on three subnets while the tests run.
        c.add_stake(ALICE, lsv.ss58_address, tao(3000))
        write_hotkey(tmp / "ls-validator.key", lsv)
        uids["ls-validator"] = int(c.uid_of(netuids["ls"], lsv.ss58_address))
        # Root: one root validator weighs the subnets; the chain turns that into emission shares.
        root = Keypair.create_from_uri("//mx-root")
        c.root_register(ALICE, root.ss58_address)
        c.add_stake(ALICE, root.ss58_address, tao(100))
        c.set_root_weights(root, list(netuids.values()), [w for *_x, w in SUBNETS.values()])
        gateways = {
            s: _start_gateway(tmp, url, netuids[s], cap, f"gw-{s}", procs)
            for s, (_m, cap, _mi, _w) in SUBNETS.items()
        }
        routes = [
            {"netuid": netuids[s], "url": gateways[s], "capabilities": [cap]}
            for s, (_m, cap, _mi, _w) in SUBNETS.items()
        ]
        routers = {p: _start_router(tmp, url, routes, p, procs) for p in ("emission", "quality")}

        def permits() -> bool:
            for netuid in netuids.values():
                rows = c.metagraph(netuid)["neurons"]
                if not any(r["hotkey"] == gw.ss58_address and r["validator_permit"] for r in rows):
                    return False
            return True

        # Gateways and routers start while the epochs that grant the permits pass.
        wait_for(permits, 90, "the gateway's validator permits", procs)
        for probe in [f"{g}/readyz" for g in gateways.values()] + [
            f"{r}/healthz" for r in routers.values()
        ]:
            wait_for(lambda u=probe: http_ok(u), 90, probe, procs)

        def shares_read() -> bool:
            rows = httpx.get(routers["emission"] + "/v1/routes", trust_env=False).json()
            got = {r["netuid"]: r["emission_share"] for r in rows}
            return got[netuids["mm1"]] > got[netuids["mm2"]] > 0

        wait_for(shares_read, 60, "root-weighted emission shares in the router", procs)
        n = Net(tmp, url, c, netuids, uids, gateways, routers, procs)
        # First answers: the miners' axons learn of the permit (metagraph refresh) and the
        # compute miners compile (JAX); neither is routing's business.
        for s, (_m, cap, _mi, _w) in SUBNETS.items():
            wait_for(
                lambda g=gateways[s], c=cap: ask(g, c, 1).status_code == 200, 90, f"{s}", procs
            )
        yield n
    finally:
        codes = stop(procs)
        c.close()
    codes.pop("chain")  # not under test here
    assert all(code == 0 for code in codes.values()), codes  # everything stops cleanly


def ask(url: str, cap: str, seed: int) -> httpx.Response:
    body = (
        {"seed": seed, "m": SIZE, "k": SIZE, "n": SIZE}
        if cap == "matmul"
        else {"seed": seed, "n": 48, "k": 2}
    )
    return httpx.post(
        f"{url}/v1/{cap}",
        json=body,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=60,
        trust_env=False,
    )


def product_ok(resp: httpx.Response, seed: int) -> bool:
    ch = MatmulChallenge(seed=seed, m=SIZE, k=SIZE, n=SIZE)
    a, b = operands(ch)
    c = MatmulResponse.model_validate_json(resp.content).array(ch)
    return bool(np.allclose(c, a @ b, rtol=1e-4, atol=1e-4))


def solution_ok(resp: httpx.Response, seed: int) -> bool:
    ch = SolveChallenge(seed=seed, n=48, k=2)
    a, b = system(ch)
    x = SolveResponse.model_validate_json(resp.content).array(ch)
    return bool(np.allclose(x, np.linalg.solve(a, b), rtol=1e-10, atol=1e-12))


def test_each_capability_reaches_a_subnet_that_serves_it_and_comes_back_verified(net: Net) -> None:
    router = net.routers["emission"]
    matmul_netuids = {net.netuids["mm1"], net.netuids["mm2"]}
    for seed in range(10, 16):
        r = ask(router, "matmul", seed)
        assert r.status_code == 200 and product_ok(r, seed), r.text
        assert int(r.headers["X-Subnetes-Netuid"]) in matmul_netuids
        s = ask(router, "linsolve", seed)
        assert s.status_code == 200 and solution_ok(s, seed), s.text
        assert int(s.headers["X-Subnetes-Netuid"]) == net.netuids["ls"]
    caps = httpx.get(router + "/v1/capabilities", trust_env=False).json()
    assert caps == {
        "policy": "emission",
        "capabilities": {"linsolve": [net.netuids["ls"]], "matmul": sorted(matmul_netuids)},
    }
    unknown = httpx.post(router + "/v1/translate", json={}, trust_env=False)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "UnknownCapability")
    # A subnet's gateway serves only its own capability.
    wrong_place = ask(net.gateways["ls"], "matmul", 1)
    assert (wrong_place.status_code, wrong_place.json()["error"]) == (404, "UnknownCapability")


def test_a_wrong_linsolve_miner_is_never_returned_and_is_penalised_at_once(net: Net) -> None:
    served = Counter()
    for seed in range(100, 124):
        r = ask(net.routers["emission"], "linsolve", seed)
        assert r.status_code == 200 and solution_ok(r, seed), r.text
        served[int(r.headers["X-Subnetes-Uid"])] += 1
    assert set(served) == {net.uids["ls-good"]}, served
    pool = {
        m["uid"]: m
        for m in httpx.get(net.gateways["ls"] + "/v1/pool", trust_env=False).json()["miners"]
    }
    wrong = pool[net.uids["ls-wrong"]]
    # Tried (even odds before its first answer: never tried in 30 requests has odds ~2^-30),
    # caught by the residual check, and its breaker open since.
    assert wrong["counts"]["ok"] == 0 and wrong["counts"]["wrong"] >= 1, wrong
    assert wrong["breaker"] == "open"
    metrics = httpx.get(net.gateways["ls"] + "/metrics", trust_env=False).text
    assert (
        f'subnetes_gateway_verification_failures_total{{uid="{net.uids["ls-wrong"]}"}} 1.0'
        in metrics
    )


def _traffic(router: str) -> dict[int, dict[str, Any]]:
    doc = httpx.get(router + "/v1/traffic", trust_env=False, timeout=10).json()
    return {s["netuid"]: s for s in doc["subnets"]}


def test_the_router_traffic_view_counts_per_subnet_and_per_miner(net: Net) -> None:
    """After the wrong miner was caught: ``GET /v1/traffic`` counts what this test sends, per
    subnet (the router's counts) and per miner (read from each gateway's pool); ``/`` serves
    the page, same-origin only."""
    router = net.routers["emission"]
    ls, mm = net.netuids["ls"], (net.netuids["mm1"], net.netuids["mm2"])
    before = _traffic(router)
    for seed in range(200, 208):
        assert ask(router, "linsolve", seed).status_code == 200
    for seed in range(200, 204):
        assert ask(router, "matmul", seed).status_code == 200
    after = _traffic(router)

    def delta(netuid: int, key: str) -> int:
        return int(after[netuid]["router"][key] - before[netuid]["router"][key])

    def miners_verified(doc: dict[int, dict[str, Any]], netuid: int) -> int:
        return sum(int(m["verified"]) for m in doc[netuid]["miners"])

    assert (delta(ls, "requests"), delta(ls, "verified"), delta(ls, "errors")) == (8, 8, 0)
    assert sum(delta(n, "verified") for n in mm) == 4 == sum(delta(n, "requests") for n in mm)
    assert after[ls]["router"]["latency_p50_s"] > 0
    # Per miner (only the router sends to these gateways now): the verified answers returned.
    assert miners_verified(after, ls) - miners_verified(before, ls) == 8
    assert sum(miners_verified(after, n) - miners_verified(before, n) for n in mm) == 4
    rows = {m["uid"]: m for m in after[ls]["miners"]}
    good, wrong = rows[net.uids["ls-good"]], rows[net.uids["ls-wrong"]]
    assert good["in_pool"] and good["verified"] >= 8, good
    assert wrong["failures"] >= wrong["wrong"] >= 1 and wrong["verified"] == 0, wrong
    assert not wrong["in_pool"], wrong  # penalised: its breaker is open
    assert after[ls]["capabilities"] == ["linsolve"] and after[ls]["url"] == net.gateways["ls"]
    page = httpx.get(router + "/", trust_env=False)
    assert page.status_code == 200 and "/dashboard/app.js" in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_traffic_for_a_capability_two_subnets_serve_is_split_by_the_policy(net: Net) -> None:
    mm1, mm2 = net.netuids["mm1"], net.netuids["mm2"]
    by_policy: dict[str, Counter[int]] = {}
    for policy, url in net.routers.items():
        got: Counter[int] = Counter()
        for seed in range(1000, 1040):
            r = ask(url, "matmul", seed)
            assert r.status_code == 200 and product_ok(r, seed), r.text
            got[int(r.headers["X-Subnetes-Netuid"])] += 1
        by_policy[policy] = got
    rows = {
        r["netuid"]: r
        for r in httpx.get(net.routers["emission"] + "/v1/routes", trust_env=False).json()
    }
    p = rows[mm1]["emission_share"] / (rows[mm1]["emission_share"] + rows[mm2]["emission_share"])
    assert 0.6 < p < 0.9, rows  # root weighs mm1 three times mm2
    # Emission: mm1 gets its share of 40 requests, within 4 standard deviations.
    e = by_policy["emission"]
    assert abs(e[mm1] - 40 * p) <= 4 * math.sqrt(40 * p * (1 - p)) + 1, (e, p)
    assert e[mm2] > 0  # the slow subnet still earns its share of the traffic
    # Quality: mm2's miner is slow (1 s more per answer), so it loses most of its traffic.
    q = by_policy["quality"]
    # (Its weight is about fast/slow latency, under 0.1: more than 10 of 40 has odds < 1e-3.)
    assert q[mm2] <= 10, (q, e)
    quality_rows = {
        r["netuid"]: r
        for r in httpx.get(net.routers["quality"] + "/v1/routes", trust_env=False).json()
    }
    assert quality_rows[mm1]["ok"] == q[mm1] and quality_rows[mm2]["ok"] == q[mm2]
    if q[mm2]:  # what the quality policy saw: the slow subnet's answers take a second more
        lat = {n: quality_rows[n]["latency_ewma_s_by_capability"]["matmul"] for n in (mm1, mm2)}
        assert lat[mm2] > lat[mm1] + 0.5, lat


def test_the_linsolve_validator_pays_the_right_miner_and_not_the_wrong_one(net: Net) -> None:
    """Last (it gives the right miner incentive, which the gateway's routing then prefers): the
    subnet's validator entrypoint checks the miners' solutions and sets weights; epochs pay."""
    c, netuid = net.c, net.netuids["ls"]
    env = {
        "SUBNETES_CHAIN_ENDPOINT": net.chain,
        "SUBNETES_NETUID": str(netuid),
        "SUBNETES_HOTKEY_PATH": str(net.tmp / "ls-validator.key"),
        "SUBNETES_STEP_INTERVAL": "0.3",
        "SUBNETES_LINSOLVE_SIZE": "64,2",
        "SUBNETES_QUERY_TIMEOUT": "3",
        "SUBNETES_EMA_ALPHA": "0.5",
        "SUBNETES_LOG_FORMAT": "json",
    }
    net.procs["ls-validator"] = start(
        "subnetes.workloads.linsolve.validator", env, net.tmp / "ls-validator.log"
    )

    def rows() -> dict[int, dict[str, Any]]:
        return {r["uid"]: r for r in c.metagraph(netuid)["neurons"]}

    u = net.uids
    first = wait_for(
        lambda: rows()[u["ls-validator"]]["weights"] and c.chain()["head"],
        90,
        "the linsolve validator's first weights",
        net.procs,
    )
    wait_for(lambda: c.chain()["head"] > first + 2 * 11, 60, "two epochs", net.procs)
    inc = {name: rows()[u[name]]["incentive"] for name in ("ls-good", "ls-wrong")}
    keys = ("uid", "stake", "validator_permit", "last_update", "weights", "incentive", "consensus")
    seen = [{k: r.get(k) for k in keys} for r in rows().values()]
    assert inc["ls-good"] > 0 and inc["ls-wrong"] == 0, (inc, seen)
