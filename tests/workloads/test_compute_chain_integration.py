"""The compute subnet on a real chain process, with miners and a validator as real processes.

A chain (dev profile, 0.2 s blocks, tempo 10) on a loopback port; a subnet with one staked
validator and four miners (two honest, one slow, one wrong) started with
``python -m subnetes.workloads.compute.miner`` / ``...validator`` exactly as pods run them,
configured only by environment. After a few epochs the slow and the wrong miner must have less
incentive than the honest ones (the wrong one none), and every process must stop cleanly on
SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bittensor_wallet import Keypair
from proc_helpers import free_port, http_ok, wait_for

from subnetes.chain.client import ChainClient
from subnetes.chain.units import tao
from subnetes.sdk.keys import write_hotkey

ALICE = Keypair.create_from_uri("//Alice")  # the dev profile's funded sudo account
FAULTS = {"fast1": "", "fast2": "", "slow": "slow:0.4", "wrong": "wrong"}
DEADLINE_S = 90


@pytest.fixture
def chain_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    ready = tmp_path / "chain.ready"
    log = (tmp_path / "chain.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "subnetes.chain",
            "chain",
            "run",
            "--db",
            str(tmp_path / "chain.db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--profile",
            "dev",
            "--block-time",
            "0.2",
            "--ready-file",
            str(ready),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: ready.exists() and http_ok(url + "/readyz"), 60, "the chain", {"chain": proc}
        )
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _start(module: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", module], env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb")
    )


def test_slow_and_wrong_miners_earn_less_on_a_real_chain(chain_url: str, tmp_path: Path) -> None:
    c = ChainClient(chain_url)
    tag = tmp_path.name[-8:]
    owner = Keypair.create_from_uri(f"//int-owner-{tag}")
    netuid = next(
        e["netuid"]
        for e in c.register_network(ALICE, owner.ss58_address)["events"]
        if e["type"] == "SubnetRegistered"
    )
    keys = {n: Keypair.create_from_uri(f"//int-{n}-{tag}") for n in ["validator", *FAULTS]}
    for kp in keys.values():
        c.burned_register(ALICE, netuid, kp.ss58_address)
    c.add_stake(ALICE, keys["validator"].ss58_address, tao(100))
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SUBNETES_")},
        "JAX_PLATFORMS": "cpu",
        "SUBNETES_CHAIN_ENDPOINT": chain_url,
        "SUBNETES_NETUID": str(netuid),
        "SUBNETES_AXON_IP": "127.0.0.1",
        "SUBNETES_METAGRAPH_REFRESH": "1",
        "SUBNETES_LOG_FORMAT": "json",
    }
    procs: dict[str, subprocess.Popen] = {}
    uids = {n: c.uid_of(netuid, kp.ss58_address) for n, kp in keys.items()}
    try:
        for name, fault in FAULTS.items():
            port = free_port()
            c.serve_axon(keys[name], netuid, "127.0.0.1", port)
            env = {
                **base_env,
                "SUBNETES_HOTKEY_PATH": str(write_hotkey(tmp_path / name, keys[name])),
                "SUBNETES_AXON_PORT": str(port),
                "SUBNETES_COMPUTE_FAULT": fault,
            }
            procs[name] = _start("subnetes.workloads.compute.miner", env, tmp_path / f"{name}.log")
        for name in FAULTS:
            port = next(
                r["axon"]["port"] for r in c.metagraph(netuid)["neurons"] if r["uid"] == uids[name]
            )
            wait_for(
                lambda p=port: http_ok(f"http://127.0.0.1:{p}/healthz"), 60, f"miner {name}", procs
            )
        venv = {
            **base_env,
            "SUBNETES_HOTKEY_PATH": str(write_hotkey(tmp_path / "v", keys["validator"])),
            "SUBNETES_STEP_INTERVAL": "0.3",
            "SUBNETES_COMPUTE_SIZE": "64",
            "SUBNETES_QUERY_TIMEOUT": "3",
            "SUBNETES_COMPUTE_ROUNDS": "16",
            "SUBNETES_EMA_ALPHA": "0.5",
        }
        procs["validator"] = _start(
            "subnetes.workloads.compute.validator", venv, tmp_path / "validator.log"
        )

        def rows() -> dict[str, dict]:
            by_uid = {r["uid"]: r for r in c.metagraph(netuid)["neurons"]}
            return {n: by_uid[u] for n, u in uids.items()}

        # Weights from the validator, then three more epochs (tempo 10 -> every 11 blocks).
        first = wait_for(
            lambda: rows()["validator"]["weights"] and c.chain()["head"],
            DEADLINE_S,
            "the validator's first weights",
            procs,
        )
        wait_for(lambda: c.chain()["head"] > first + 3 * 11, DEADLINE_S, "three epochs", procs)
        inc = {n: r["incentive"] for n, r in rows().items()}
        assert inc["wrong"] == 0, inc
        for fast in ("fast1", "fast2"):
            assert inc[fast] > inc["slow"] and inc[fast] > inc["wrong"], inc
        assert rows()["fast1"]["emission"] > 0
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = {}
        for name, p in procs.items():
            try:
                codes[name] = p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                codes[name] = "killed"
        c.close()
    assert codes == dict.fromkeys(procs, 0), codes  # graceful shutdown on SIGTERM
    vlog = (tmp_path / "validator.log").read_text()
    events = [json.loads(line) for line in vlog.splitlines() if line.startswith("{")]
    assert any(e["msg"] == "weights set" for e in events)
    secret = json.loads((tmp_path / "v").read_text())
    for field in ("secretPhrase", "secretSeed", "privateKey"):  # no key material in logs
        if secret.get(field):
            assert secret[field] not in vlog
