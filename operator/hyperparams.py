"""Subnet spec.hyperparameters <-> chain hyperparameter names and values (pure)."""

from __future__ import annotations

from typing import Any

from subnetes.chain.units import tao_to_rao
from subnetes.wire.hyperparams import BOUNDS, HYPERPARAMS, Unit

# spec field path (camelCase; "group.field" for liquidAlpha/commitReveal) -> chain name.
SPEC_TO_CHAIN: dict[str, str] = {h.crd: h.name for h in HYPERPARAMS if h.crd is not None}
# Spec fields written as TAO strings (the chain takes rao).
TAO_FIELDS = frozenset(h.crd for h in HYPERPARAMS if h.crd is not None and h.unit is Unit.RAO)

# Raising a limit before the value it bounds keeps every intermediate state valid on chain.
ORDER = tuple(b.upper for b in BOUNDS)


def desired(spec_hp: dict[str, Any] | None) -> dict[str, int | bool]:
    """Chain hyperparameters the spec sets (unset fields keep the chain's value)."""
    hp = spec_hp or {}
    out: dict[str, int | bool] = {}
    for path, name in SPEC_TO_CHAIN.items():
        group, _, key = path.rpartition(".")
        where = (hp.get(group) or {}) if group else hp
        if key in where:
            value = where[key]
            out[name] = tao_to_rao(str(value)) if path in TAO_FIELDS else value
    return out


def drift(spec_hp: dict[str, Any] | None, chain_hp: dict[str, Any]) -> list[tuple[str, int | bool]]:
    """(name, value) pairs to set on chain so it matches the spec, in a safe order.

    Names the chain does not know are skipped (a newer CRD against an older chain).
    """
    changes = [(k, v) for k, v in desired(spec_hp).items() if k in chain_hp and chain_hp[k] != v]
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(changes, key=lambda kv: rank.get(kv[0], len(ORDER)))
