"""The Subnet kind: a subnet registered on chain with its owner keys and hyperparameters.

Hyperparameters left unset keep the chain's value for new subnets (so a dev network keeps its
short dev defaults); only kappa and the liquid-alpha bounds, which every network shares, have
schema defaults. Ranges mirror the chain's (subnetes.chain.params.HYPERPARAM_RANGES).
"""

from __future__ import annotations

from .common import (
    block_number,
    blocks,
    conditions,
    fraction_status,
    name_rule,
    observed_generation,
    phase,
    secret_ref,
    ss58,
    tao,
    tao_status,
    u16,
    write_once_ref,
)
from .definition import AGE, Column, Kind
from .schema import Schema, boolean, immutable, integer, obj, rule, string

DEFAULT_KAPPA = 32_767  # 0.5 as a u16 fraction
DEFAULT_ALPHA_LOW = 45_875  # 0.7
DEFAULT_ALPHA_HIGH = 58_982  # 0.9
MAX_UIDS = 4096


def both_or_ok(a: str, b: str, check: str) -> str:
    """CEL: ``check`` holds whenever both optional fields ``a`` and ``b`` are set."""
    return f"!has(self.{a}) || !has(self.{b}) || {check}"


def liquid_alpha() -> Schema:
    """``spec.hyperparameters.liquidAlpha``: per-bond alpha between low and high (u16)."""
    return obj(
        "Liquid alpha: a per-bond EMA alpha between alphaLow and alphaHigh instead of the fixed "
        "bondsMovingAverage.",
        {
            "enabled": boolean("Use liquid alpha.", default=False),
            "alphaLow": u16("Lower alpha bound as a u16 fraction.", default=DEFAULT_ALPHA_LOW),
            "alphaHigh": u16("Upper alpha bound as a u16 fraction.", default=DEFAULT_ALPHA_HIGH),
            "sigmoidSteepness": integer(
                "Steepness of the sigmoid mapping consensus to alpha.", minimum=0, maximum=32767
            ),
        },
        rules=[
            rule(
                "self.alphaLow <= self.alphaHigh",
                "alphaLow must not exceed alphaHigh",
                field_path=".alphaLow",
            )
        ],
    )


def commit_reveal() -> Schema:
    """``spec.hyperparameters.commitReveal``: weights are committed, then revealed later."""
    return obj(
        "Commit-reveal of weights: validators commit a hash and reveal the weights later, so "
        "copying weights does not pay.",
        {
            "enabled": boolean("Require commit-reveal for weights."),
            "revealPeriodEpochs": integer(
                "Epochs between commit and reveal.", minimum=1, maximum=100
            ),
        },
    )


def hyperparameters() -> Schema:
    """``spec.hyperparameters``: pushed to the chain whenever the spec drifts from it."""
    return obj(
        "Subnet hyperparameters, pushed to the chain with the owner key whenever they differ from "
        "it. Unset fields keep the chain's value. Fractions are u16 integers (65535 = 1.0), as "
        "Subtensor stores them.",
        {
            "tempo": blocks("Blocks between epochs.", minimum=1, maximum=50_400),
            "rho": integer("Steepness of the trust sigmoid.", minimum=0, maximum=1000),
            "kappa": u16(
                "Consensus majority threshold as a u16 fraction (32767 = 0.5): the stake-weighted "
                "median weight a miner keeps.",
                default=DEFAULT_KAPPA,
            ),
            "immunityPeriod": blocks(
                "Blocks after registration during which a neuron cannot be pruned.",
                maximum=1_000_000,
            ),
            "maxAllowedUids": integer(
                "Maximum number of neurons (UIDs) on the subnet.", minimum=1, maximum=MAX_UIDS
            ),
            "maxAllowedValidators": integer(
                "Maximum number of validator permits; at most maxAllowedUids.",
                minimum=1,
                maximum=MAX_UIDS,
            ),
            "minAllowedWeights": integer(
                "Minimum number of weights a validator must set.", minimum=0, maximum=MAX_UIDS
            ),
            "maxWeightLimit": u16("Largest single weight as a u16 fraction."),
            "weightsRateLimit": blocks(
                "Minimum blocks between two set_weights of one validator.", maximum=1_000_000
            ),
            "weightsVersionKey": integer(
                "Weights version a validator must send.", minimum=0, wide=True
            ),
            "activityCutoff": blocks(
                "Blocks without weights after which a validator counts as inactive.",
                maximum=1_000_000,
            ),
            "bondsMovingAverage": integer(
                "Bonds EMA factor in parts per million (900000 = 0.9).",
                minimum=0,
                maximum=1_000_000,
            ),
            "bondsPenalty": u16("Penalty on bonds to weights cut by consensus, as a u16 fraction."),
            "liquidAlpha": liquid_alpha(),
            "yumaVersion": integer(
                "Yuma consensus version: 2 (classic) or 3 (Yuma 3 bonds).", enum=[2, 3]
            ),
            "minBurn": tao("Lowest registration burn the chain may ask."),
            "maxBurn": tao("Highest registration burn the chain may ask."),
            "targetRegistrationsPerInterval": integer(
                "Registrations per adjustment interval the burn adjusts towards.",
                minimum=0,
                maximum=MAX_UIDS,
            ),
            "adjustmentInterval": blocks(
                "Blocks between burn adjustments.", minimum=1, maximum=1_000_000
            ),
            "maxRegistrationsPerBlock": integer(
                "Registrations accepted in one block.", minimum=0, maximum=MAX_UIDS
            ),
            "registrationAllowed": boolean("Whether neurons may register."),
            "servingRateLimit": blocks("Minimum blocks between two serve_axon.", maximum=1_000_000),
            "commitReveal": commit_reveal(),
        },
        default={},
        rules=[
            rule(
                both_or_ok(
                    "maxAllowedValidators",
                    "maxAllowedUids",
                    "self.maxAllowedValidators <= self.maxAllowedUids",
                ),
                "maxAllowedValidators must not exceed maxAllowedUids",
                field_path=".maxAllowedValidators",
            ),
            rule(
                both_or_ok("minBurn", "maxBurn", "double(self.minBurn) <= double(self.maxBurn)"),
                "minBurn must not exceed maxBurn",
                field_path=".minBurn",
            ),
        ],
    )


def spec() -> Schema:
    """``Subnet.spec``."""
    return obj(
        "Desired state of the subnet.",
        {
            "ownerColdkeySecretRef": secret_ref(
                "Secret holding the owner coldkey that pays the lock cost and owns the subnet. "
                "Immutable.",
                "data key `coldkey` holds the btcli coldkey file, `password` its password "
                "(an unencrypted coldkey JSON needs none).",
            )
            | {"x-kubernetes-validations": [immutable("ownerColdkeySecretRef")]},
            "ownerHotkeySecretRef": secret_ref(
                "Secret holding the owner hotkey (it gets UID 0 and is never pruned). Optional: "
                "when unset the operator creates one in a Secret it owns. Immutable once set.",
                "data key `hotkey` holds the btcli hotkey file (JSON).",
            ),
            "hyperparameters": hyperparameters(),
            "registration": obj(
                "Limits on registering the subnet.",
                {
                    "maxLockCost": tao(
                        "Highest lock cost the operator may pay to register the subnet; while "
                        "the chain asks more it waits and reports Stalled with reason "
                        "LockCostAboveLimit. Unset: no limit."
                    )
                },
                default={},
            ),
            "deletionPolicy": string(
                "What deleting this resource does on chain. Wait: deletion waits (condition "
                "Ready=False, reason NeuronsRemaining) until no Miner or Validator references the "
                "subnet, then dissolves it. Dissolve: dissolves the subnet right away; its "
                "neurons go Deregistered. Retain: leaves the subnet on chain and only removes "
                "the resource.",
                enum=["Wait", "Dissolve", "Retain"],
                default="Wait",
            ),
        },
        required=["ownerColdkeySecretRef"],
        rules=[write_once_ref("ownerHotkeySecretRef")],
    )


def status() -> Schema:
    """``Subnet.status``."""
    return obj(
        "Observed state of the subnet, from the chain.",
        {
            "observedGeneration": observed_generation(),
            "conditions": conditions(),
            "phase": phase("Lifecycle of the subnet's registration."),
            "netuid": u16("Netuid the chain assigned."),
            "ownerColdkey": ss58("SS58 address of the owner coldkey."),
            "ownerHotkey": ss58("SS58 address of the owner hotkey (UID 0)."),
            "ownerHotkeySecretName": string(
                "Secret holding the owner hotkey: spec.ownerHotkeySecretRef.name or the one the "
                "operator created.",
                max_length=253,
            ),
            "registeredBlock": block_number("Block in which the subnet was registered."),
            "immunityEnd": block_number("Last block of the subnet's immunity from pruning."),
            "lockCostPaid": tao_status("Lock cost paid to register the subnet."),
            "emissionShare": fraction_status(
                "Share of the network's emission going to the subnet."
            ),
            "neurons": obj(
                "Neuron counts on chain.",
                {
                    "total": u16("Registered UIDs, the owner's included."),
                    "validators": u16("UIDs holding a validator permit."),
                    "maxAllowed": u16("maxAllowedUids in force on chain."),
                },
            ),
            "lastEpochBlock": block_number("Block of the last epoch reflected in this status."),
            "deregisteredBlock": block_number("Block in which the chain removed the subnet."),
            "deregistrationReason": string(
                "Why the subnet was removed, e.g. Pruned or Dissolved.", max_length=1024
            ),
        },
    )


SUBNET = Kind(
    kind="Subnet",
    plural="subnets",
    short_names=("sn",),
    description="A Bittensor-style incentive subnet registered on the chain by its owner keys.",
    spec=spec(),
    status=status(),
    columns=(
        Column("NETUID", ".status.netuid", "integer", "Netuid on chain."),
        Column("PHASE", ".status.phase", "string", "Registration phase."),
        Column("NEURONS", ".status.neurons.total", "integer", "Registered UIDs."),
        Column("EMISSION", ".status.emissionShare", "string", "Share of network emission."),
        AGE,
    ),
    root_rules=(name_rule(63),),
)
