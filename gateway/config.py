"""The gateway's configuration from the environment (the operator sets it from ``spec.gateway``).

The SDK's SUBNETES_CHAIN_ENDPOINT, SUBNETES_NETUID and SUBNETES_HOTKEY_PATH (the gateway signs
its queries to miners with that hotkey, which must hold a validator permit on the subnet, as
for any validator) plus:

=================================  ===================================================  =========
variable                           meaning                                              default
=================================  ===================================================  =========
SUBNETES_GATEWAY_IP / _PORT        where the gateway listens                            127.0.0.1 / 8080
SUBNETES_GATEWAY_KEYS_PATH         API keys file (YAML, from a Secret; see auth.py)     /var/run/subnetes/gateway-keys/keys.yaml
SUBNETES_GATEWAY_RATE / _BURST     default per-key requests/s and bucket size           10 / 20
SUBNETES_GATEWAY_QUOTA / _PERIOD   default per-key requests per period (0: unlimited)   0 / 86400
SUBNETES_GATEWAY_CAPABILITIES      comma-separated capabilities served                  matmul
SUBNETES_GATEWAY_POLICY            routing: ``incentive`` or ``health``                  incentive
SUBNETES_GATEWAY_DEADLINE          seconds before a request answers 504                 10
SUBNETES_GATEWAY_RETRIES           further miners tried after a failure                 2
SUBNETES_GATEWAY_HEDGE_AFTER       seconds before a second miner is asked (0: never)    0.5
SUBNETES_GATEWAY_MAX_BODY          largest request body in bytes                        65536
SUBNETES_GATEWAY_REFRESH           seconds between full metagraph re-reads              30
SUBNETES_COMPUTE_MAX_DIM           largest m, k or n (matmul)                           1024
SUBNETES_COMPUTE_ROUNDS            Freivalds rounds per check (matmul)                  20
SUBNETES_LINSOLVE_MAX_N            largest n (linsolve)                                 1024
SUBNETES_LINSOLVE_ROUNDS           residual projections per check (linsolve)            20
=================================  ===================================================  =========
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from subnetes.sdk.config import ConfigError, WorkloadConfig, env_float, env_int

from .auth import Limits
from .dispatch import DispatchPolicy
from .pool import RoutingPolicy

DEFAULT_KEYS_PATH = "/var/run/subnetes/gateway-keys/keys.yaml"
DEFAULT_PORT = 8080


@dataclass(frozen=True)
class GatewaySettings:
    """Everything a gateway process needs to know."""

    chain_endpoint: str
    netuid: int
    hotkey_path: Path
    ip: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    keys_path: Path = Path(DEFAULT_KEYS_PATH)
    limits: Limits = field(default_factory=Limits)
    capabilities: tuple[str, ...] = ("matmul",)
    routing: RoutingPolicy = field(default_factory=RoutingPolicy)
    dispatch: DispatchPolicy = field(default_factory=DispatchPolicy)
    max_body_bytes: int = 65536
    refresh_s: float = 30.0
    max_dim: int = 1024
    rounds: int = 20
    linsolve_max_n: int = 1024
    linsolve_rounds: int = 20

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewaySettings:
        """Read the settings; ConfigError naming the first bad variable."""
        env = os.environ if env is None else env
        base = WorkloadConfig.from_env(
            {**env, "SUBNETES_AXON_IP": env.get("SUBNETES_GATEWAY_IP", "127.0.0.1")}
        )
        hedge = env_float(env, "SUBNETES_GATEWAY_HEDGE_AFTER", 0.5)
        caps = tuple(
            c.strip() for c in env.get("SUBNETES_GATEWAY_CAPABILITIES", "matmul").split(",")
        )
        if not all(caps):
            raise ConfigError("SUBNETES_GATEWAY_CAPABILITIES must be a comma-separated list")
        try:
            limits = Limits(
                rate_per_s=env_float(env, "SUBNETES_GATEWAY_RATE", 10.0, lo=0.001),
                burst=env_int(env, "SUBNETES_GATEWAY_BURST", 20, 1),
                quota=env_int(env, "SUBNETES_GATEWAY_QUOTA", 0, 0),
                quota_period_s=env_float(env, "SUBNETES_GATEWAY_QUOTA_PERIOD", 86400.0, lo=1.0),
            )
            routing = RoutingPolicy(mode=env.get("SUBNETES_GATEWAY_POLICY", "incentive"))
            dispatch = DispatchPolicy(
                deadline_s=env_float(env, "SUBNETES_GATEWAY_DEADLINE", 10.0, lo=0.01),
                retries=env_int(env, "SUBNETES_GATEWAY_RETRIES", 2, 0, 16),
                hedge_after_s=hedge or None,
            )
        except ValueError as e:
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(f"gateway settings: {e}") from None
        return cls(
            chain_endpoint=base.chain_endpoint,
            netuid=base.netuid,
            hotkey_path=base.hotkey_path,
            ip=base.axon_ip,
            port=env_int(env, "SUBNETES_GATEWAY_PORT", DEFAULT_PORT, 0, 65535),
            keys_path=Path(env.get("SUBNETES_GATEWAY_KEYS_PATH") or DEFAULT_KEYS_PATH),
            limits=limits,
            capabilities=caps,
            routing=routing,
            dispatch=dispatch,
            max_body_bytes=env_int(env, "SUBNETES_GATEWAY_MAX_BODY", 65536, 64, 1 << 24),
            refresh_s=env_float(env, "SUBNETES_GATEWAY_REFRESH", 30.0, lo=0.1),
            max_dim=env_int(env, "SUBNETES_COMPUTE_MAX_DIM", 1024, 1, 16384),
            rounds=env_int(env, "SUBNETES_COMPUTE_ROUNDS", 20, 1, 64),
            linsolve_max_n=env_int(env, "SUBNETES_LINSOLVE_MAX_N", 1024, 1, 4096),
            linsolve_rounds=env_int(env, "SUBNETES_LINSOLVE_ROUNDS", 20, 1, 64),
        )
