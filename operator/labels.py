"""Names, labels and owner references shared by everything the operator creates."""

from __future__ import annotations

from typing import Any

GROUP = "subnetes.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
FIELD_MANAGER = "subnetes-operator"
MANAGED_BY = "subnetes-operator"
PART_OF = "subnetes"
FINALIZER = "subnetes.io/finalizer"

# Extra labels used to find owners from children without an API call.
KIND_LABEL = "subnetes.io/kind"
SUBNET_LABEL = "subnetes.io/subnet"

# On a hotkey Secret: the one neuron that may use it, "<Kind>/<name>" in the Secret's namespace
# (e.g. "Miner/miner-0"). The operator refuses a hotkey Secret that neither it created for the
# neuron (owner reference) nor carries this claim: creating a Miner must not hand out keys.
HOTKEY_CLAIM_ANNOTATION = f"{GROUP}/hotkey-for"

HOTKEY_DIR = "/var/run/subnetes/hotkey"
HOTKEY_KEY = "hotkey"
HOTKEY_PATH = f"{HOTKEY_DIR}/{HOTKEY_KEY}"
GPU_RESOURCE = "nvidia.com/gpu"


def selector_labels(kind: str, name: str) -> dict[str, str]:
    """Labels that select a neuron's pod; stable for the life of the resource."""
    return {
        "app.kubernetes.io/name": kind.lower(),
        "app.kubernetes.io/instance": name,
    }


def common_labels(kind: str, name: str, subnet: str | None = None) -> dict[str, str]:
    """``app.kubernetes.io/*`` labels on every object created for resource ``kind/name``."""
    labels = selector_labels(kind, name) | {
        "app.kubernetes.io/component": kind.lower(),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        KIND_LABEL: kind,
    }
    if subnet:
        labels[SUBNET_LABEL] = subnet
    return labels


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    """A controller owner reference to the custom resource ``owner`` (a body dict)."""
    meta = owner["metadata"]
    return {
        "apiVersion": owner.get("apiVersion", API_VERSION),
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def child_metadata(owner: dict[str, Any], name: str, labels: dict[str, str]) -> dict[str, Any]:
    """Metadata of a child object: same namespace, labels, owner reference (cascade delete)."""
    return {
        "name": name,
        "namespace": owner["metadata"]["namespace"],
        "labels": dict(labels),
        "ownerReferences": [owner_reference(owner)],
    }


def hotkey_claim(kind: str, name: str) -> str:
    """The value of :data:`HOTKEY_CLAIM_ANNOTATION` that binds a Secret to ``kind/name``."""
    return f"{kind}/{name}"


def hotkey_secret_name(owner_name: str) -> str:
    """Name of the hotkey Secret the operator creates for a neuron (or a subnet owner)."""
    return f"{owner_name}-hotkey"
