"""Schema pieces shared by the three kinds: units, key references, status conventions.

Units follow docs/specs/interfaces.md ("Units and number formats"): TAO amounts in spec and status are
decimal strings with at most 9 decimals, fractions are u16 integers in spec and 6-decimal strings
in status. Status follows the Kubernetes API conventions as kstatus, Flux and Argo CD read them.
"""

from __future__ import annotations

from subnetes.chain.units import U16_MAX

from .schema import Schema, array, integer, obj, rule, string

GROUP = "subnetes.io"
VERSION = "v1alpha1"
CATEGORY = "subnetes"

# TAO: no sign, no exponent, at most 9 decimals (1 rao), below 100M TAO (supply is 21M).
TAO_PATTERN = r"^(0|[1-9][0-9]{0,7})(\.[0-9]{1,9})?$"
# A fraction in [0, 1] printed with exactly 6 decimals, e.g. "0.042137".
FRACTION_PATTERN = r"^(0\.[0-9]{6}|1\.000000)$"
# SS58 addresses are base58 (no 0, O, I, l); format-42 sr25519 addresses are 47 or 48 long.
SS58_PATTERN = r"^[1-9A-HJ-NP-Za-km-z]{46,48}$"
# Kubernetes object names: DNS-1123 subdomain (Secrets) and DNS-1123 label (most others).
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# Resource names the operator derives Services and StatefulSets from: a letter first (DNS-1035).
DNS_1035_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"

PHASES = ("Pending", "Registering", "Registered", "Deregistered", "Failed")


def tao(description: str) -> Schema:
    """A TAO amount in spec, e.g. ``maxBurn: "1.5"`` (a string: no floats in spec)."""
    return string(
        f'{description} A decimal string in TAO with at most 9 decimals, e.g. "1.5".',
        pattern=TAO_PATTERN,
        max_length=18,
    )


def tao_status(description: str) -> Schema:
    """A TAO amount in status, written with 9 decimals, e.g. ``"0.041000000"``."""
    return string(
        f'{description} TAO as a decimal string with 9 decimals, e.g. "0.041000000".',
        pattern=TAO_PATTERN,
        max_length=18,
    )


def u16(description: str, *, default: int | None = None, minimum: int = 0) -> Schema:
    """A u16 integer as Subtensor stores fractions (65535 = 1.0) and small counts."""
    return integer(description, minimum=minimum, maximum=U16_MAX, default=default)


def fraction_status(description: str) -> Schema:
    """A chain fraction in status: decimal string with 6 decimals in [0, 1]."""
    return string(
        f'{description} A decimal string in [0, 1] with 6 decimals, e.g. "0.042137".',
        pattern=FRACTION_PATTERN,
        max_length=8,
    )


def blocks(description: str, *, minimum: int = 0, maximum: int | None = None) -> Schema:
    """A duration in blocks (7200 blocks = one day at 12 s; not scaled by block time)."""
    return integer(
        f"{description} Counted in blocks (7200 blocks = one day at 12 s per block).",
        minimum=minimum,
        maximum=maximum,
    )


def block_number(description: str) -> Schema:
    """A chain block height."""
    return integer(description, minimum=0, wide=True)


def ss58(description: str) -> Schema:
    """A Bittensor (SS58 format 42) address."""
    return string(description, pattern=SS58_PATTERN, max_length=48)


def secret_ref(description: str, data_keys: str) -> Schema:
    """A reference to a Secret in the same namespace (never to one elsewhere)."""
    return obj(
        f"{description} The Secret must be in the same namespace; {data_keys}",
        {
            "name": string(
                "Name of the Secret in this namespace.",
                pattern=DNS_SUBDOMAIN,
                min_length=1,
                max_length=253,
            )
        },
        required=["name"],
    )


def write_once_ref(field: str) -> Schema:
    """Spec-level transition rule: ``field`` may be absent, but once set it never changes."""
    return rule(
        f"!has(oldSelf.{field}) || (has(self.{field}) && self.{field} == oldSelf.{field})",
        f"{field} is immutable once set: the key is the identity registered on chain",
        field_path=f".{field}",
        reason="FieldValueForbidden",
    )


def condition() -> Schema:
    """One ``metav1.Condition`` (the shape kstatus, Flux and Argo CD understand)."""
    return obj(
        "A condition in the metav1.Condition shape. Types used: Ready (summary), Registered, "
        "Scheduled, Deregistered, Reconciling and Stalled (the last two as kstatus reads them).",
        {
            "type": string(
                "Condition type in CamelCase, e.g. Ready.",
                pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
                max_length=316,
            ),
            "status": string("True, False or Unknown.", enum=["True", "False", "Unknown"]),
            "observedGeneration": integer(
                "metadata.generation the condition was set for.", minimum=0, wide=True
            ),
            "lastTransitionTime": string(
                "When the status last changed (RFC 3339).", format="date-time"
            ),
            "reason": string(
                "Machine-readable CamelCase reason for the last transition, e.g. BurnAboveLimit.",
                pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
                min_length=1,
                max_length=1024,
            ),
            "message": string("Human-readable details (never key material).", max_length=32768),
        },
        required=["type", "status", "lastTransitionTime", "reason", "message"],
    )


def conditions() -> Schema:
    """``status.conditions``: a list keyed by type, so server-side apply merges per type."""
    return array(
        "Current state as conditions, one per type; Ready is the summary, Reconciling=True "
        "while work is in progress and Stalled=True when a user must act.",
        condition(),
        max_items=16,
        map_keys=["type"],
    )


def observed_generation() -> Schema:
    """``status.observedGeneration``: the spec generation the status describes."""
    return integer(
        "The metadata.generation this status was computed for; differs from "
        "metadata.generation while a spec change is being reconciled.",
        minimum=0,
        wide=True,
    )


def phase(description: str) -> Schema:
    """``status.phase``: a one-word summary for printer columns (Ready is authoritative)."""
    return string(
        f"{description} For `kubectl get` only; the Ready condition is authoritative.",
        enum=PHASES,
    )


def name_rule(max_length: int) -> Schema:
    """Root rule bounding metadata.name so derived object names stay valid DNS labels."""
    return rule(
        f"self.metadata.name.size() <= {max_length} && "
        f"self.metadata.name.matches('{DNS_1035_LABEL}')",
        f"metadata.name must be a DNS-1035 label of at most {max_length} characters (the "
        "operator derives StatefulSet, Pod and Service names from it)",
    )
