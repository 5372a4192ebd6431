"""A small NumPy stand-in with ``subnetes.consensus.run_epochs``'s signature and outputs.

Used only when the real consensus cannot run (so the chain suite never depends on another
component's progress); it is a simplified Yuma: incentive = normalized stake-weighted
weights, dividends = validator stake share, 50/50 split, bonds = weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

U16 = 65535


def run_epochs(inputs: Any, params: Any, **_: Any) -> Any:
    from subnetes.consensus import EpochOutputs

    S, V, N = np.asarray(inputs.weights).shape
    f = np.zeros((S, N))
    out: dict[str, Any] = {k: f.copy() for k in EpochOutputs._fields}
    out["active"] = np.zeros((S, N), bool)
    out["validator_permit"] = np.zeros((S, N), bool)
    out["bonds"] = np.zeros((S, V, N))
    for s in range(S):
        n = int(inputs.n_uids[s])
        if n == 0:
            continue
        stake = np.asarray(inputs.stake[s, :n], float)
        st = stake / stake.sum() if stake.sum() > 0 else stake
        k = int(params.max_allowed_validators[s])
        order = np.argsort(st, kind="stable")
        permit = np.zeros(n, bool)
        permit[order[max(0, n - k) :]] = True
        permit &= st > 0
        active = inputs.last_update[s, :n] + params.activity_cutoff[s] >= inputs.current_block[s]
        rank = np.zeros(n)
        dv = np.zeros(n)
        for r in range(V):
            uid = int(inputs.row_uid[s, r])
            if uid < 0 or not inputs.validator_permit[s, uid]:
                continue
            w = np.asarray(inputs.weights[s, r, :n], float)
            w[uid] = 0
            if w.sum() > 0:
                rank += st[uid] * w / w.sum()
                dv[uid] = st[uid]
        inc = rank / rank.sum() if rank.sum() > 0 else rank
        div = dv / dv.sum() if dv.sum() > 0 else dv
        if inc.sum() > 0:
            se, ve = inc / 2, div / 2
        else:
            se, ve = np.zeros(n), st.copy()
        nce = se + ve
        em = int(inputs.emission[s]) if inputs.emission is not None else 0
        out["active"][s, :n] = active
        out["validator_permit"][s, :n] = permit
        out["stake"][s, :n] = st
        for name, x in (
            ("incentive", inc),
            ("rank", inc),
            ("dividends", div),
            ("trust", inc),
            ("consensus", inc),
            ("validator_trust", div),
            ("server_share", se),
            ("validator_share", ve),
            ("combined_share", nce),
        ):
            out[name][s, :n] = x
        out["pruning_score"][s, :n] = nce / nce.max() if nce.max() > 0 else nce
        out["server_emission"][s, :n] = np.floor(se * em)
        out["validator_emission"][s, :n] = np.floor(ve * em)
        out["emission"][s, :n] = np.floor(nce * em)
        for r in range(V):
            uid = int(inputs.row_uid[s, r])
            if uid >= 0 and permit[uid]:
                w = np.asarray(inputs.weights[s, r], float)
                out["bonds"][s, r] = w / w.max() if w.max() > 0 else w
    for name in (
        "stake",
        "consensus",
        "validator_trust",
        "incentive",
        "dividends",
        "rank",
        "trust",
        "pruning_score",
        "bonds",
    ):
        out[name + "_u16"] = np.floor(np.clip(out[name], 0, 1) * U16).astype(np.uint16)
    for name in ("server_emission", "validator_emission", "emission"):
        out[name] = out[name].astype(np.int64)
    return EpochOutputs(**out)
