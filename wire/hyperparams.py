"""Subnet hyperparameters, declared once: the table every part of Subnetes reads.

Each field of ``Hyperparams`` is one row: its name (the chain's snake_case name), its type and
default (from the field itself) and, through ``hp()``, its unit, range, CRD field, who may set
it and whether consensus reads it. Everything else is derived from this table:

* the chain's checks (``subnetes.chain.params``: ranges, root-only set, ``check_hyperparam``);
* the Subnet CRD's ``spec.hyperparameters`` schema (``subnetes.operator.crds.subnet``);
* the operator's spec ↔ chain mapping (``subnetes.operator.hyperparams``);
* the consensus ``SubnetParams`` the chain builds and its defaults (``subnetes.chain.epoch``,
  ``subnetes.consensus.interface``);
* the SDK's ``WeightsPolicy`` defaults (``subnetes.sdk.chain``).

``tests/test_hyperparams_table.py`` proves they agree. Defaults follow docs/specs/chain.md
(Subtensor's defaults for a new subnet). Every value is an integer (rao, blocks, counts, u16/u64
fractions) or a bool, so the configuration hashes canonically into the genesis hash.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from .units import RAO_PER_TAO, U16_MAX, U64_MAX

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
MAX_UIDS = 4096  # the largest subnet this chain supports (Subtensor: 4096)


class Unit(StrEnum):
    """What a hyperparameter's integer counts; it picks the CRD field's shape."""

    FLAG = "flag"  # a bool
    BLOCKS = "blocks"  # a duration in blocks (7200 = one day at 12 s)
    EPOCHS = "epochs"
    COUNT = "count"  # UIDs, weights, registrations
    U16_FRACTION = "u16 fraction"  # 65535 = 1.0, as Subtensor stores fractions
    U64_FRACTION = "u64 fraction"  # 2**64 - 1 = 1.0
    PER_MILLION = "per million"  # 900000 = 0.9
    RAO = "rao"  # an amount; the CRD carries it as a TAO decimal string
    VERSION = "version"  # one of the range's values; the CRD lists them as an enum
    NUMBER = "number"  # a plain integer (a steepness, a version key)


class Setter(StrEnum):
    """Who may set a hyperparameter with sudo_set_hyperparameter."""

    OWNER = "owner"  # the subnet owner, under any hyperparameter_authority
    ROOT = "root"  # root only when hyperparameter_authority is "subtensor" (admin-utils split)


@dataclass(frozen=True)
class Hyperparam:
    """One row of the table (see the module docstring)."""

    name: str  # the chain's name, snake_case
    type: type  # int or bool
    default: int | bool
    unit: Unit
    range: tuple[int, int] | None  # inclusive (min, max) for ints; None for bools
    crd: str | None  # under Subnet spec.hyperparameters, e.g. "liquidAlpha.alphaLow"
    description: str  # the CRD field's description (`kubectl explain`)
    setter: Setter
    consensus: str | None  # the consensus SubnetParams field it feeds; None: consensus ignores it
    crd_minimum: int | None  # a stricter lower bound in the CRD than on chain (None: the same)
    crd_default: bool  # whether the CRD schema states the default (else unset keeps the chain's)

    @property
    def crd_range(self) -> tuple[int, int] | None:
        """The (min, max) the CRD admits (a TAO string's range is the chain's, in rao)."""
        if self.range is None:
            return None
        lo, hi = self.range
        return (lo if self.crd_minimum is None else self.crd_minimum, hi)

    @property
    def crd_group(self) -> str | None:
        """The nested spec group (``liquidAlpha``, ``commitReveal``), or None at top level."""
        if self.crd is None or "." not in self.crd:
            return None
        return self.crd.split(".", 1)[0]

    @property
    def crd_field(self) -> str | None:
        """The field name inside its group (or at top level)."""
        return None if self.crd is None else self.crd.rsplit(".", 1)[-1]


def hp(
    default: int | bool,
    unit: Unit,
    description: str,
    *,
    range: tuple[int, int] | None = None,
    crd: str | None,
    setter: Setter = Setter.OWNER,
    consensus: str | None = None,
    crd_minimum: int | None = None,
    crd_default: bool = False,
) -> Any:
    """A ``Hyperparams`` field: its default, with the rest of its row as field metadata."""
    row = {
        "unit": unit,
        "range": range,
        "crd": crd,
        "description": description,
        "setter": setter,
        "consensus": consensus,
        "crd_minimum": crd_minimum,
        "crd_default": crd_default,
    }
    return field(default=default, metadata={"hyperparam": row})


@dataclass(frozen=True)
class Hyperparams:
    """Per-subnet hyperparameters: the table (defaults: docs/specs/chain.md)."""

    tempo: int = hp(
        360, Unit.BLOCKS, "Blocks between epochs.",
        range=(0, 50_400), crd="tempo", setter=Setter.ROOT, consensus="tempo",
        crd_minimum=1,  # the chain also takes 0 (a subnet without epochs); a spec may not
    )  # fmt: skip
    rho: int = hp(
        10, Unit.NUMBER, "Steepness of the trust sigmoid.",
        range=(0, 1_000), crd="rho",
    )  # fmt: skip
    kappa: int = hp(
        32_767, Unit.U16_FRACTION,
        "Consensus majority threshold as a u16 fraction (32767 = 0.5): the stake-weighted "
        "median weight a miner keeps.",
        range=(0, U16_MAX), crd="kappa", setter=Setter.ROOT, consensus="kappa", crd_default=True,
    )  # fmt: skip
    immunity_period: int = hp(
        5000, Unit.BLOCKS, "Blocks after registration during which a neuron cannot be pruned.",
        range=(0, 1_000_000), crd="immunityPeriod",
    )  # fmt: skip
    max_allowed_uids: int = hp(
        256, Unit.COUNT, "Maximum number of neurons (UIDs) on the subnet.",
        range=(1, MAX_UIDS), crd="maxAllowedUids",
    )  # fmt: skip
    max_allowed_validators: int = hp(
        64, Unit.COUNT, "Maximum number of validator permits; at most maxAllowedUids.",
        range=(1, MAX_UIDS), crd="maxAllowedValidators", setter=Setter.ROOT,
        consensus="max_allowed_validators",
    )  # fmt: skip
    min_allowed_weights: int = hp(
        1, Unit.COUNT, "Minimum number of weights a validator must set.",
        range=(0, MAX_UIDS), crd="minAllowedWeights",
    )  # fmt: skip
    max_weight_limit: int = hp(
        U16_MAX, Unit.U16_FRACTION, "Largest single weight as a u16 fraction.",
        range=(0, U16_MAX), crd="maxWeightLimit",
    )  # fmt: skip
    weights_rate_limit: int = hp(
        100, Unit.BLOCKS, "Minimum blocks between two set_weights of one validator.",
        range=(0, 1_000_000), crd="weightsRateLimit", setter=Setter.ROOT,
    )  # fmt: skip
    weights_version_key: int = hp(
        0, Unit.NUMBER, "Weights version a validator must send.",
        range=(0, INT64_MAX), crd="weightsVersionKey",
    )  # fmt: skip
    activity_cutoff: int = hp(
        5000, Unit.BLOCKS, "Blocks without weights after which a validator counts as inactive.",
        range=(0, 1_000_000), crd="activityCutoff", consensus="activity_cutoff",
    )  # fmt: skip
    bonds_moving_average: int = hp(
        900_000, Unit.PER_MILLION, "Bonds EMA factor in parts per million (900000 = 0.9).",
        range=(0, 1_000_000), crd="bondsMovingAverage", consensus="bonds_moving_average",
    )  # fmt: skip
    bonds_penalty: int = hp(
        U16_MAX, Unit.U16_FRACTION,
        "Penalty on bonds to weights cut by consensus, as a u16 fraction.",
        range=(0, U16_MAX), crd="bondsPenalty", consensus="bonds_penalty",
    )  # fmt: skip
    liquid_alpha_enabled: bool = hp(
        False, Unit.FLAG, "Use liquid alpha.",
        crd="liquidAlpha.enabled", consensus="liquid_alpha_enabled", crd_default=True,
    )  # fmt: skip
    alpha_low: int = hp(
        45_875, Unit.U16_FRACTION, "Lower alpha bound as a u16 fraction.",  # 0.7
        range=(0, U16_MAX), crd="liquidAlpha.alphaLow", consensus="alpha_low", crd_default=True,
    )  # fmt: skip
    alpha_high: int = hp(
        58_982, Unit.U16_FRACTION, "Upper alpha bound as a u16 fraction.",  # 0.9
        range=(0, U16_MAX), crd="liquidAlpha.alphaHigh", consensus="alpha_high",
        crd_default=True,
    )  # fmt: skip
    alpha_sigmoid_steepness: int = hp(
        1000, Unit.NUMBER, "Steepness of the sigmoid mapping consensus to alpha.",
        range=(0, 32_767), crd="liquidAlpha.sigmoidSteepness",
        consensus="alpha_sigmoid_steepness",
    )  # fmt: skip
    yuma_version: int = hp(
        2, Unit.VERSION, "Yuma consensus version: 2 (classic) or 3 (Yuma 3 bonds).",
        range=(2, 3), crd="yumaVersion", consensus="yuma_version",
    )  # fmt: skip
    min_burn: int = hp(
        500_000, Unit.RAO, "Lowest registration burn the chain may ask.",
        range=(0, 1_000_000 * RAO_PER_TAO), crd="minBurn",
    )  # fmt: skip
    max_burn: int = hp(
        100 * RAO_PER_TAO, Unit.RAO, "Highest registration burn the chain may ask.",
        range=(0, 1_000_000 * RAO_PER_TAO), crd="maxBurn",
    )  # fmt: skip
    target_registrations_per_interval: int = hp(
        1, Unit.COUNT, "Registrations per adjustment interval the burn adjusts towards.",
        range=(0, MAX_UIDS), crd="targetRegistrationsPerInterval", setter=Setter.ROOT,
    )  # fmt: skip
    adjustment_interval: int = hp(
        360, Unit.BLOCKS, "Blocks between burn adjustments.",
        range=(1, 1_000_000), crd="adjustmentInterval", setter=Setter.ROOT,
    )  # fmt: skip
    adjustment_alpha: int = hp(
        17_893_341_751_498_265_066, Unit.U64_FRACTION,  # 0.97
        "Weight of the previous burn in each burn adjustment, as a u64 fraction.",
        range=(0, U64_MAX), crd=None,  # a u64 does not fit a CRD integer (int64)
    )  # fmt: skip
    serving_rate_limit: int = hp(
        50, Unit.BLOCKS, "Minimum blocks between two serve_axon.",
        range=(0, 1_000_000), crd="servingRateLimit",
    )  # fmt: skip
    registration_allowed: bool = hp(
        True, Unit.FLAG, "Whether neurons may register.",
        crd="registrationAllowed", setter=Setter.ROOT,
    )  # fmt: skip
    max_registrations_per_block: int = hp(
        1, Unit.COUNT, "Registrations accepted in one block.",
        range=(0, MAX_UIDS), crd="maxRegistrationsPerBlock", setter=Setter.ROOT,
    )  # fmt: skip
    commit_reveal_enabled: bool = hp(
        False, Unit.FLAG, "Require commit-reveal for weights.",
        crd="commitReveal.enabled",
    )  # fmt: skip
    reveal_period_epochs: int = hp(
        1, Unit.EPOCHS, "Epochs between commit and reveal.",
        range=(1, 100), crd="commitReveal.revealPeriodEpochs",
    )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The hyperparameters as a JSON object keyed by chain name."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hyperparams:
        """The inverse of ``to_json`` (missing names keep their defaults)."""
        return cls(**data)


def _row(f: dataclasses.Field[Any]) -> Hyperparam:
    meta = f.metadata["hyperparam"]
    default = f.default
    assert isinstance(default, int)  # bool is an int too
    return Hyperparam(name=f.name, type=type(default), default=default, **meta)


HYPERPARAMS: tuple[Hyperparam, ...] = tuple(_row(f) for f in fields(Hyperparams))
BY_NAME: dict[str, Hyperparam] = {h.name: h for h in HYPERPARAMS}
BY_CRD: dict[str, Hyperparam] = {h.crd: h for h in HYPERPARAMS if h.crd is not None}
NAMES: tuple[str, ...] = tuple(BY_NAME)
ROOT_ONLY: frozenset[str] = frozenset(h.name for h in HYPERPARAMS if h.setter is Setter.ROOT)
RANGES: dict[str, tuple[int, int]] = {h.name: h.range for h in HYPERPARAMS if h.range is not None}


@dataclass(frozen=True)
class Bound:
    """``lower`` must not exceed ``upper`` (both hyperparameter names)."""

    lower: str
    upper: str
    # The chain checks the pair on every set; False: only when ``lower`` is set (Subtensor lets
    # max_allowed_uids drop below max_allowed_validators).
    always: bool = True

    def message(self) -> str:
        """The chain's error text when the bound is broken."""
        return f"{self.lower} must not exceed {self.upper}"


# Pairs the chain and the CRD both check. Setting ``upper`` before ``lower`` keeps every
# intermediate state valid, so the operator raises limits first.
BOUNDS: tuple[Bound, ...] = (
    Bound("max_allowed_validators", "max_allowed_uids", always=False),
    Bound("min_burn", "max_burn"),
    Bound("alpha_low", "alpha_high"),
)


def consensus_params(values: Hyperparams) -> dict[str, int | bool]:
    """The values consensus reads, keyed by their ``SubnetParams`` field names."""
    return {h.consensus: getattr(values, h.name) for h in HYPERPARAMS if h.consensus is not None}
