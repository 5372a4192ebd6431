"""The Validator kind: a staked neuron that scores miners and sets weights."""

from __future__ import annotations

from .common import block_number, fraction_status, name_rule, tao, tao_status, u16
from .definition import AGE, Column, Kind
from .neuron import MAX_NAME, hotkey_added_rule, neuron_spec, neuron_status
from .schema import Schema, boolean

# Subtensor's default (and maximum) delegate take: 18% as a u16 fraction.
DEFAULT_TAKE = 11_796


def spec() -> Schema:
    """``Validator.spec``: a neuron plus stake and delegate take."""
    return neuron_spec(
        "validator",
        extra={
            "stake": tao(
                "TAO the coldkey keeps staked on the hotkey (the principal); a validator permit "
                "goes to the subnet's top stakes. The operator adds stake from the coldkey while "
                "the coldkey's stake on the hotkey is below this value. Dividends, which the "
                "chain credits to that stake, are never swept back while this value is "
                "unchanged or raised; lowering it below status.stakeTarget returns stake to the "
                "coldkey until exactly this value remains. Unset: the operator does not change "
                "stake."
            ),
            "delegateTake": u16(
                "Share of delegated stake's dividends the validator keeps, as a u16 fraction "
                "(11796 = 18%, the chain's usual maximum). Unset: the chain's default."
            ),
        },
        extra_rules=[],
    )


def status() -> Schema:
    """``Validator.status``: a neuron plus permit, validator trust, dividends and stake."""
    return neuron_status(
        "validator",
        extra={
            "validatorPermit": boolean("Whether the hotkey holds a validator permit."),
            "validatorTrust": fraction_status("Validator trust from the last epoch."),
            "dividends": fraction_status("Dividends from the last epoch."),
            "lastWeightsBlock": block_number("Block of the validator's last set_weights."),
            "stake": tao_status("Stake on the hotkey."),
            "stakeTarget": tao_status(
                "spec.stake as the operator last applied it; lowering spec.stake below this "
                "returns the stake above the new value to the coldkey. Kept while spec.stake "
                "is unset."
            ),
        },
    )


VALIDATOR = Kind(
    kind="Validator",
    plural="validators",
    short_names=("vali",),
    description="A validator neuron: a staked hotkey on a subnet and the pod that sets weights.",
    spec=spec(),
    status=status(),
    columns=(
        Column("SUBNET", ".spec.subnetRef.name", "string", "Subnet resource."),
        Column("UID", ".status.uid", "integer", "UID on the subnet."),
        Column("PHASE", ".status.phase", "string", "Registration phase."),
        Column("PERMIT", ".status.validatorPermit", "boolean", "Holds a validator permit."),
        Column("STAKE", ".status.stake", "string", "Stake on the hotkey, TAO."),
        Column("DIVIDENDS", ".status.dividends", "string", "Dividends from the last epoch."),
        Column("VTRUST", ".status.validatorTrust", "string", "Validator trust."),
        AGE,
    ),
    root_rules=(name_rule(MAX_NAME), hotkey_added_rule()),
)
