"""The subnet chart's values schema (charts/subnet/values.schema.json), derived from the CRDs.

Every field a Subnet, Validator or Miner spec types is settable through the chart with the
CRD's own schema (ranges, patterns, enums, lengths), so `helm install` refuses what the API
server would refuse and the two cannot drift: ``python -m subnetes.operator.crds`` writes this
file next to crds/ and ``--check`` (a test) fails when it is stale. CEL rules do not translate
to JSON Schema; the chart's templates check the cross-field ones before rendering.
"""

from __future__ import annotations

import json
from typing import Any

from subnetes.wire.hyperparams import MAX_UIDS

from .common import DNS_1035_LABEL, DNS_LABEL, DNS_SUBDOMAIN
from .neuron import MAX_NAME
from .pod_template import container, pod_spec, pod_template
from .schema import Schema, array, integer, obj, string
from .subnet import spec as subnet_spec
from .validator import spec as validator_spec

# A pool renders `<subnet>-validator-<i>` / `<subnet>-miner-<i>` for i < count <= MAX_NEURONS.
MAX_NEURONS = MAX_UIDS
LONGEST_SUFFIX = f"-validator-{MAX_NEURONS - 1}"
# Longest subnet name whose derived names still pass the neuron CRDs' name rule (<= MAX_NAME).
MAX_SUBNET_NAME = MAX_NAME - len(LONGEST_SUFFIX)
# An extra miner pool renders `<subnet>-<pool>-miner-<i>`: the longest pool name that can fit
# at all (a one-letter subnet, one miner). The chart's template checks the real names, which
# depend on the subnet name and the count too (JSON Schema cannot add lengths of two fields).
POOL_MINER_SUFFIX = "-miner-"
MAX_POOL_NAME = MAX_NAME - len("a-") - len(f"{POOL_MINER_SUFFIX}0")
MAX_MINER_POOLS = 16
# Keys a pool does not inherit from `miners`: each pool has its own size and its own hotkeys
# (two Miners sharing a hotkey Secret would fight over one registration).
NOT_INHERITED = ("count", "hotkeySecrets")
MAX_GPUS = 16
HEADER = "Generated from operator/crds/chart_values.py by hack/gen-crds.sh; do not edit."

# Keys a structural schema has and a Helm values schema should not carry: defaults are
# values.yaml's job, formats (int32, int64) are OpenAPI's, CEL lives in the templates.
_DROPPED = {"default", "format"}


def to_values_schema(node: Any) -> Any:
    """A CRD schema node as strict draft-07 JSON Schema for Helm values.

    Objects that prune unknown fields in the CRD refuse them here (``additionalProperties:
    false``), so a typo fails at ``helm install``; int-or-string quantities become
    ``["integer", "string"]``; x-kubernetes-* keys, defaults and formats are dropped.
    """
    if isinstance(node, list):
        return [to_values_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: to_values_schema(v)
        for k, v in node.items()
        if not k.startswith("x-kubernetes-") and k not in _DROPPED
    }
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def _secret_name(description: str) -> Schema:
    return string(description, pattern=DNS_SUBDOMAIN, min_length=1, max_length=253)


def _loose(description: str, kind: str = "object") -> Schema:
    """A Pod field the CRDs keep as written (validated by the API server on the Pod)."""
    if kind == "array":
        return {"type": "array", "description": description}
    return {"type": "object", "description": description}


def pool_fields(role: str) -> dict[str, Schema]:
    """The settings of a pool of ``role`` neurons: count, hotkeys, registration, pod template."""
    neuron = validator_spec()["properties"]  # Miner and Validator share these fields
    ct = container()["properties"]
    ps = pod_spec()["properties"]
    meta = pod_template()["properties"]["metadata"]["properties"]
    reg = neuron["registration"]["properties"]
    fields: dict[str, Schema] = {
        "count": integer(f"Number of {role}s.", minimum=0, maximum=MAX_NEURONS),
        "hotkeySecrets": array(
            f"Secrets holding the hotkeys of {role} 0, 1, ... (spec.hotkeySecretRef, data key "
            "`hotkey`), each annotated `subnetes.io/hotkey-for: <Kind>/<neuron name>` (NOTES.txt "
            "prints the commands); the operator creates hotkeys for the rest.",
            _secret_name("Secret name."),
            max_items=MAX_NEURONS,
        ),
        "axonPort": neuron["axonPort"],
        "policy": reg["policy"],
        "maxBurn": reg["maxBurn"],
        "image": ct["image"],
        "command": ct["command"],
        "args": ct["args"],
        "env": ct["env"],
        "resources": ct["resources"],
        "gpus": integer(
            "nvidia.com/gpu per pod, added to resources.limits (with the GPU taint's toleration).",
            minimum=0,
            maximum=MAX_GPUS,
        ),
        "nodeSelector": ps["nodeSelector"],
        "tolerations": ps["tolerations"],
        "affinity": ps["affinity"],
        "podLabels": meta["labels"],
        "podAnnotations": meta["annotations"],
        "securityContext": _loose("Container securityContext (operator defaults fill the rest)."),
        "podSecurityContext": _loose("Pod securityContext (operator defaults fill the rest)."),
        "startupProbe": _loose("Container startupProbe (default: the operator's)."),
        "livenessProbe": _loose("Container livenessProbe (default: the operator's)."),
        "readinessProbe": _loose("Container readinessProbe (default: the operator's)."),
        "imagePullSecrets": array(
            "Secrets to pull the image with.",
            obj("A Secret reference.", {"name": _secret_name("Secret name.")}, required=["name"]),
            max_items=16,
        ),
        "volumes": _loose("Extra pod volumes.", "array"),
        "volumeMounts": _loose("Extra volume mounts of the container.", "array"),
        "priorityClassName": string("PriorityClass of the pods.", max_length=253),
        "serviceAccountName": string("ServiceAccount of the pods.", max_length=253),
    }
    if role == "validator":
        fields["stake"] = neuron["stake"]
        fields["delegateTake"] = neuron["delegateTake"]
    return fields


def pool(role: str) -> Schema:
    """``validators`` or ``miners``: `count` neurons rendered from one pod template."""
    return obj(f"The {role} pool of a subnet.", pool_fields(role))


def miner_pool() -> Schema:
    """One entry of ``minerPools``: more Miners of the subnet, with their own placement.

    Every key but ``name``, ``count`` and ``hotkeySecrets`` is inherited from the subnet's
    ``miners``; a key the pool sets replaces the inherited value whole (maps are not merged,
    so ``nodeSelector: {}`` clears the selector ``miners`` has).
    """
    fields = {
        "name": string(
            "Pool name, unique in the subnet; its Miners are `<subnet>-<name>-miner-<i>`, "
            f"which must fit the Miner CRD's {MAX_NAME} characters (the chart checks the "
            "whole name).",
            pattern=DNS_LABEL,
            min_length=1,
            max_length=MAX_POOL_NAME,
        ),
        **pool_fields("miner"),
    }
    fields["count"] = integer(
        "Number of miners in this pool (not inherited from `miners`).",
        minimum=0,
        maximum=MAX_NEURONS,
    )
    fields["hotkeySecrets"] = fields["hotkeySecrets"] | {
        "description": "Secrets holding the hotkeys of this pool's miner 0, 1, ... (not "
        "inherited from `miners`); the operator creates hotkeys for the rest."
    }
    return obj(
        "A further miner pool: every `miners` key but "
        f"{', '.join(f'`{k}`' for k in NOT_INHERITED)} is inherited, and a key set here "
        "replaces the inherited value whole (maps are not merged: `nodeSelector: {}` clears "
        "the selector of `miners`). The nvidia.com/gpu limit and toleration follow `gpus`.",
        fields,
        required=["name", "count"],
    )


def subnet_entry(*, with_name: bool) -> Schema:
    """One subnet of the network (``with_name``) or the ``defaults`` merged into each."""
    spec = subnet_spec()["properties"]
    fields: dict[str, Schema] = {}
    if with_name:
        fields["name"] = string(
            "Subnet resource name; Validators and Miners are named `<name>-validator-<i>` and "
            f"`<name>-miner-<i>`, which the CRDs limit to {MAX_NAME} characters, hence at "
            f"most {MAX_SUBNET_NAME} here (a letter first).",
            pattern=DNS_1035_LABEL,
            min_length=1,
            max_length=MAX_SUBNET_NAME,
        )
    fields |= {
        "ownerColdkeySecret": _secret_name(
            "Secret with the owner coldkey (ownerColdkeySecretRef)."
        ),
        "ownerHotkeySecret": _secret_name(
            "Secret with the owner hotkey (ownerHotkeySecretRef); unset: the operator makes one."
        ),
        "coldkeySecret": _secret_name("Secret with the coldkey paying neuron registration."),
        "deletionPolicy": spec["deletionPolicy"],
        "registration": spec["registration"],
        "hyperparameters": spec["hyperparameters"],
        "gateway": spec["gateway"],
        "validators": pool("validator"),
        "miners": pool("miner"),
        "minerPools": array(
            "Further miner pools of the subnet (say GPU miners next to the CPU miners of "
            "`miners`), each rendering `count` Miners `<subnet>-<name>-miner-<i>`.",
            miner_pool(),
            max_items=MAX_MINER_POOLS,
        ),
    }
    return obj(
        "A subnet: a Subnet with `validators.count` Validators, `miners.count` Miners and "
        "the Miners of its `minerPools`."
        if with_name
        else "Defaults merged into every subnet entry (an entry's own keys win).",
        fields,
        required=["name"] if with_name else (),
    )


def values_schema() -> dict[str, Any]:
    """The whole values.schema.json document."""
    root = obj(
        "subnet chart values: a network of subnets, each with validators and miners.",
        {
            "defaults": subnet_entry(with_name=False),
            "subnets": array(
                "The subnets of the network.", subnet_entry(with_name=True), max_items=64
            )
            | {"minItems": 1},
        },
        required=["subnets"],
    )
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$comment": HEADER,
        "title": "subnet chart values",
        **to_values_schema(root),
    }


def render_values_schema() -> str:
    """values.schema.json as text (deterministic)."""
    return json.dumps(values_schema(), indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "LONGEST_SUFFIX",
    "MAX_MINER_POOLS",
    "MAX_NEURONS",
    "MAX_POOL_NAME",
    "MAX_SUBNET_NAME",
    "NOT_INHERITED",
    "POOL_MINER_SUFFIX",
    "render_values_schema",
    "to_values_schema",
    "values_schema",
]
