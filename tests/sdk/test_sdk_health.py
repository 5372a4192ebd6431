"""Validator health endpoints for kubelet probes: /healthz (the loop answers) and /readyz."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sdk_testkit import NETUID, kp

from subnetes.sdk.chain import NeuronInfo, WeightsPolicy
from subnetes.sdk.config import ConfigError, WorkloadConfig
from subnetes.sdk.health import HealthServer
from subnetes.sdk.keys import write_hotkey
from subnetes.sdk.memchain import MemoryNetwork
from subnetes.sdk.validator import Validator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_healthz_always_readyz_follows_ready() -> None:
    state = {"ready": False}
    server = HealthServer("127.0.0.1", 0, lambda: state["ready"], lambda: {"block": 7})
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as c:
            assert (await c.get("/healthz")).status_code == 200
            r = await c.get("/readyz")
            assert r.status_code == 503 and r.json() == {"ready": False, "block": 7}
            state["ready"] = True
            assert (await c.get("/readyz")).status_code == 200
    finally:
        await server.stop()


class _Logic:
    route = "ping"
    response_model = None
    timeout_s = 1.0


async def test_validator_is_ready_once_the_chain_answered() -> None:
    v = kp("health-val")
    net = MemoryNetwork(block=42)
    net.add_subnet(NETUID, [NeuronInfo(0, v.ss58_address)], WeightsPolicy(0, 0, 10))
    validator = Validator(v, NETUID, net.client(v.ss58_address), _Logic())  # type: ignore[arg-type]
    assert not validator.ready()
    await validator.read_metagraph()
    assert validator.ready() and validator.health()["block"] == 42


def test_health_port_from_env_binds_the_pod_ip_by_default(tmp_path: Path) -> None:
    base = {
        "SUBNETES_CHAIN_ENDPOINT": "http://chain:9944",
        "SUBNETES_NETUID": "1",
        "SUBNETES_HOTKEY_PATH": str(tmp_path / "hk"),
        "SUBNETES_AXON_IP": "10.1.2.3",
    }
    assert WorkloadConfig.from_env(base).health_port is None
    cfg = WorkloadConfig.from_env(base | {"SUBNETES_HEALTH_PORT": "8090"})
    assert (cfg.health_ip, cfg.health_port) == ("10.1.2.3", 8090)
    with pytest.raises(ConfigError, match="SUBNETES_HEALTH_PORT"):
        WorkloadConfig.from_env(base | {"SUBNETES_HEALTH_PORT": "http"})


def test_compute_validator_serves_health_while_the_chain_is_down(tmp_path: Path) -> None:
    """The pod's process as the operator configures it: live (the loop answers) although the
    chain is unreachable, not ready until the chain answers; SIGTERM still stops it cleanly."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SUBNETES_")},
        "JAX_PLATFORMS": "cpu",
        "SUBNETES_CHAIN_ENDPOINT": f"http://127.0.0.1:{_free_port()}",  # nobody listens
        "SUBNETES_NETUID": "1",
        "SUBNETES_HOTKEY_PATH": str(write_hotkey(tmp_path / "hk", kp("health-proc"))),
        "SUBNETES_AXON_IP": "127.0.0.1",
        "SUBNETES_HEALTH_PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "subnetes.workloads.compute.validator"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline, live = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                live = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1, trust_env=False)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert live is not None and live.status_code == 200, f"exit code {proc.poll()}"
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1, trust_env=False)
        assert ready.status_code == 503 and ready.json()["block"] == -1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "killed"
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    assert code == 0, err[-2000:]
