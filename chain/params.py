"""Chain configuration: global parameters, per-subnet hyperparameters, genesis profiles.

Every value is an integer (rao, blocks, counts, u16/u64 fractions) or a bool, so that the
configuration hashes canonically into the genesis hash.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from subnetes.wire import hyperparams
from subnetes.wire.hyperparams import Hyperparams

from .units import RAO_PER_TAO

DAY = 7200  # blocks per day at 12 s

# The hyperparameter table lives in the wire contract; these are the chain's views of it.
HYPERPARAM_RANGES: dict[str, tuple[int, int]] = hyperparams.RANGES  # bools are checked by type
# Root-only under hyperparameter_authority == "subtensor" (Subtensor's admin-utils split).
ROOT_ONLY_HYPERPARAMS = hyperparams.ROOT_ONLY
HYPERPARAM_NAMES = hyperparams.NAMES


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
    changes: dict[str, Any] = {name: value}
    new = replace(hp, **changes)
    for bound in hyperparams.BOUNDS:
        if (bound.always or name == bound.lower) and getattr(new, bound.lower) > getattr(
            new, bound.upper
        ):
            raise ValueError(bound.message())
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
    # Transaction fee (docs/specs/chain.md "Fees"): base + per byte of the extrinsic's canonical
    # JSON body, plus the optional tip; burned (issuance falls) when the extrinsic is applied.
    tx_fee_base: int = 100_000  # 0.0001 TAO
    tx_fee_per_byte: int = 100
    faucet_enabled: bool = False
    faucet_max: int = 0
    sudo_key: str | None = None
    hyperparameter_authority: str = "owner"  # "owner" | "subtensor"
    # Governance (docs/specs/chain.md "Governance"): the senate is the top ``senate_size`` root
    # validators by stake; a proposal stays open ``proposal_voting_period`` blocks; at most
    # ``max_proposals`` are open at once. Proposals may change these too.
    # Subtensor's values: SenateMaxMembers 12, motion duration 12 hours, MaxProposals 10.
    senate_size: int = 12
    proposal_voting_period: int = DAY // 2
    max_proposals: int = 10
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
        # No fees on dev networks: demos and tests count rao exactly (admission's other bounds
        # still apply). Override tx_fee_base / tx_fee_per_byte to try fees on a dev chain.
        tx_fee_base=0,
        tx_fee_per_byte=0,
        faucet_enabled=True,
        faucet_max=100_000 * RAO_PER_TAO,
        sudo_key=DEV_SUDO_SS58,
        proposal_voting_period=100,
        default_hyperparams=hp,
        balances=tuple((ss58, 1_000_000 * RAO_PER_TAO) for ss58 in DEV_ACCOUNTS.values()),
    )
    return replace(base, **overrides)


PROFILES: dict[str, Callable[..., ChainConfig]] = {"default": ChainConfig, "dev": dev_config}


def profile_config(name: str, **overrides: Any) -> ChainConfig:
    """A named genesis profile with overrides."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})")
    return replace(PROFILES[name](), **overrides)
