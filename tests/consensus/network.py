"""A tiny multi-epoch driver for scenario tests: chains epochs the way the chain does."""

from __future__ import annotations

from typing import Any

import numpy as np

from subnetes.consensus import EpochInputs, EpochOutputs, SubnetParams, run_epochs
from subnetes.consensus.synthetic import rows_from_permits

N, V = 8, 4
U16 = 65535


class Network:
    """``S`` copies of one subnet (each with its own hyperparameters), stepped epoch by epoch.

    UIDs ``validators`` carry stake and permits; the others are miners. ``set_weights`` stores a
    validator's u16 row (max-upscaled as set_weights does); ``step`` runs one epoch for all copies,
    writes the bonds and permits back and returns the outputs.
    """

    def __init__(self, stakes: list[float], n_uids: int, tempo: int = 10, **params: Any) -> None:
        self.tempo = tempo
        self.n = n_uids
        count = len(next(iter(params.values()))) if params else 1
        self.s = count
        self.params = SubnetParams.defaults(count, tempo=tempo, max_allowed_validators=V, **params)
        self.block = 1000
        self.stake = np.zeros((count, N))
        self.stake[:, : len(stakes)] = np.asarray(stakes) * 1e12
        self.reg = np.zeros((count, N), np.int64)
        self.last_update = np.zeros((count, N), np.int64)
        self.permit = np.zeros((count, N), bool)
        self.permit[:, : len(stakes)] = np.asarray(stakes) > 0
        self.weights = np.zeros((count, N, N), np.uint16)  # dense by UID, rows gathered per epoch
        self.bonds = np.zeros((count, N, N), np.uint16)
        self.reset = np.zeros((count, N), bool)
        self.history: list[EpochOutputs] = []

    def set_weights(self, uid: int, row: dict[int, float]) -> None:
        w = np.zeros(N)
        for j, v in row.items():
            w[j] = v
        self.weights[:, uid] = np.round(w / w.max() * U16) if w.max() > 0 else 0
        self.last_update[:, uid] = self.block

    def register(self, uid: int) -> None:
        """A new occupant takes ``uid``: fresh registration block, its own rows wiped."""
        self.reg[:, uid] = self.block
        self.last_update[:, uid] = self.block
        self.weights[:, uid] = 0
        self.bonds[:, uid] = 0
        self.stake[:, uid] = 0

    def step(self) -> EpochOutputs:
        self.block += self.tempo
        rows = rows_from_permits(self.permit, V)
        gather = np.where(rows >= 0, rows, 0)
        idx = np.arange(self.s)[:, None]
        x = EpochInputs(
            n_uids=np.full(self.s, self.n),
            current_block=np.full(self.s, self.block),
            stake=self.stake,
            block_at_registration=self.reg,
            last_update=self.last_update,
            validator_permit=self.permit,
            row_uid=rows,
            weights=np.where((rows >= 0)[..., None], self.weights[idx, gather], 0),
            bonds=np.where((rows >= 0)[..., None], self.bonds[idx, gather], 0),
            bonds_reset=self.reset.copy(),
            emission=np.full(self.s, 10**9),
        )
        out = run_epochs(x, self.params)
        for s in range(self.s):
            for r, uid in enumerate(rows[s]):
                if uid >= 0:
                    self.bonds[s, uid] = out.bonds_u16[s, r]
        self.permit = out.validator_permit.copy()
        self.reset[:] = False
        self.history.append(out)
        return out

    def bond_matrix(self, s: int = 0) -> np.ndarray:
        """Stored bonds of copy ``s`` as a [N, N] float matrix (u16/65535)."""
        return self.bonds[s] / U16
