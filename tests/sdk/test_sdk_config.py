"""Workload configuration from the pod environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from subnetes.sdk.config import ConfigError, WorkloadConfig, env_float, env_int

BASE = {
    "SUBNETES_CHAIN_ENDPOINT": "http://127.0.0.1:9944/",
    "SUBNETES_NETUID": "3",
    "SUBNETES_HOTKEY_PATH": "/tmp/hk",
}


def test_full_config() -> None:
    c = WorkloadConfig.from_env(
        {
            **BASE,
            "SUBNETES_AXON_PORT": "8091",
            "SUBNETES_AXON_IP": "127.64.0.7",
            "SUBNETES_METRICS_PORT": "9100",
            "SUBNETES_LOG_LEVEL": "debug",
        },
        require_axon=True,
    )
    assert c.chain_endpoint == "http://127.0.0.1:9944" and c.netuid == 3
    assert c.hotkey_path == Path("/tmp/hk")
    assert (c.axon_ip, c.axon_port) == ("127.64.0.7", 8091)
    assert (c.metrics_ip, c.metrics_port) == ("127.64.0.7", 9100)  # metrics follow the axon IP
    assert c.log_level == "DEBUG" and c.log_format == "json"


def test_defaults_bind_loopback() -> None:
    c = WorkloadConfig.from_env(BASE)
    assert c.axon_ip == "127.0.0.1" and c.axon_port is None and c.metrics_port is None


@pytest.mark.parametrize("missing", ["SUBNETES_CHAIN_ENDPOINT", "SUBNETES_NETUID"])
def test_missing_variable_is_named(missing: str) -> None:
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        WorkloadConfig.from_env(env)


def test_missing_hotkey_path_is_named_when_default_absent() -> None:
    env = {k: v for k, v in BASE.items() if k != "SUBNETES_HOTKEY_PATH"}
    with pytest.raises(ConfigError, match="SUBNETES_HOTKEY_PATH"):
        WorkloadConfig.from_env(env)


def test_miner_needs_axon_port() -> None:
    with pytest.raises(ConfigError, match="SUBNETES_AXON_PORT"):
        WorkloadConfig.from_env(BASE, require_axon=True)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("SUBNETES_NETUID", "x"),
        ("SUBNETES_NETUID", "70000"),
        ("SUBNETES_AXON_PORT", "0"),
        ("SUBNETES_AXON_IP", "pod-ip"),
        ("SUBNETES_CHAIN_ENDPOINT", "ws://x"),
        ("SUBNETES_LOG_FORMAT", "xml"),
        ("SUBNETES_METRICS_PORT", "-1"),
    ],
)
def test_bad_values_are_named(var: str, value: str) -> None:
    with pytest.raises(ConfigError, match=var):
        WorkloadConfig.from_env({**BASE, var: value})


def test_optional_numbers() -> None:
    assert env_float({}, "X", 1.5) == 1.5 and env_float({"X": "2"}, "X", 1.5) == 2.0
    assert env_int({"X": "7"}, "X", 1) == 7
    with pytest.raises(ConfigError, match="X"):
        env_float({"X": "-1"}, "X", 1.0)
    with pytest.raises(ConfigError, match="X"):
        env_int({"X": "a"}, "X", 1)
