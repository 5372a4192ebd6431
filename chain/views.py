"""Read models: pure functions from chain state to the JSON the HTTP API returns."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from subnetes.wire.governance import ProposalRow, SenateMemberRow, SenateRow
from subnetes.wire.rows import AxonRow, MetagraphRow, NeuronRow, UidScores

from .emission import block_emission
from .registration import is_immune
from .rules.governance import THRESHOLD, governable_parameters
from .rules.subnets import current_lock_cost
from .state import ROOT_NETUID, Neuron, Proposal, State, Subnet
from .units import SHARE_ONE


def network(st: State) -> dict[str, Any]:
    g = st.g
    return {
        "block": g.block,
        "issuance": g.issuance,
        "block_emission": block_emission(g.issuance),
        "total_recycled": g.total_recycled,
        "total_stake": sum(h.total_stake for h in st.hotkeys.values()),
        "lock_cost": current_lock_cost(st, g.block + 1),
        "subnet_limit": st.config.subnet_limit,
        "subnets": len(st.user_subnets()),
        "faucet_enabled": st.config.faucet_enabled,
        "hyperparameter_authority": st.config.hyperparameter_authority,
    }


def account(st: State, ss58: str) -> dict[str, Any]:
    acct = st.accounts.get(ss58)
    stakes = [
        {"hotkey": hk, "amount": h.stakes[ss58]}
        for hk, h in sorted(st.hotkeys.items())
        if ss58 in h.stakes
    ]
    return {
        "address": ss58,
        "balance": acct.balance if acct else 0,
        "nonce": acct.nonce if acct else 0,
        "stakes": stakes,
        "total_stake": sum(s["amount"] for s in stakes),
        "hotkeys": sorted(hk for hk, h in st.hotkeys.items() if h.owner == ss58),
    }


def hotkey(st: State, ss58: str) -> dict[str, Any] | None:
    h = st.hotkeys.get(ss58)
    if h is None:
        return None
    regs = [
        {"netuid": n, "uid": s.uid_of[ss58]}
        for n, s in sorted(st.subnets.items())
        if ss58 in s.uid_of
    ]
    return {
        "hotkey": ss58,
        "owner": h.owner,
        "take": h.take,
        "total_stake": h.total_stake,
        "stakes": [{"coldkey": ck, "amount": a} for ck, a in sorted(h.stakes.items())],
        "registrations": regs,
    }


def subnet(st: State, s: Subnet) -> dict[str, Any]:
    now = st.g.block
    immune_until = s.registered_at + st.config.network_immunity_period
    tempo = s.hp.tempo
    next_epoch = None
    if tempo > 0:
        # next b > now with (b + netuid + 1) % (tempo + 1) == 0
        r = (now + s.netuid + 1) % (tempo + 1)
        next_epoch = now + (tempo + 1 - r if r else tempo + 1)
    return {
        "netuid": s.netuid,
        "owner_coldkey": s.owner_coldkey,
        "owner_hotkey": s.owner_hotkey,
        "registered_at": s.registered_at,
        "immune_until": immune_until if s.netuid != ROOT_NETUID else None,
        "immune": s.netuid != ROOT_NETUID
        and is_immune(now, s.registered_at, st.config.network_immunity_period),
        "lock": s.lock,
        "burn": s.burn,
        "n": len(s.neurons),
        "max_allowed_uids": s.hp.max_allowed_uids,
        "emission_share": s.emission_share,
        "emission_per_block": block_emission(st.g.issuance) * s.emission_share // SHARE_ONE,
        "pending_emission": s.pending_emission,
        "tempo": tempo,
        "last_epoch_block": s.last_epoch_block,
        "next_epoch_block": next_epoch,
        "hyperparameters": s.hp.to_json(),
    }


def metagraph(st: State, s: Subnet) -> MetagraphRow:
    """A subnet's metagraph: one :class:`NeuronRow` per UID."""
    rows = [neuron(st, s, n.uid) for n in s.neurons]
    return {"netuid": s.netuid, "block": st.g.block, "n": len(rows), "neurons": rows}


def uid_scores(st: State, n: Neuron) -> UidScores:
    """The fields a metagraph row and an epoch-result row share, built in this one place."""
    return {
        "uid": n.uid,
        "hotkey": n.hotkey,
        "stake": st.stake_of(n.hotkey),
        "active": n.active,
        "validator_permit": n.validator_permit,
        "rank": n.rank,
        "trust": n.trust,
        "consensus": n.consensus,
        "incentive": n.incentive,
        "dividends": n.dividends,
        "validator_trust": n.validator_trust,
        "pruning_score": n.pruning_score,
        "emission": n.emission,
        "total_emission": n.total_emission,
        "weights_block": n.weights_block,
    }


def neuron(st: State, s: Subnet, uid: int) -> NeuronRow:
    """One metagraph row: UID ``uid`` of subnet ``s`` (the caller checks that it exists)."""
    now = st.g.block
    n = s.neurons[uid]
    h = st.hotkeys.get(n.hotkey)
    axon = cast(AxonRow, dataclasses.asdict(n.axon)) if n.axon else None
    return {
        **uid_scores(st, n),
        "coldkey": h.owner if h else None,
        "last_update": n.last_update,
        "registered_at": n.registered_at,
        "immune_until": n.registered_at + s.hp.immunity_period,
        "immune": is_immune(now, n.registered_at, s.hp.immunity_period),
        "axon": axon,
        "weights": sorted(n.weights.items()),
    }


def senate(st: State) -> SenateRow:
    """The senate (highest stake first), the proposal rules and the governable parameters."""
    root = st.subnets[ROOT_NETUID]
    members: list[SenateMemberRow] = []
    for hk in st.gov.senate:
        h = st.hotkeys.get(hk)
        members.append(
            {
                "hotkey": hk,
                "coldkey": h.owner if h else None,
                "stake": st.stake_of(hk),
                "uid": root.uid_of.get(hk),
            }
        )
    members.sort(key=lambda m: (-m["stake"], 65_536 if m["uid"] is None else m["uid"]))
    c = st.config
    return {
        "block": st.g.block,
        "senate_size": c.senate_size,
        "members": members,
        "proposal_voting_period": c.proposal_voting_period,
        "max_proposals": c.max_proposals,
        "threshold": THRESHOLD,
        "parameters": governable_parameters(st),
    }


def proposal(p: Proposal) -> ProposalRow:
    """One proposal as served."""
    return cast(ProposalRow, dataclasses.asdict(p))
