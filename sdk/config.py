"""Workload configuration from the environment the operator gives miner and validator pods.

Required: SUBNETES_CHAIN_ENDPOINT, SUBNETES_NETUID, SUBNETES_HOTKEY_PATH (the mounted btcli
hotkey file); miners also need SUBNETES_AXON_PORT. Optional: SUBNETES_AXON_IP (the pod IP;
default 127.0.0.1), SUBNETES_METRICS_PORT (Prometheus; unset or 0 = off), SUBNETES_METRICS_IP
(default: the axon IP), SUBNETES_HEALTH_PORT (validators: /healthz and /readyz for kubelet probes;
unset or 0 = off), SUBNETES_HEALTH_IP (default: the axon IP), SUBNETES_LOG_LEVEL (default INFO),
SUBNETES_LOG_FORMAT (json | text).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOTKEY_PATH = "/var/run/subnetes/hotkey/hotkey"
DEFAULT_AXON_IP = "127.0.0.1"


class ConfigError(ValueError):
    """A missing or malformed environment variable; the message names it."""


@dataclass(frozen=True)
class WorkloadConfig:
    """Where the chain is, which subnet, which hotkey, and where to serve."""

    chain_endpoint: str
    netuid: int
    hotkey_path: Path
    axon_ip: str = DEFAULT_AXON_IP
    axon_port: int | None = None
    metrics_ip: str = DEFAULT_AXON_IP
    metrics_port: int | None = None
    health_ip: str = DEFAULT_AXON_IP
    health_port: int | None = None
    log_level: str = "INFO"
    log_format: str = "json"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, require_axon: bool = False
    ) -> WorkloadConfig:
        """Read the configuration; raise ConfigError naming the first bad or missing variable."""
        env = os.environ if env is None else env
        endpoint = _required(env, "SUBNETES_CHAIN_ENDPOINT")
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"SUBNETES_CHAIN_ENDPOINT must be an http(s) URL, got {endpoint!r}")
        netuid = _int(env, "SUBNETES_NETUID", _required(env, "SUBNETES_NETUID"), 0, 65535)
        hotkey_path = Path(env.get("SUBNETES_HOTKEY_PATH") or DEFAULT_HOTKEY_PATH)
        if "SUBNETES_HOTKEY_PATH" not in env and not hotkey_path.exists():
            raise ConfigError(
                f"SUBNETES_HOTKEY_PATH is not set and the default {DEFAULT_HOTKEY_PATH} is missing"
            )
        axon_ip = _ip(env, "SUBNETES_AXON_IP", env.get("SUBNETES_AXON_IP") or DEFAULT_AXON_IP)
        raw_port = env.get("SUBNETES_AXON_PORT", "")
        if require_axon and not raw_port:
            raise ConfigError("SUBNETES_AXON_PORT is not set (a miner must serve an axon)")
        axon_port = _int(env, "SUBNETES_AXON_PORT", raw_port, 1, 65535) if raw_port else None
        raw_mport = env.get("SUBNETES_METRICS_PORT", "")
        metrics_port = _int(env, "SUBNETES_METRICS_PORT", raw_mport, 0, 65535) if raw_mport else 0
        metrics_ip = _ip(env, "SUBNETES_METRICS_IP", env.get("SUBNETES_METRICS_IP") or axon_ip)
        raw_hport = env.get("SUBNETES_HEALTH_PORT", "")
        health_port = _int(env, "SUBNETES_HEALTH_PORT", raw_hport, 0, 65535) if raw_hport else 0
        health_ip = _ip(env, "SUBNETES_HEALTH_IP", env.get("SUBNETES_HEALTH_IP") or axon_ip)
        log_format = env.get("SUBNETES_LOG_FORMAT", "json")
        if log_format not in ("json", "text"):
            raise ConfigError(f"SUBNETES_LOG_FORMAT must be json or text, got {log_format!r}")
        return cls(
            chain_endpoint=endpoint.rstrip("/"),
            netuid=netuid,
            hotkey_path=hotkey_path,
            axon_ip=axon_ip,
            axon_port=axon_port,
            metrics_ip=metrics_ip,
            metrics_port=metrics_port or None,
            health_ip=health_ip,
            health_port=health_port or None,
            log_level=env.get("SUBNETES_LOG_LEVEL", "INFO").upper(),
            log_format=log_format,
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


def _int(env: Mapping[str, str], name: str, raw: str, lo: int, hi: int) -> int:
    try:
        v = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= v <= hi:
        raise ConfigError(f"{name} must be in {lo}..{hi}, got {v}")
    return v


def _ip(env: Mapping[str, str], name: str, raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise ConfigError(f"{name} must be an IP address, got {raw!r}") from None


def env_float(env: Mapping[str, str], name: str, default: float, lo: float = 0.0) -> float:
    """An optional float variable (workload-specific knobs), with a clear error when malformed."""
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        v = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not v >= lo:
        raise ConfigError(f"{name} must be >= {lo}, got {v}")
    return v


def env_int(env: Mapping[str, str], name: str, default: int, lo: int = 0, hi: int = 2**31) -> int:
    """An optional integer variable, with a clear error when malformed or out of range."""
    raw = env.get(name, "")
    return _int(env, name, raw, lo, hi) if raw else default
