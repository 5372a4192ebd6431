"""Subnet spec.hyperparameters <-> chain hyperparameter names and values (pure)."""

from __future__ import annotations

from typing import Any

from subnetes.chain.units import tao_to_rao

# spec field (camelCase) -> chain name; plain integers/booleans.
PLAIN = {
    "tempo": "tempo",
    "rho": "rho",
    "kappa": "kappa",
    "immunityPeriod": "immunity_period",
    "maxAllowedUids": "max_allowed_uids",
    "maxAllowedValidators": "max_allowed_validators",
    "minAllowedWeights": "min_allowed_weights",
    "maxWeightLimit": "max_weight_limit",
    "weightsRateLimit": "weights_rate_limit",
    "weightsVersionKey": "weights_version_key",
    "activityCutoff": "activity_cutoff",
    "bondsMovingAverage": "bonds_moving_average",
    "bondsPenalty": "bonds_penalty",
    "yumaVersion": "yuma_version",
    "targetRegistrationsPerInterval": "target_registrations_per_interval",
    "adjustmentInterval": "adjustment_interval",
    "maxRegistrationsPerBlock": "max_registrations_per_block",
    "registrationAllowed": "registration_allowed",
    "servingRateLimit": "serving_rate_limit",
}
TAO = {"minBurn": "min_burn", "maxBurn": "max_burn"}
LIQUID_ALPHA = {
    "enabled": "liquid_alpha_enabled",
    "alphaLow": "alpha_low",
    "alphaHigh": "alpha_high",
    "sigmoidSteepness": "alpha_sigmoid_steepness",
}
COMMIT_REVEAL = {"enabled": "commit_reveal_enabled", "revealPeriodEpochs": "reveal_period_epochs"}

# Raising a limit before the value it bounds keeps every intermediate state valid on chain.
ORDER = ("max_allowed_uids", "max_burn", "alpha_high")


def desired(spec_hp: dict[str, Any] | None) -> dict[str, int | bool]:
    """Chain hyperparameters the spec sets (unset fields keep the chain's value)."""
    hp = spec_hp or {}
    out: dict[str, int | bool] = {}
    for src, dst in PLAIN.items():
        if src in hp:
            out[dst] = hp[src]
    for src, dst in TAO.items():
        if src in hp:
            out[dst] = tao_to_rao(str(hp[src]))
    for group, names in (("liquidAlpha", LIQUID_ALPHA), ("commitReveal", COMMIT_REVEAL)):
        for src, dst in names.items():
            if src in (hp.get(group) or {}):
                out[dst] = hp[group][src]
    return out


def drift(spec_hp: dict[str, Any] | None, chain_hp: dict[str, Any]) -> list[tuple[str, int | bool]]:
    """(name, value) pairs to set on chain so it matches the spec, in a safe order.

    Names the chain does not know are skipped (a newer CRD against an older chain).
    """
    changes = [(k, v) for k, v in desired(spec_hp).items() if k in chain_hp and chain_hp[k] != v]
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(changes, key=lambda kv: rank.get(kv[0], len(ORDER)))
