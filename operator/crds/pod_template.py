"""The embedded pod template of Miner and Validator: a slim typed PodTemplateSpec.

A full PodTemplateSpec schema makes a CRD of 300-900 KB (KubeRay, Kubeflow Trainer) and breaks
client-side apply. We keep the familiar shape (``template.metadata``, ``template.spec.containers``)
so manifests copy from Pods and StatefulSets, type only what a subnet team sets for GPU
scheduling (image, command, args, env, resources, nodeSelector, tolerations, affinity), and keep
every other PodSpec field as written (``x-kubernetes-preserve-unknown-fields``): the API server
validates it in full when the operator applies the StatefulSet built from this template.
"""

from __future__ import annotations

from .common import DNS_LABEL
from .schema import Schema, array, int_or_string, obj, opaque, rule, string, string_map

# Non-negative Kubernetes quantity: no sign, decimal or binary SI suffix or exponent.
QUANTITY_PATTERN = (
    r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+)?(([0-9]+(\.[0-9]*)?)|"
    r"(\.[0-9]+))))?$"
)
GPU_RESOURCE = "nvidia.com/gpu"


def quantities(description: str) -> Schema:
    """A resource map (limits or requests); accelerator counts must be whole numbers."""
    schema = string_map(
        description,
        max_properties=32,
        values=int_or_string(
            "A non-negative quantity, e.g. 2, 500m, 16Gi.", pattern=QUANTITY_PATTERN
        ),
    )
    # Extended resources such as nvidia.com/gpu cannot be split; say so before the Pod fails.
    schema["x-kubernetes-validations"] = [
        rule(
            f"!('{GPU_RESOURCE}' in self) || string(self['{GPU_RESOURCE}']).matches('^[0-9]+$')",
            f"{GPU_RESOURCE} must be a whole number of GPUs (0, 1, 2, ...)",
        )
    ]
    return schema


def resources() -> Schema:
    """Container compute resources, with GPUs as ``nvidia.com/gpu`` limits."""
    return obj(
        "Compute resources of the container. Request GPUs as limits, e.g. "
        '`limits: {"nvidia.com/gpu": 1}`; the scheduler places the pod on a node with free GPUs.',
        {
            "limits": quantities("Maximum resources (and the GPU count) of the container."),
            "requests": quantities("Resources the scheduler reserves for the container."),
        },
        preserve_unknown=True,
    )


def env_var() -> Schema:
    """One environment variable; valueFrom is kept as written."""
    return obj(
        "An environment variable. The operator sets SUBNETES_CHAIN_ENDPOINT, SUBNETES_NETUID, "
        "SUBNETES_HOTKEY_PATH, SUBNETES_AXON_PORT and SUBNETES_AXON_IP itself, and defaults "
        "HOME=/tmp and, for validators, SUBNETES_HEALTH_PORT=8090 (0 turns the health "
        "endpoints and their probes off).",
        {
            "name": string("Variable name.", min_length=1, max_length=256),
            "value": string("Literal value.", max_length=32768),
            "valueFrom": opaque("Source of the value (as in a Pod: secretKeyRef, fieldRef, ...)."),
        },
        required=["name"],
    )


def container() -> Schema:
    """One container; fields not typed here (ports, probes, volumeMounts...) are kept."""
    return obj(
        "A container of the workload pod, as in a Pod. Other Container fields (ports, probes, "
        "volumeMounts, securityContext, ...) are accepted as written and validated by the API "
        "server when the operator creates the pod. Unless the first container sets them, the "
        "operator adds HTTP startup, liveness and readiness probes (miners: GET /healthz on the "
        "axon port; validators: /healthz and /readyz on SUBNETES_HEALTH_PORT; the annotation "
        'subnetes.io/default-probes: "false" on the resource turns them off), '
        "readOnlyRootFilesystem with an emptyDir at /tmp, and for validators a memory limit "
        "(twice the request, or 2Gi).",
        {
            "name": string(
                "Container name (DNS label).", pattern=DNS_LABEL, min_length=1, max_length=63
            ),
            "image": string("Container image, e.g. ghcr.io/org/miner:1.2.", min_length=1),
            "command": array(
                "Entrypoint override.", string("An argument.", max_length=4096), max_items=64
            ),
            "args": array(
                "Arguments to the entrypoint.",
                string("An argument.", max_length=4096),
                max_items=256,
            ),
            "env": array("Environment variables.", env_var(), max_items=128, map_keys=["name"]),
            "resources": resources(),
        },
        required=["name", "image"],
        preserve_unknown=True,
    )


def toleration() -> Schema:
    """A toleration, typed so typos in operator/effect fail at apply time."""
    return obj(
        "A toleration, as in a Pod. GPU nodes are usually tainted nvidia.com/gpu:NoSchedule.",
        {
            "key": string("Taint key the toleration applies to; empty matches all keys."),
            "operator": string("Exists or Equal (Equal when empty).", enum=["Exists", "Equal"]),
            "value": string("Taint value to match (with operator Equal)."),
            "effect": string(
                "Taint effect to match; empty matches all effects.",
                enum=["", "NoSchedule", "PreferNoSchedule", "NoExecute"],
            ),
            "tolerationSeconds": {
                "type": "integer",
                "format": "int64",
                "description": "How long a NoExecute taint is tolerated before eviction.",
            },
        },
    )


def pod_spec() -> Schema:
    """The typed subset of a PodSpec; everything else passes through."""
    return obj(
        "Specification of the workload pod, as in a Pod. The operator adds the hotkey volume "
        "(read-only at /var/run/subnetes/hotkey) and the SUBNETES_* environment.",
        {
            "containers": array(
                "Containers of the pod; at least one. The first is the neuron process.",
                container(),
                min_items=1,
                max_items=8,
                map_keys=["name"],
            ),
            "nodeSelector": string_map(
                "Node labels the pod must match, e.g. nvidia.com/gpu.present: 'true'.",
                max_properties=32,
            ),
            "tolerations": array("Taints the pod tolerates.", toleration(), max_items=32),
            "affinity": opaque("Node and pod (anti-)affinity, as in a Pod."),
        },
        required=["containers"],
        preserve_unknown=True,
    )


def pod_template() -> Schema:
    """``spec.template``: metadata (labels, annotations) and the pod spec."""
    return obj(
        "Template of the workload pod (a PodTemplateSpec). The operator runs it as a one-replica "
        "StatefulSet named after this resource.",
        {
            "metadata": obj(
                "Labels and annotations added to the pod.",
                {
                    "labels": string_map("Labels added to the pod.", max_properties=64),
                    "annotations": string_map("Annotations added to the pod.", max_properties=64),
                },
            ),
            "spec": pod_spec(),
        },
        required=["spec"],
    )
