"""The gateway against real processes: a chain service, compute miners (two fast, one slow, one
wrong, one without incentive) and the gateway itself, each a ``python -m`` process configured by
environment as in a pod. The tests run in file order on one network (module fixture): routing,
bad requests, deadlines, a gateway restart, then a pruning that changes the subnet.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
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
from subnetes.sdk.dendrite import Dendrite
from subnetes.sdk.keys import write_hotkey
from subnetes.sdk.organic import blend, read_organic_quality
from subnetes.workloads.compute.challenge import Challenge, operands
from subnetes.workloads.compute.protocol import ROUTE, MatmulRequest, MatmulResponse

ALICE = Keypair.create_from_uri("//Alice")  # the dev profile's funded sudo account
# name -> (fault, weight the test's validator gives it)
MINERS = {
    "fast1": ("", 40000),
    "fast2": ("", 40000),
    "slow": ("slow:0.4", 30000),
    "wrong": ("wrong", 30000),
    "zero": ("", 0),
}
KEY = "sk-gateway-test-main-key"
TINY = "sk-gateway-test-tiny-quota"
SLOW = "sk-gateway-test-slow-rate"
SIZE = 32


@dataclass
class Net:
    tmp: Path
    chain: str
    c: ChainClient
    netuid: int
    gw: Keypair
    keys: dict[str, Keypair]
    uids: dict[str, int]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    gateway: str = ""

    def start_gateway(self, name: str = "gateway") -> str:
        port = free_port()
        env = {
            "SUBNETES_CHAIN_ENDPOINT": self.chain,
            "SUBNETES_NETUID": str(self.netuid),
            "SUBNETES_HOTKEY_PATH": str(self.tmp / "gw.key"),
            "SUBNETES_GATEWAY_PORT": str(port),
            "SUBNETES_GATEWAY_KEYS_PATH": str(self.tmp / "keys.yaml"),
            "SUBNETES_GATEWAY_HEDGE_AFTER": "0.15",
            "SUBNETES_GATEWAY_DEADLINE": "5",
            "SUBNETES_GATEWAY_RETRIES": "2",
            "SUBNETES_GATEWAY_MAX_BODY": "2048",
            "SUBNETES_GATEWAY_REFRESH": "2",
            "SUBNETES_COMPUTE_MAX_DIM": "256",
            "SUBNETES_COMPUTE_ROUNDS": "16",
            "SUBNETES_LOG_FORMAT": "json",
        }
        self.procs[name] = start("subnetes.gateway", env, self.tmp / f"{name}.log")
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_ok(url + "/readyz"), 60, name, self.procs)
        self.gateway = url
        return url

    def pool(self) -> dict[int, dict[str, Any]]:
        doc = httpx.get(self.gateway + "/v1/pool", trust_env=False).json()
        return {m["uid"]: m for m in doc["miners"]}

    def rows(self) -> dict[int, dict[str, Any]]:
        return {r["uid"]: r for r in self.c.metagraph(self.netuid)["neurons"]}


def ask(url: str, seed: int, key: str = KEY, size: int = SIZE, **kw: Any) -> httpx.Response:
    body = {"seed": seed, "m": size, "k": size, "n": size}
    return httpx.post(
        url + "/v1/matmul",
        json=body,
        headers={"Authorization": f"Bearer {key}", **kw.pop("headers", {})},
        timeout=30,
        trust_env=False,
        **kw,
    )


def product_ok(resp: httpx.Response, seed: int, size: int = SIZE) -> bool:
    ch = Challenge(seed=seed, m=size, k=size, n=size)
    a, b = operands(ch)
    c = MatmulResponse.model_validate_json(resp.content).array(ch)
    return bool(np.allclose(c, a @ b, rtol=1e-4, atol=1e-4))


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    tmp = tmp_path_factory.mktemp("gw")
    chain_proc, url = start_chain(tmp)
    procs: dict[str, subprocess.Popen[bytes]] = {"chain": chain_proc}
    c = ChainClient(url)
    try:
        owner = Keypair.create_from_uri("//gw-owner")
        netuid = next(
            e["netuid"]
            for e in c.register_network(ALICE, owner.ss58_address)["events"]
            if e["type"] == "SubnetRegistered"
        )
        gw = Keypair.create_from_uri("//gw-gateway")
        keys = {n: Keypair.create_from_uri(f"//gw-{n}") for n in MINERS}
        for kp in [gw, *keys.values()]:
            c.burned_register(ALICE, netuid, kp.ss58_address)
        c.add_stake(ALICE, gw.ss58_address, tao(100))  # a validator permit at the next epoch
        uids = {n: c.uid_of(netuid, kp.ss58_address) for n, kp in keys.items()}
        write_hotkey(tmp / "gw.key", gw)
        (tmp / "keys.yaml").write_text(
            yaml.safe_dump(
                {
                    "keys": [
                        {"name": "main", "key": KEY, "requestsPerSecond": 1000, "burst": 1000},
                        {"name": "tiny", "key": TINY, "quota": 2},
                        {"name": "slow", "key": SLOW, "requestsPerSecond": 0.01, "burst": 1},
                    ]
                }
            )
        )
        n = Net(tmp, url, c, netuid, gw, keys, uids, procs)  # type: ignore[arg-type]
        for name, (fault, _w) in MINERS.items():
            port = free_port()
            c.serve_axon(keys[name], netuid, "127.0.0.1", port)
            env = {
                "SUBNETES_CHAIN_ENDPOINT": url,
                "SUBNETES_NETUID": str(netuid),
                "SUBNETES_AXON_IP": "127.0.0.1",
                "SUBNETES_AXON_PORT": str(port),
                "SUBNETES_HOTKEY_PATH": str(write_hotkey(tmp / f"{name}.key", keys[name])),
                "SUBNETES_METAGRAPH_REFRESH": "1",
                "SUBNETES_COMPUTE_FAULT": fault,
            }
            procs[name] = start("subnetes.workloads.compute.miner", env, tmp / f"{name}.log")
        for name in MINERS:
            port = n.rows()[uids[name]]["axon"]["port"]
            wait_for(lambda p=port: http_ok(f"http://127.0.0.1:{p}/healthz"), 90, name, procs)
        # The gateway's hotkey gets its permit at an epoch, then sets the weights this test
        # wants (the subnet's validators' verdict), and the next epoch turns them into incentive.
        wait_for(
            lambda: n.rows()[c.uid_of(netuid, gw.ss58_address)]["validator_permit"], 60, "permit"
        )
        n.start_gateway()  # before any incentive: the epoch's event must reach its pool
        weights = {uids[name]: w for name, (_f, w) in MINERS.items() if w}
        c.set_weights(gw, netuid, list(weights), list(weights.values()))
        wait_for(lambda: n.rows()[uids["fast1"]]["incentive"] > 0, 60, "incentive")
        wait_for(lambda: n.pool()[uids["fast1"]]["incentive"] > 0, 30, "incentive in the pool")
        asyncio.run(_warm_up(n))  # the miners' first product compiles (JAX): not routing's business
        yield n
    finally:
        codes = stop(procs)
        c.close()
    codes.pop("chain")  # not under test here
    assert all(code == 0 for code in codes.values()), codes  # miners and gateway stop cleanly


async def _warm_up(n: Net) -> None:
    """One signed query to each miner (the gateway's hotkey, as validators' queries are)."""
    d = Dendrite(n.gw, n.netuid)
    neurons = [r for r in (await asyncio.to_thread(n.rows)).values() if r["uid"] in n.uids.values()]
    from subnetes.gateway.pool import miner_from_row

    req = MatmulRequest(seed=1, m=SIZE, k=SIZE, n=SIZE)
    try:
        results = await d.query_many(
            [miner_from_row(r)[0] for r in neurons], ROUTE, req, MatmulResponse, 30.0
        )
        assert all(r.ok for r in results), [r.error for r in results]
    finally:
        await d.close()


def test_routing_follows_incentive_and_health_and_only_verified_answers_return(net: Net) -> None:
    served: list[int] = []
    for seed in range(100, 160):
        r = ask(net.gateway, seed)
        assert r.status_code == 200, r.text
        assert product_ok(r, seed)  # verified by the gateway, checked again here
        served.append(int(r.headers["X-Subnetes-Uid"]))
    u = net.uids
    assert u["wrong"] not in served and u["zero"] not in served
    pool = net.pool()
    counts = {name: pool[uid]["counts"] for name, uid in u.items()}
    assert sum(counts["zero"].values()) == 0, counts  # no incentive: no traffic at all
    assert counts["wrong"]["ok"] == 0 and counts["wrong"]["wrong"] <= 1, counts
    if counts["wrong"]["wrong"]:
        assert pool[u["wrong"]]["breaker"] == "open"  # penalised at once
    fast = min(counts["fast1"]["ok"], counts["fast2"]["ok"])
    assert counts["slow"]["ok"] * 4 < fast, counts  # the slow one lost its traffic
    metrics = httpx.get(net.gateway + "/metrics", trust_env=False).text
    assert (
        'subnetes_gateway_requests_total{capability="matmul",error="",status="200"} 60.0' in metrics
    )
    assert "subnetes_gateway_miner_latency_seconds_bucket" in metrics
    if counts["wrong"]["wrong"]:
        assert f'subnetes_gateway_verification_failures_total{{uid="{u["wrong"]}"}} 1.0' in metrics
    # The SDK hook: validators read organic quality and fold it into their scores.
    organic = asyncio.run(read_organic_quality(net.gateway))
    # what the pool counted (read above; a late hedge may add one since), not a fixed share of
    # the 60: how they split between the two fast miners varies
    fast1 = organic[u["fast1"]]
    assert fast1.quality > 0.9 and fast1.verified >= counts["fast1"]["ok"] > 0, (fast1, counts)
    if u["wrong"] in organic:
        assert organic[u["wrong"]].quality == 0.0
    blended = blend({u["fast1"]: 0.5}, organic, 0.5)
    assert blended[u["fast1"]] > 0.7


def test_bad_requests_get_specific_4xx(net: Net) -> None:
    g = net.gateway

    def post(path: str, body: Any, key: str | None = KEY, **headers: str) -> httpx.Response:
        h = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.post(
            g + path,
            content=body if isinstance(body, bytes) else None,
            json=None if isinstance(body, bytes) else body,
            headers={**h, **headers},
            trust_env=False,
            timeout=10,
        )

    ok = {"seed": 1, "m": 4, "k": 4, "n": 4}
    cases = [
        (post("/v1/matmul", b"{not json"), 400, "BadRequest"),
        (post("/v1/matmul", {"seed": -1, "m": 4, "k": 4, "n": 4}), 400, "BadRequest"),
        (post("/v1/matmul", {**ok, "dtype": "int8"}), 400, "BadRequest"),
        (post("/v1/matmul", b"x" * 5000), 413, "TooLarge"),
        (post("/v1/matmul", {**ok, "m": 257}), 413, "TooLarge"),
        (post("/v1/translate", ok), 404, "UnknownCapability"),
        (post("/v1/matmul", ok, key=None), 401, "MissingKey"),
        (post("/v1/matmul", ok, key="sk-not-a-key-at-all"), 401, "BadKey"),
        (post("/v1/matmul", ok, **{"X-Subnetes-Deadline-Ms": "soon"}), 400, "BadRequest"),
    ]
    for resp, status, name in cases:
        assert (resp.status_code, resp.json()["error"]) == (status, name), resp.text
    assert ask(g, 1, key=TINY, size=4).status_code == 200
    assert ask(g, 2, key=TINY, size=4).status_code == 200
    over = ask(g, 3, key=TINY, size=4)
    assert (over.status_code, over.json()["error"]) == (403, "QuotaExceeded")
    assert ask(g, 4, key=SLOW, size=4).status_code == 200
    limited = ask(g, 5, key=SLOW, size=4)
    assert (limited.status_code, limited.json()["error"]) == (429, "RateLimited")
    assert int(limited.headers["Retry-After"]) >= 1
    assert net.procs["gateway"].poll() is None  # nothing crashed
    assert ask(g, 6).status_code == 200


def test_no_request_hangs_past_its_deadline_when_miners_freeze(net: Net) -> None:
    miners = [net.procs[name] for name in MINERS]
    for p in miners:  # frozen: the kernel accepts connections, nobody answers
        p.send_signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = ask(net.gateway, 7, headers={"X-Subnetes-Deadline-Ms": "800"})
        took = time.monotonic() - t0
        assert (r.status_code, r.json()["error"]) == (504, "DeadlineExceeded"), r.text
        assert took < 3.0, took  # the frozen miners never answer
    finally:
        for p in miners:
            p.send_signal(signal.SIGCONT)
    wait_for(lambda: ask(net.gateway, 8).status_code == 200, 30, "answers again")


def test_a_restarted_gateway_rebuilds_its_pool_from_the_chain(net: Net) -> None:
    before = net.pool()
    p = net.procs.pop("gateway")
    p.send_signal(signal.SIGTERM)
    assert p.wait(15) == 0
    net.start_gateway("gateway")
    after = net.pool()
    assert sorted(after) == sorted(before)
    rows = net.rows()
    for uid, m in after.items():
        assert (m["hotkey"], m["incentive"]) == (rows[uid]["hotkey"], rows[uid]["incentive"])
        assert sum(m["counts"].values()) == 0  # health is observed afresh
    for seed in range(200, 210):
        r = ask(net.gateway, seed)
        assert r.status_code == 200 and product_ok(r, seed)
        assert int(r.headers["X-Subnetes-Uid"]) not in (net.uids["wrong"], net.uids["zero"])


def test_the_network_router_sends_work_to_a_subnet_that_serves_it(net: Net) -> None:
    from subnetes.gateway.router import Route, Router, SubnetTable

    async def scenario() -> tuple[list[tuple[int, str]], dict[int, Any]]:
        table = SubnetTable(
            [
                Route(net.netuid, net.gateway, ("matmul",)),
                Route(99, f"http://127.0.0.1:{free_port()}", ("matmul",)),  # a gateway that is down
            ]
        )
        router = Router(table, chain_endpoint=net.chain)
        await router.start()
        await router.refresh()  # emission shares from the chain
        url = f"http://127.0.0.1:{router.port}"
        try:
            async with httpx.AsyncClient(trust_env=False, timeout=30) as h:
                got = []
                for seed in range(400, 412):
                    r = await h.post(
                        url + "/v1/matmul",
                        json={"seed": seed, "m": SIZE, "k": SIZE, "n": SIZE},
                        headers={"Authorization": f"Bearer {KEY}"},
                    )
                    assert r.status_code == 200 and product_ok(r, seed), r.text
                    got.append((int(r.headers["X-Subnetes-Netuid"]), r.headers["X-Subnetes-Uid"]))
                bad = await h.post(url + "/v1/matmul", json={"seed": 1, "m": 4, "k": 4, "n": 4})
                assert (bad.status_code, bad.json()["error"]) == (401, "MissingKey")
                routes = {x["netuid"]: x for x in (await h.get(url + "/v1/routes")).json()}
        finally:
            await router.stop()
        return got, routes

    got, routes = asyncio.run(scenario())
    assert {n for n, _uid in got} == {net.netuid}  # the subnet that answers, then its miners
    assert routes[net.netuid]["ok"] == 12 and routes[99]["ok"] == 0


def test_a_pruned_miner_leaves_the_pool_in_the_block_that_prunes_it(net: Net) -> None:
    c, netuid = net.c, net.netuid
    n = len(net.rows())
    c.set_hyperparameter(ALICE, netuid, "max_allowed_validators", 1)
    c.set_hyperparameter(ALICE, netuid, "max_allowed_uids", n)
    c.set_hyperparameter(ALICE, netuid, "immunity_period", 0)
    newcomer = Keypair.create_from_uri("//gw-newcomer")
    res = c.burned_register(ALICE, netuid, newcomer.ss58_address)
    dereg = next(e for e in res["events"] if e["type"] == "NeuronDeregistered")
    uid, old = dereg["uid"], dereg["hotkey"]
    assert old != net.gw.ss58_address  # the gateway's validator keeps its UID (it earns)

    def gone() -> bool:
        m = net.pool().get(uid)
        return m is None or m["hotkey"] != old

    wait_for(gone, 5, "the pruned miner to leave the pool")
    for seed in range(300, 320):
        r = ask(net.gateway, seed)
        assert r.status_code == 200
        assert r.headers["X-Subnetes-Hotkey"] != old
