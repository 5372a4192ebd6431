"""The one adapter between chain state and ``subnetes.consensus``.

Gathers the state of every subnet whose epoch is due in a block into the consensus pytrees
(``EpochInputs`` [S, V, N] / [S, N], ``SubnetParams`` [S]), makes ONE ``run_epochs`` call for
all of them, and turns the outputs back into integers the chain stores: u16 fractions, u16
bonds, rao emissions (already floored by consensus). Shapes are padded to powers of two so
that only a few shapes are ever compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from subnetes.wire.hyperparams import consensus_params

from .state import Neuron, State, Subnet


@dataclass
class SubnetEpochResult:
    """Integer results of one subnet's epoch, indexed by uid."""

    netuid: int
    active: list[bool]
    validator_permit: list[bool]
    rank: list[int]
    trust: list[int]
    consensus: list[int]
    incentive: list[int]
    dividends: list[int]
    validator_trust: list[int]
    pruning_score: list[int]
    server_emission: list[int]
    validator_emission: list[int]
    emission: list[int]
    bonds: dict[int, dict[int, int]]  # validator uid -> {uid: u16}; absent = cleared


def _bucket(x: int, minimum: int = 1) -> int:
    """Round up to a power of two (fixed compile shapes)."""
    n = max(x, minimum)
    return 1 << (n - 1).bit_length()


def batch_shape(sizes: Sequence[tuple[int, int, int]]) -> tuple[int, int, int]:
    """The padded (S, V, N) of one consensus call for subnets of ``sizes`` = [(neurons,
    validator rows (``row_uids``), max_allowed_validators)] (the due subnets of a block, each with
    neurons): the shape the epoch is compiled for (chain/warmup.py precompiles it)."""
    n = _bucket(max(k for k, _, _ in sizes), 8)
    rows = max(max(permits, min(mav, k)) for k, permits, mav in sizes)
    # every row is a distinct uid, so V never needs to exceed N
    return _bucket(len(sizes)), min(_bucket(rows, 8), n), n


def row_uids(st: State, s: Subnet) -> list[int]:
    """The UIDs that get a validator row in ``s``'s epoch: the permit holders, ascending.

    The owner's UID holds a permit every epoch (on top of the top-k by stake). While it has no
    stake, no weights and no bonds its row could change nothing (a zero-stake row takes no part
    in the consensus or the dividends, and an empty row gives empty bonds), so it is left out:
    otherwise the owner's permit alone would push V to the next power of two on a subnet whose
    top-k permits fill a bucket.
    """

    def idle_owner(n: Neuron) -> bool:
        return (
            n.hotkey == s.owner_hotkey
            and not n.weights
            and not n.bonds
            and st.stake_of(n.hotkey) == 0
        )

    return [n.uid for n in s.neurons if n.validator_permit and not idle_owner(n)]


def _load_consensus() -> Callable[..., Any]:
    """The consensus entry point; ``SUBNETES_CHAIN_CONSENSUS=module:function`` overrides it
    (tests and benchmarks use this to plug in a stand-in with the same signature)."""
    import importlib
    import os

    target = os.environ.get("SUBNETES_CHAIN_CONSENSUS")
    if target:
        mod, _, fn = target.partition(":")
        return getattr(importlib.import_module(mod), fn)
    from subnetes.consensus import run_epochs

    return run_epochs


def _reference_consensus() -> Callable[..., Any]:
    """The NumPy reference with ``run_epochs``' contract (the node's fallback when the
    accelerated call fails)."""
    from subnetes.consensus import reference_epochs

    return reference_epochs


def build_inputs(
    st: State, due: Sequence[tuple[Subnet, int]], block: int
) -> tuple[Any, Any, list[list[int]]]:
    """Consensus inputs for ``due`` = [(subnet, emission rao)], plus each subnet's row uids."""
    from subnetes.consensus import EpochInputs, SubnetParams

    real_s = len(due)
    rows_per = [row_uids(st, s) for s, _ in due]
    sizes = [
        (len(s.neurons), len(r), s.hp.max_allowed_validators)
        for (s, _), r in zip(due, rows_per, strict=True)
    ]
    S, V, N = batch_shape(sizes)
    n_uids = np.zeros(S, np.int64)
    cur = np.full(S, block, np.int64)
    stake = np.zeros((S, N), np.float64)
    reg = np.zeros((S, N), np.int64)
    lu = np.zeros((S, N), np.int64)
    permit = np.zeros((S, N), bool)
    row_uid = np.full((S, V), -1, np.int32)
    weights = np.zeros((S, V, N), np.uint16)
    bonds = np.zeros((S, V, N), np.uint16)
    emission = np.zeros(S, np.int64)
    owner_uid = np.full(S, -1, np.int64)  # -1: the owner's hotkey holds no UID (and padding)
    # One column per SubnetParams field the hyperparameter table feeds (subnetes.wire.hyperparams).
    hp_cols: dict[str, list[Any]] = {}
    for i, (s, em) in enumerate(due):
        n = len(s.neurons)
        n_uids[i] = n
        emission[i] = em
        owner_uid[i] = s.uid_of.get(s.owner_hotkey, -1) if s.owner_hotkey else -1
        for nr in s.neurons:
            stake[i, nr.uid] = float(st.stake_of(nr.hotkey))
            reg[i, nr.uid] = nr.registered_at
            lu[i, nr.uid] = nr.last_update
            permit[i, nr.uid] = nr.validator_permit
        for r, uid in enumerate(rows_per[i]):
            nr = s.neurons[uid]
            row_uid[i, r] = uid
            for j, v in nr.weights.items():
                if j < n:
                    weights[i, r, j] = v
            for j, v in nr.bonds.items():
                if j < n:
                    bonds[i, r, j] = v
        for k, v in consensus_params(s.hp).items():
            hp_cols.setdefault(k, []).append(v)
    # Padding subnets copy the first subnet's parameters (n_uids = 0 masks them out).
    for col in hp_cols.values():
        col.extend([col[0]] * (S - real_s))
    params = SubnetParams.defaults(
        S,
        **{k: np.asarray(v) for k, v in hp_cols.items()},
        stake_threshold=float(st.config.stake_threshold),
    )
    inputs = EpochInputs(
        n_uids=n_uids,
        current_block=cur,
        stake=stake,
        block_at_registration=reg,
        last_update=lu,
        validator_permit=permit,
        row_uid=row_uid,
        weights=weights,
        bonds=bonds,
        emission=emission,
        owner_uid=owner_uid,
    )
    return inputs, params, rows_per


def run_epochs(
    st: State,
    due: Sequence[tuple[Subnet, int]],
    block: int,
    consensus: Callable[..., Any] | None = None,
) -> list[SubnetEpochResult]:
    """Run every due subnet's epoch in ONE consensus call; integer results per subnet."""
    if not due:
        return []
    fn = consensus or _load_consensus()
    inputs, params, _ = build_inputs(st, due, block)
    out = fn(inputs, params)
    row_uid = np.asarray(inputs.row_uid)
    results = []
    for i, (s, _) in enumerate(due):
        n = len(s.neurons)

        def col(name: str, i: int = i, n: int = n) -> list[int]:
            return [int(x) for x in np.asarray(getattr(out, name))[i, :n]]

        b_u16 = np.asarray(out.bonds_u16)[i]
        new_permit = [bool(x) for x in np.asarray(out.validator_permit)[i, :n]]
        bonds: dict[int, dict[int, int]] = {}
        for r, uid in enumerate(row_uid[i]):
            if uid < 0 or not new_permit[uid]:
                continue
            row = b_u16[r, :n]
            nz = np.nonzero(row)[0]
            bonds[int(uid)] = {int(j): int(row[j]) for j in nz}
        results.append(
            SubnetEpochResult(
                netuid=s.netuid,
                active=[bool(x) for x in np.asarray(out.active)[i, :n]],
                validator_permit=new_permit,
                rank=col("rank_u16"),
                trust=col("trust_u16"),
                consensus=col("consensus_u16"),
                incentive=col("incentive_u16"),
                dividends=col("dividends_u16"),
                validator_trust=col("validator_trust_u16"),
                pruning_score=col("pruning_score_u16"),
                server_emission=col("server_emission"),
                validator_emission=col("validator_emission"),
                emission=col("emission"),
                bonds=bonds,
            )
        )
    return results
