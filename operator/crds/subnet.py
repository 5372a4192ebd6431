"""The Subnet kind: a subnet registered on chain with its owner keys and hyperparameters.

Hyperparameters left unset keep the chain's value for new subnets (so a dev network keeps its
short dev defaults); only kappa and the liquid-alpha bounds, which every network shares, have
schema defaults. ``spec.hyperparameters`` is derived from the hyperparameter table
(``subnetes.wire.hyperparams``): fields, descriptions, ranges, defaults and the bound rules.
"""

from __future__ import annotations

from subnetes.chain.units import U16_MAX
from subnetes.wire.hyperparams import (
    BOUNDS,
    BY_NAME,
    HYPERPARAMS,
    INT32_MAX,
    INT64_MAX,
    Hyperparam,
    Unit,
)

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
from .gateway import MAX_NAME_WITH_GATEWAY, gateway_spec
from .schema import Schema, boolean, immutable, integer, obj, rule, string

# The nested groups of spec.hyperparameters (their fields come from the table).
GROUPS = {
    "liquidAlpha": "Liquid alpha: a per-bond EMA alpha between alphaLow and alphaHigh instead of "
    "the fixed bondsMovingAverage.",
    "commitReveal": "Commit-reveal of weights: validators commit a hash and reveal the weights "
    "later, so copying weights does not pay.",
}


def both_or_ok(a: str, b: str, check: str) -> str:
    """CEL: ``check`` holds whenever both optional fields ``a`` and ``b`` are set."""
    return f"!has(self.{a}) || !has(self.{b}) || {check}"


def hyperparameter_field(h: Hyperparam) -> Schema:
    """The CRD schema of one table row, shaped by its unit."""
    default = h.default if h.crd_default else None
    if h.type is bool:
        return boolean(h.description, default=None if default is None else bool(default))
    assert h.crd_range is not None
    lo, hi = h.crd_range
    shaped = h.unit in (Unit.RAO, Unit.BLOCKS, Unit.VERSION)
    if shaped and default is not None:
        raise ValueError(f"{h.name}: a {h.unit} field takes no CRD default")
    if h.unit is Unit.RAO:
        return tao(h.description)  # a TAO string: its pattern bounds it, the chain checks rao
    if h.unit is Unit.BLOCKS:
        return blocks(h.description, minimum=lo, maximum=hi)
    if h.unit is Unit.VERSION:
        return integer(h.description, enum=list(range(lo, hi + 1)))
    if h.unit is Unit.U16_FRACTION:
        if hi != U16_MAX:
            raise ValueError(f"{h.name}: a u16 fraction ends at {U16_MAX}")
        return u16(h.description, default=default, minimum=lo)
    if hi > INT64_MAX:
        raise ValueError(f"{h.name}: {hi} does not fit a CRD integer (int64)")
    # int64 is wide enough for its own maximum, so the schema leaves it implied.
    return integer(
        h.description,
        minimum=lo,
        maximum=None if hi == INT64_MAX else hi,
        default=default,
        wide=hi > INT32_MAX,
    )


def bound_rules(group: str | None) -> list[Schema]:
    """CEL rules for the table's bounds (``lower <= upper``) whose fields both sit in ``group``."""
    rules = []
    for bound in BOUNDS:
        lower, upper = BY_NAME[bound.lower], BY_NAME[bound.upper]
        if lower.crd is None or upper.crd is None:
            continue
        if not lower.crd_group == upper.crd_group == group:
            continue
        a, b = lower.crd_field, upper.crd_field
        assert a is not None and b is not None
        # TAO strings compare as numbers (CEL cannot parse them exactly; doubles keep the order).
        check = (
            f"double(self.{a}) <= double(self.{b})"
            if lower.unit is Unit.RAO
            else f"self.{a} <= self.{b}"
        )
        if not (lower.crd_default and upper.crd_default):
            check = both_or_ok(a, b, check)  # optional fields: check only when both are set
        rules.append(rule(check, f"{a} must not exceed {b}", field_path=f".{a}"))
    return rules


def hyperparameter_properties(group: str | None = None) -> dict[str, Schema]:
    """The fields of spec.hyperparameters (``group`` None) or of one nested group, table order."""
    props: dict[str, Schema] = {}
    for h in HYPERPARAMS:
        if h.crd is None or h.crd_field is None:
            continue
        if h.crd_group == group:
            props[h.crd_field] = hyperparameter_field(h)
        elif group is None and h.crd_group is not None and h.crd_group not in props:
            props[h.crd_group] = obj(
                GROUPS[h.crd_group],
                hyperparameter_properties(h.crd_group),
                rules=bound_rules(h.crd_group),
            )
    return props


def hyperparameters() -> Schema:
    """``spec.hyperparameters``: pushed to the chain whenever the spec drifts from it."""
    return obj(
        "Subnet hyperparameters, pushed to the chain with the owner key whenever they differ from "
        "it. Unset fields keep the chain's value. Fractions are u16 integers (65535 = 1.0), as "
        "Subtensor stores them.",
        hyperparameter_properties(),
        default={},
        rules=bound_rules(None),
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
            "gateway": gateway_spec(),
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
    root_rules=(
        name_rule(63),
        rule(
            f"!has(self.spec.gateway) || self.metadata.name.size() <= {MAX_NAME_WITH_GATEWAY}",
            f"a Subnet with spec.gateway has a name of at most {MAX_NAME_WITH_GATEWAY} "
            "characters (its gateway Service is <name>-gateway)",
        ),
    ),
)
