"""What Miner and Validator share: subnet reference, keys, workload, registration, status."""

from __future__ import annotations

from .common import (
    DNS_LABEL,
    block_number,
    conditions,
    fraction_status,
    observed_generation,
    phase,
    secret_ref,
    ss58,
    tao,
    tao_status,
    u16,
    write_once_ref,
)
from .pod_template import pod_template
from .schema import Schema, immutable, integer, obj, rule, string

# Pod `<name>-0` of the StatefulSet `<name>` carries a controller-revision-hash label
# `<name>-<10 chars>` that must fit 63 characters: StatefulSet names are limited to 52.
MAX_NAME = 52
DEFAULT_AXON_PORT = 8091


def subnet_ref() -> Schema:
    """``spec.subnetRef``: the Subnet (same namespace) this neuron registers on; immutable."""
    return obj(
        "The Subnet in this namespace to register on. Immutable: moving a neuron to another "
        "subnet is a new registration, so create a new resource instead.",
        {
            "name": string(
                "Name of the Subnet resource.", pattern=DNS_LABEL, min_length=1, max_length=63
            )
        },
        required=["name"],
        rules=[immutable("subnetRef")],
    )


def registration() -> Schema:
    """``spec.registration``: what to pay and what to do after deregistration."""
    return obj(
        "How the neuron registers on the subnet (burned registration paid by the coldkey) and "
        "what happens when the chain deregisters (prunes) its UID.",
        {
            "policy": string(
                "After deregistration: Reregister pays the burn again (within maxBurn, with "
                "backoff); Stop removes the workload pod so no GPU is held, and keeps the "
                "resource with phase Deregistered for the record.",
                enum=["Reregister", "Stop"],
                default="Reregister",
            ),
            "maxBurn": tao(
                "Highest registration burn the operator may pay; while the chain's burn is "
                "higher it waits and reports Stalled with reason BurnAboveLimit. Unset: no limit."
            ),
        },
        default={},
    )


def hotkey_added_rule() -> Schema:
    """Root transition rule: no hotkeySecretRef may be added once the operator made a hotkey.

    Lives at the root because it reads the old status (a spec-level rule cannot see it).
    """
    return rule(
        "!has(oldSelf.status) || has(oldSelf.spec.hotkeySecretRef) || "
        "!has(self.spec.hotkeySecretRef) || "
        "(!has(oldSelf.status.hotkey) && !has(oldSelf.status.hotkeySecretName))",
        "spec.hotkeySecretRef cannot be added once the operator created and registered a "
        "hotkey (status.hotkey is set): the hotkey is the neuron's identity on chain",
        field_path=".spec.hotkeySecretRef",
        reason="FieldValueForbidden",
    )


def neuron_spec(kind: str, extra: dict[str, Schema], extra_rules: list[Schema]) -> Schema:
    """The spec shared by Miner and Validator plus kind-specific ``extra`` fields."""
    properties: dict[str, Schema] = {
        "subnetRef": subnet_ref(),
        "hotkeySecretRef": secret_ref(
            f"Secret holding the {kind}'s hotkey. Optional: when unset the operator creates "
            "a hotkey in a Secret it owns (named in status.hotkeySecretName). Immutable once "
            "set, and cannot be added once the operator created a hotkey. The Secret must be "
            "claimed for this neuron (annotation `subnetes.io/hotkey-for: <Kind>/<name>`, set by "
            "`subnetes wallet import --hotkey NAME=<Kind>/<name>`) and its hotkey used by no "
            "other neuron; otherwise the neuron is Stalled (HotkeySecretNotClaimed, HotkeyInUse).",
            "data key `hotkey` holds the btcli hotkey file (JSON).",
        ),
        "coldkeySecretRef": secret_ref(
            "Secret holding the coldkey that pays the registration burn"
            + (" and the stake" if kind == "validator" else "")
            + ". Only the operator reads it; the workload never gets it.",
            "data key `coldkey` holds the btcli coldkey file, `password` its password "
            "(an unencrypted coldkey JSON needs none).",
        ),
        "template": pod_template(),
        "axonPort": integer(
            "Port the neuron's axon listens on in the pod; served on chain with the pod IP.",
            minimum=1,
            maximum=65535,
            default=DEFAULT_AXON_PORT,
        ),
        "registration": registration(),
        **extra,
    }
    return obj(
        f"Desired state of the {kind}.",
        properties,
        required=["subnetRef", "coldkeySecretRef", "template"],
        rules=[write_once_ref("hotkeySecretRef"), *extra_rules],
    )


def neuron_status(kind: str, extra: dict[str, Schema]) -> Schema:
    """The status shared by Miner and Validator plus kind-specific ``extra`` fields."""
    properties: dict[str, Schema] = {
        "observedGeneration": observed_generation(),
        "conditions": conditions(),
        "phase": phase(f"Lifecycle of the {kind}'s registration."),
        "hotkey": ss58("SS58 address of the hotkey registered on chain."),
        "hotkeySecretName": string(
            "Secret holding the hotkey in use: spec.hotkeySecretRef.name, or the Secret the "
            "operator created.",
            max_length=253,
        ),
        "netuid": u16("Netuid of the subnet the neuron is registered on."),
        "uid": u16("UID of the neuron on the subnet (can change after re-registration)."),
        "registeredBlock": block_number("Block in which the current registration happened."),
        "immuneUntilBlock": block_number("Last block of the neuron's immunity from pruning."),
        "burnPaid": tao_status("Registration burn paid for the current registration."),
        "incentive": fraction_status("Incentive from the last epoch."),
        "trust": fraction_status("Trust from the last epoch."),
        "consensus": fraction_status("Consensus weight from the last epoch."),
        "rank": fraction_status("Rank from the last epoch."),
        "lastEmission": tao_status("Emission earned in the last epoch."),
        "totalEmission": tao_status("Emission earned since this registration."),
        "lastEpochBlock": block_number("Block of the last epoch reflected in this status."),
        "axon": string("Axon address served on chain, ip:port.", max_length=64),
        "podName": string("Name of the workload pod.", max_length=253),
        "nodeName": string("Node the workload pod is scheduled on.", max_length=253),
        "deregisteredBlock": block_number("Block in which the chain deregistered the UID."),
        "deregistrationReason": string(
            "Why the UID was deregistered, e.g. Pruned or SubnetDissolved.", max_length=1024
        ),
        **extra,
    }
    return obj(f"Observed state of the {kind}, from the chain and the cluster.", properties)
