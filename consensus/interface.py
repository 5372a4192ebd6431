"""The chain ↔ consensus contract: input and output pytrees of a batched Yuma epoch.

Everything here is a plain ``NamedTuple`` of arrays with a leading subnet axis ``S``:

* ``S`` — subnets in the batch (all subnets whose epoch runs in this block);
* ``N`` — UID columns, padded to the largest ``SubnetworkN`` in the batch (``n_uids`` per subnet
  says how many columns are real; columns ``j >= n_uids[s]`` are padding and never affect a result);
* ``V`` — validator *rows*. Only validators carry weights and bonds, so memory is O(S·V·N), not
  O(S·N²). Row ``r`` of subnet ``s`` belongs to UID ``row_uid[s, r]`` (``-1``: empty row).

How the chain fills the rows
----------------------------
``row_uid[s]`` lists the UIDs that held a validator permit after the *previous* epoch (the
``validator_permit`` output of that epoch, i.e. the top-``max_allowed_validators`` UIDs by
stake), in ascending UID order, padded with ``-1``. Row ``r`` of ``weights`` is that UID's
stored weight row (u16, scattered into its UID columns, zeros elsewhere) and row ``r`` of
``bonds`` is its stored bond row. This captures everything the epoch reads, because

* weights of UIDs without the (previous-epoch) permit are masked by Yuma anyway, and
* a bond row exists only for permit holders (a UID that loses its permit has its row cleared).

Rows may also hold UIDs without a permit (their weights are ignored, their bonds still count),
and the order of rows does not matter; a UID must not occupy two rows. ``V`` must be at least
``min(max_allowed_validators, n_uids)`` for every subnet so that next epoch's permit holders fit
(``run_epochs`` pads ``V`` up itself when needed); the owner UID (``owner_uid``) holds a permit
on top of those and needs a row of its own unless its row would be empty and unstaked (the chain
then leaves it out: such a row changes nothing).

After the epoch the chain writes ``bonds_u16[s, r]`` back as the bond row of ``row_uid[s, r]``
(rows whose UID lost its permit come back all zero = cleared) and stores
``validator_permit`` for picking next epoch's rows. UIDs that gained a permit this epoch start with
an empty bond row (Subtensor computes an all-zero row for them too).

Units
-----
* ``stake``: float64 rao (int64 accepted; converted on the host in float64). UIDs without a
  hotkey and padding: 0.
* blocks (``current_block``, ``block_at_registration``, ``last_update``, ``tempo``,
  ``activity_cutoff``): integers; block numbers must stay below 2**31 - 2**16.
* fractions stored by Subtensor as u16 (``kappa``, ``bonds_penalty``, ``alpha_low``,
  ``alpha_high``): the u16 integer, meaning value/65535.
* ``bonds_moving_average``: per million (900_000 → EMA alpha 0.1).
* ``weights`` / ``bonds``: the u16 integers the chain stores. Yuma 2 bonds are column
  max-upscaled (the largest bond in a column is 65535), Yuma 3 bonds are proportions
  (value/65535 is the bond in [0, 1]).
* outputs: floats in the computation dtype, plus ``*_u16`` views ``floor(x·65535)`` (as
  Subtensor's ``fixed_proportion_to_u16``) and rao integers ``floor(share·emission)``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from subnetes.wire.hyperparams import Hyperparams, consensus_params

Array = Any  # numpy.ndarray or jax.Array

# SubnetParams.defaults: the hyperparameter table's defaults for the fields consensus reads
# (subnetes.wire.hyperparams), Yuma 3 as new Subtensor subnets get, and the two epoch inputs
# that are not subnet hyperparameters.
DEFAULTS: dict[str, Any] = {
    **consensus_params(Hyperparams()),
    "yuma_version": 3,
    "bonds_reset_enabled": False,
    "stake_threshold": 0.0,
}


class EpochInputs(NamedTuple):
    """Per-subnet chain state read by the epoch (leading axis S; see the module docstring).

    Attributes:
        n_uids: [S] int — SubnetworkN; UIDs 0..n-1 exist, columns >= n are padding.
        current_block: [S] int — the block the epoch runs in.
        stake: [S, N] float64 rao — epoch stake T per UID (0 for UIDs without a hotkey).
        block_at_registration: [S, N] int — block the UID's current occupant registered.
        last_update: [S, N] int — block of the UID's last set_weights (or registration).
        validator_permit: [S, N] bool — permits written by the previous epoch (old permits).
        row_uid: [S, V] int32 — UID owning each validator row, -1 for an empty row.
        weights: [S, V, N] uint16 — stored weight rows (raw u16 as set_weights stored them).
        bonds: [S, V, N] uint16 — stored bond rows.
        bonds_reset: [S, N] bool or None — UIDs whose bond column is reset this epoch
            (Subtensor's ``do_reset_bonds`` after a commitment); applied only where the subnet's
            ``bonds_reset_enabled`` is true. None: no resets.
        emission: [S] int or None — rao to split this epoch (E); None: rao outputs are zero.
        owner_uid: [S] int or None — the UID of the subnet owner's hotkey, -1 where the owner's
            hotkey holds no UID; None: no owner anywhere. Subtensor's ``epoch_mechanism`` gives
            this UID three exemptions: its stake counts even below ``stake_threshold``, it
            holds a validator permit (old and new) whatever its stake, and its self-weight
            (the diagonal entry of its own row) is kept instead of masked.
    """

    n_uids: Array
    current_block: Array
    stake: Array
    block_at_registration: Array
    last_update: Array
    validator_permit: Array
    row_uid: Array
    weights: Array
    bonds: Array
    bonds_reset: Array | None = None
    emission: Array | None = None
    owner_uid: Array | None = None


class SubnetParams(NamedTuple):
    """Per-subnet hyperparameters, each an array of shape [S] (mixing versions is fine).

    Attributes:
        tempo: int — blocks between epochs; UIDs registered at or after ``current_block - tempo``
            start from zero bonds.
        activity_cutoff: int — a UID is inactive when ``last_update + activity_cutoff <
            current_block``.
        kappa: int u16 — consensus quantile, kappa/65535 (default 32767 ≈ 0.4999924).
        bonds_moving_average: int — per million; EMA alpha = 1 - bma/1e6 (default 900000).
        bonds_penalty: int u16 — beta = bonds_penalty/65535 (default 65535 → 1).
        yuma_version: int — 2 (legacy bonds) or 3 (per-bond EMA, Yuma3On).
        liquid_alpha_enabled: bool — per-entry liquid alpha (Yuma 3 only; ignored for Yuma 2).
        alpha_low: int u16 — liquid alpha lower bound (default 45875 ≈ 0.7).
        alpha_high: int u16 — liquid alpha upper bound (default 58982 ≈ 0.9).
        alpha_sigmoid_steepness: int — i16, effective steepness value/100 (default 1000 → 10).
        bonds_reset_enabled: bool — BondsResetOn: honour ``EpochInputs.bonds_reset``.
        max_allowed_validators: int — MaxAllowedValidators, k of the top-k permit rule
            (default 64).
        stake_threshold: float rao — stake below it counts as 0 (default 0), except the owner
            UID's (``EpochInputs.owner_uid``).
    """

    tempo: Array
    activity_cutoff: Array
    kappa: Array
    bonds_moving_average: Array
    bonds_penalty: Array
    yuma_version: Array
    liquid_alpha_enabled: Array
    alpha_low: Array
    alpha_high: Array
    alpha_sigmoid_steepness: Array
    bonds_reset_enabled: Array
    max_allowed_validators: Array
    stake_threshold: Array

    @classmethod
    def defaults(cls, num_subnets: int, **overrides: Any) -> SubnetParams:
        """Subtensor's defaults for ``num_subnets`` subnets (Yuma 3, as new subnets get).

        Any field may be overridden by a scalar (broadcast) or an array of shape [S].
        """
        base = dict(DEFAULTS)
        unknown = set(overrides) - set(base)
        if unknown:
            raise TypeError(f"unknown SubnetParams fields: {sorted(unknown)}")
        base.update(overrides)
        dtypes: dict[str, Any] = {
            "liquid_alpha_enabled": bool,
            "bonds_reset_enabled": bool,
            "stake_threshold": np.float64,
        }
        fields = {
            k: np.broadcast_to(np.asarray(v, dtype=dtypes.get(k, np.int64)), (num_subnets,)).copy()
            for k, v in base.items()
        }
        return cls(**fields)


class EpochOutputs(NamedTuple):
    """Results of one epoch per subnet (numpy arrays; same S, V, N as the inputs).

    Floats are in the computation dtype (float64 or float32); ``*_u16`` are uint16 views
    ``floor(x·65535)``; rao amounts are int64. Padding entries are zero / False.

    Attributes:
        active: [S, N] bool — ``last_update + activity_cutoff >= current_block``.
        validator_permit: [S, N] bool — new permits (top-k by stake, plus the owner UID); the
            next epoch's rows.
        stake: [S, N] float — normalized stake S after the threshold.
        consensus: [S, N] float — kappa-quantile consensus weight C per UID (column).
        validator_trust: [S, N] float — Tv, sum of the UID's clipped weight row.
        incentive: [S, N] float — I = normalize(ranks).
        dividends: [S, N] float — D.
        rank: [S, N] float — identical to incentive (classic Subtensor reports both).
        trust: [S, N] float — R_j / P_j (0 where P_j = 0).
        prerank: [S, N] float — P_j = sum_i A_i W_ij (before clipping).
        server_share: [S, N] float — SE, the UID's share of E as miner.
        validator_share: [S, N] float — VE, the UID's share of E as validator.
        combined_share: [S, N] float — NCE = normalize(I + D), the UID's share of E as miner and
            validator combined (fallbacks: see the spec). Not ``emission_share``: on the chain
            that name is a subnet's share of block emission.
        pruning_score: [S, N] float — NCE max-upscaled (NCE / max NCE).
        bonds: [S, V, N] float — new bonds of each input row (Yuma 3: in [0,1]; Yuma 2: column
            max-upscaled); rows whose UID has no new permit are zero (cleared).
        stake_u16, consensus_u16, validator_trust_u16, incentive_u16, dividends_u16, rank_u16,
        trust_u16: [S, N] uint16 — floor(x·65535) views of the floats above.
        pruning_score_u16: [S, N] uint16 — round(NCE·65535/max NCE) (Subtensor's
            max_upscale_to_u16).
        bonds_u16: [S, V, N] uint16 — bonds to store, floor(x·65535).
        server_emission, validator_emission, emission: [S, N] int64 — floor(share·E) in rao.
    """

    active: Array
    validator_permit: Array
    stake: Array
    consensus: Array
    validator_trust: Array
    incentive: Array
    dividends: Array
    rank: Array
    trust: Array
    prerank: Array
    server_share: Array
    validator_share: Array
    combined_share: Array
    pruning_score: Array
    bonds: Array
    stake_u16: Array
    consensus_u16: Array
    validator_trust_u16: Array
    incentive_u16: Array
    dividends_u16: Array
    rank_u16: Array
    trust_u16: Array
    pruning_score_u16: Array
    bonds_u16: Array
    server_emission: Array
    validator_emission: Array
    emission: Array
