"""Logs, metrics, tracing switches, backoff, and the chain-service adapter's error mapping."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys

import httpx
import pytest

from subnetes.chain.errors import ChainError as ServiceError
from subnetes.sdk.backoff import Backoff, Stopped, retry
from subnetes.sdk.chain import ChainRejected, ChainUnavailable
from subnetes.sdk.chain_client import (
    ServiceChain,
    _translate,
    neuron_from_row,
    policy_from_hyperparameters,
)
from subnetes.sdk.logs import JsonFormatter, TextFormatter
from subnetes.sdk.telemetry import AxonMetrics, setup_tracing, start_metrics_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_json_and_text_logs_carry_fields() -> None:
    rec = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "weights set", "block": 7, "uids": [1, 2]}
    )
    doc = json.loads(JsonFormatter().format(rec))
    assert doc["msg"] == "weights set" and doc["block"] == 7 and doc["uids"] == [1, 2]
    assert doc["level"] == "info" and doc["ts"].endswith("Z")
    assert TextFormatter().format(rec).endswith("weights set block=7 uids=[1, 2]")


def test_metrics_server_on_loopback() -> None:
    m = AxonMetrics()
    m.requests.labels("matmul", "200").inc()
    port = _free_port()
    server = start_metrics_server(m.registry, "127.0.0.1", port)
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", trust_env=False).text
        assert 'subnetes_axon_requests_total{route="matmul",status="200"} 1.0' in text
    finally:
        server.shutdown()
    assert start_metrics_server(m.registry, "127.0.0.1", None) is None


def test_tracing_is_off_by_default() -> None:
    assert setup_tracing("t", {}) is False
    assert setup_tracing("t", {"OTEL_TRACES_EXPORTER": "none"}) is False
    assert (
        setup_tracing("t", {"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"})
        is False
    )
    assert setup_tracing("t", {"OTEL_TRACES_EXPORTER": "carrier-pigeon"}) is False


def test_console_tracing_emits_spans() -> None:
    # In a child process: installing a tracer provider is global and one-shot.
    code = (
        "from subnetes.sdk.telemetry import setup_tracing, tracer\n"
        "from opentelemetry import trace\n"
        "assert setup_tracing('svc', {'OTEL_TRACES_EXPORTER': 'console'})\n"
        "with tracer.start_as_current_span('validator step'): pass\n"
        "trace.get_tracer_provider().shutdown()\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert '"name": "validator step"' in p.stdout


def test_backoff_delays_grow_and_cap() -> None:
    b = Backoff(base_s=0.5, factor=2, cap_s=4, jitter=0.0)
    assert [b.delay(i) for i in range(6)] == [0.5, 1, 2, 4, 4, 4]
    j = Backoff(base_s=1, jitter=0.2)
    assert j.delay(0, lambda: 0.0) == pytest.approx(0.8) and j.delay(
        0, lambda: 1.0
    ) == pytest.approx(1.2)
    assert b.delay(10_000) == 4


async def test_retry_until_success_and_stop() -> None:
    calls = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ChainUnavailable("down")
        return "ok"

    stop = asyncio.Event()
    assert await retry(flaky, stop, "x", Backoff(base_s=0.001)) == "ok" and len(calls) == 3

    async def down() -> None:
        raise ChainUnavailable("down")

    stop.set()
    with pytest.raises(Stopped):
        await retry(down, stop, "x", Backoff(base_s=10))

    async def refused() -> None:
        raise ChainRejected("SettingWeightsTooFast", "later")

    with pytest.raises(ChainRejected):  # refusals are not retried
        await retry(refused, asyncio.Event(), "x")


def test_service_rows_and_error_mapping() -> None:
    n = neuron_from_row(
        {
            "uid": 2,
            "hotkey": "h",
            "stake": 5,
            "validator_permit": True,
            "axon": {"ip": "127.64.0.3", "port": 8091, "block": 1},
            "last_update": 41,
            "weights_block": 40,
            "weights": [[1, 65535]],
            "incentive": 9,
            "dividends": 1,
            "emission": 3,
        }
    )
    assert n.axon.url == "http://127.64.0.3:8091" and n.weights_block == 40 and n.validator_permit
    fresh = neuron_from_row(
        {"uid": 3, "hotkey": "g", "axon": None, "last_update": 12, "weights_block": -1}
    )
    assert fresh.axon is None and fresh.weights_block == -1
    # a commit-reveal commit starts the rate limit before any weights are stored: the chain's
    # weights_block says so, last_update and an empty weights list do not
    committed = neuron_from_row(
        {
            "uid": 4,
            "hotkey": "c",
            "axon": None,
            "last_update": 12,
            "weights_block": 30,
            "weights": [],
        }
    )
    assert committed.weights_block == 30
    p = policy_from_hyperparameters(
        {"weights_rate_limit": 0, "weights_version_key": 4, "tempo": 10}
    )
    assert (p.weights_rate_limit, p.weights_version_key, p.tempo) == (0, 4, 10)
    assert isinstance(_translate(ServiceError("SettingWeightsTooFast", "x")), ChainRejected)
    assert isinstance(_translate(ServiceError("NotReady", "x")), ChainUnavailable)
    assert isinstance(_translate(httpx.ConnectError("refused")), ChainUnavailable)


async def test_unreachable_service_is_unavailable() -> None:
    from bittensor_wallet import Keypair

    chain = ServiceChain(f"http://127.0.0.1:{_free_port()}", Keypair.create_from_uri("//x"), 2.0)
    try:
        with pytest.raises(ChainUnavailable):
            await chain.metagraph(1)
        with pytest.raises(ChainUnavailable):
            await chain.set_weights(1, [1], [1], 0)
    finally:
        await chain.close()
