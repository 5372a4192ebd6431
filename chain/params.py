"""Chain configuration: global parameters, per-subnet hyperparameters, genesis profiles.

Every value is an integer (rao, blocks, counts, u16/u64 fractions) or a bool, so that the
configuration hashes canonically into the genesis hash.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .units import RAO_PER_TAO, U16_MAX, U64_MAX

DAY = 7200  # blocks per day at 12 s

# (min, max) for integer hyperparameters; bools are checked by type.
HYPERPARAM_RANGES: dict[str, tuple[int, int]] = {
    "tempo": (0, 50_400),
    "rho": (0, 1_000),
    "kappa": (0, U16_MAX),
    "immunity_period": (0, 1_000_000),
    "max_allowed_uids": (1, 4096),
    "max_allowed_validators": (1, 4096),
    "min_allowed_weights": (0, 4096),
    "max_weight_limit": (0, U16_MAX),
    "weights_rate_limit": (0, 1_000_000),
    "weights_version_key": (0, 2**63 - 1),
    "activity_cutoff": (0, 1_000_000),
    "bonds_moving_average": (0, 1_000_000),
    "bonds_penalty": (0, U16_MAX),
    "alpha_low": (0, U16_MAX),
    "alpha_high": (0, U16_MAX),
    "alpha_sigmoid_steepness": (0, 32_767),
    "yuma_version": (2, 3),
    "min_burn": (0, 1_000_000 * RAO_PER_TAO),
    "max_burn": (0, 1_000_000 * RAO_PER_TAO),
    "target_registrations_per_interval": (0, 4096),
    "adjustment_interval": (1, 1_000_000),
    "adjustment_alpha": (0, U64_MAX),
    "serving_rate_limit": (0, 1_000_000),
    "max_registrations_per_block": (0, 4096),
    "reveal_period_epochs": (1, 100),
}

# Root-only under hyperparameter_authority == "subtensor" (Subtensor's admin-utils split).
ROOT_ONLY_HYPERPARAMS = frozenset(
    {
        "tempo",
        "kappa",
        "max_allowed_validators",
        "weights_rate_limit",
        "adjustment_interval",
        "target_registrations_per_interval",
        "max_registrations_per_block",
        "registration_allowed",
    }
)


@dataclass(frozen=True)
class Hyperparams:
    """Per-subnet hyperparameters (defaults: docs/specs/chain.md)."""

    tempo: int = 360
    rho: int = 10
    kappa: int = 32_767
    immunity_period: int = 5000
    max_allowed_uids: int = 256
    max_allowed_validators: int = 64
    min_allowed_weights: int = 1
    max_weight_limit: int = U16_MAX
    weights_rate_limit: int = 100
    weights_version_key: int = 0
    activity_cutoff: int = 5000
    bonds_moving_average: int = 900_000
    bonds_penalty: int = U16_MAX
    liquid_alpha_enabled: bool = False
    alpha_low: int = 45_875
    alpha_high: int = 58_982
    alpha_sigmoid_steepness: int = 1000
    yuma_version: int = 2
    min_burn: int = 500_000
    max_burn: int = 100 * RAO_PER_TAO
    target_registrations_per_interval: int = 1
    adjustment_interval: int = 360
    adjustment_alpha: int = 17_893_341_751_498_265_066  # 0.97 as a u64 fraction
    serving_rate_limit: int = 50
    registration_allowed: bool = True
    max_registrations_per_block: int = 1
    commit_reveal_enabled: bool = False
    reveal_period_epochs: int = 1

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hyperparams:
        return cls(**data)


HYPERPARAM_NAMES = tuple(f.name for f in fields(Hyperparams))


def check_hyperparam(hp: Hyperparams, name: str, value: object) -> Hyperparams:
    """Return ``hp`` with ``name`` set to ``value``, or raise ValueError naming the rule broken."""
    if name not in HYPERPARAM_NAMES:
        raise ValueError(f"unknown hyperparameter {name!r}")
    current = getattr(hp, name)
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} takes a boolean")
    else:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} takes an integer")
        lo, hi = HYPERPARAM_RANGES[name]
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
    new = replace(hp, **{name: value})
    if new.min_burn > new.max_burn:
        raise ValueError("min_burn must not exceed max_burn")
    if new.alpha_low > new.alpha_high:
        raise ValueError("alpha_low must not exceed alpha_high")
    if name == "max_allowed_validators" and new.max_allowed_validators > new.max_allowed_uids:
        raise ValueError("max_allowed_validators must not exceed max_allowed_uids")
    return new


@dataclass(frozen=True)
class ChainConfig:
    """Global chain parameters and genesis contents."""

    profile: str = "default"
    chain_name: str = "subnetes"
    block_time_ms: int = 12_000
    genesis_time_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    subnet_limit: int = 32
    network_min_lock: int = 100 * RAO_PER_TAO
    network_lock_reduction_interval: int = 14 * DAY
    network_rate_limit: int = DAY
    network_immunity_period: int = 7 * DAY
    subnet_owner_cut: int = 11_796
    default_take: int = 11_796
    max_take: int = 11_796
    take_rate_limit: int = 216_000
    root_tempo: int = 100
    root_max_uids: int = 64
    root_kappa: int = 32_767
    root_rho: int = 10
    root_weights_rate_limit: int = 100
    stake_threshold: int = 0
    initial_burn: int = RAO_PER_TAO
    max_extrinsics_per_block: int = 1024
    faucet_enabled: bool = False
    faucet_max: int = 0
    sudo_key: str | None = None
    hyperparameter_authority: str = "owner"  # "owner" | "subtensor"
    default_hyperparams: Hyperparams = field(default_factory=Hyperparams)
    balances: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["balances"] = [list(b) for b in self.balances]
        return d

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChainConfig:
        d = dict(data)
        d["default_hyperparams"] = Hyperparams.from_json(d.get("default_hyperparams", {}))
        d["balances"] = tuple((str(a), int(b)) for a, b in d.get("balances", ()))
        return cls(**d)


# Well-known dev accounts (Substrate's //Alice, //Bob, ...); //Alice is the dev sudo key.
DEV_SUDO_URI = "//Alice"
DEV_SUDO_SS58 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
DEV_ACCOUNTS = {
    "//Alice": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
    "//Bob": "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
}


def dev_config(**overrides: Any) -> ChainConfig:
    """The ``dev`` genesis profile (interfaces.md): fast blocks, tempo 10, faucet, sudo //Alice."""
    hp = Hyperparams(
        tempo=10,
        immunity_period=20,
        weights_rate_limit=0,
        activity_cutoff=5000,
        min_burn=1_000_000,  # 0.001 TAO
        max_burn=100 * RAO_PER_TAO,
        target_registrations_per_interval=32,
        adjustment_interval=100,
        max_registrations_per_block=64,
        serving_rate_limit=0,
    )
    base = ChainConfig(
        profile="dev",
        chain_name="subnetes-dev",
        block_time_ms=250,
        subnet_limit=8,
        network_min_lock=10 * RAO_PER_TAO,
        network_lock_reduction_interval=100,
        network_rate_limit=0,
        network_immunity_period=100,
        take_rate_limit=0,
        root_tempo=10,
        root_weights_rate_limit=0,
        initial_burn=10_000_000,  # 0.01 TAO
        faucet_enabled=True,
        faucet_max=100_000 * RAO_PER_TAO,
        sudo_key=DEV_SUDO_SS58,
        default_hyperparams=hp,
        balances=tuple((ss58, 1_000_000 * RAO_PER_TAO) for ss58 in DEV_ACCOUNTS.values()),
    )
    return replace(base, **overrides)


PROFILES = {"default": ChainConfig, "dev": dev_config}


def profile_config(name: str, **overrides: Any) -> ChainConfig:
    """A named genesis profile with overrides."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})")
    return replace(PROFILES[name](), **overrides)
