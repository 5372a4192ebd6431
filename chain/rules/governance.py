"""Governance: the senate (the top root validators by stake) votes on proposals that change
network parameters or a subnet's hyperparameters; a proposal that passes executes once.

- The senate: the top ``senate_size`` root validators with stake > 0, by stake (ties: lower
  root UID). Recomputed at the start of every block (after the epochs, before extrinsics); a
  change emits ``SenateLeft``/``SenateJoined`` and withdraws a leaving member's votes.
- ``propose`` (signed by the coldkey owning a senate hotkey): one change from the allow-list
  (:data:`NETWORK_PARAMS`, or any hyperparameter of a subnet: the root authority over it);
  nothing that moves funds. The proposer's vote is an aye. Open for
  ``proposal_voting_period`` blocks; at most ``max_proposals`` open; the same change may not be
  open twice.
- ``vote``: one vote per member, changeable while the proposal is open.
- Threshold (:data:`THRESHOLD`): ayes more than half of the senate's members execute the
  change at once (in that extrinsic, or at a block start after the senate changed); nays at
  least half reject it; at block ``end`` an undecided proposal expires. A proposal closes
  exactly once (status ``executed``, ``rejected``, ``expired``, or ``failed`` when its change is
  refused at execution).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from subnetes.wire.events import EventKind
from subnetes.wire.hyperparams import INT32_MAX

from ..context import Ctx
from ..errors import ChainError, ErrorName, fail, require
from ..params import check_hyperparam
from ..state import ROOT_NETUID, Proposal, State
from ..units import TOTAL_SUPPLY
from .admin import apply_hyperparameter
from .common import get_subnet

THRESHOLD = (
    "passes when its ayes are more than half of the senate's members; rejected when its nays "
    "are at least half; expires at its end block otherwise"
)


@dataclass(frozen=True)
class NetworkParam:
    """A network parameter proposals may change: an integer in [lo, hi], or one of ``choices``."""

    lo: int = 0
    hi: int = INT32_MAX
    choices: tuple[str, ...] | None = None
    doc: str = ""


# The allow-list of network parameters (ChainConfig fields). Nothing here moves anyone's funds.
NETWORK_PARAMS: dict[str, NetworkParam] = {
    "subnet_limit": NetworkParam(1, 4096, doc="subnet slots"),
    "network_min_lock": NetworkParam(0, TOTAL_SUPPLY, doc="minimum subnet lock (rao)"),
    "network_lock_reduction_interval": NetworkParam(1, doc="blocks for the lock to decay"),
    "network_rate_limit": NetworkParam(doc="blocks between subnet registrations"),
    "network_immunity_period": NetworkParam(doc="blocks a new subnet cannot be pruned"),
    "hyperparameter_authority": NetworkParam(
        choices=("owner", "subtensor"), doc="who sets root-only hyperparameters"
    ),
    "senate_size": NetworkParam(1, 64, doc="senate seats (root has at most 64 validators)"),
    "proposal_voting_period": NetworkParam(1, doc="blocks a proposal stays open"),
    "max_proposals": NetworkParam(1, 100, doc="proposals open at once"),
}


def governable_parameters(st: State) -> dict[str, bool | int | str]:
    """The current value of every network parameter proposals may change."""
    return {name: getattr(st.config, name) for name in NETWORK_PARAMS}


# ---- checks -----------------------------------------------------------------------------------
def require_member(st: State, signer: str, hotkey: str) -> None:
    """``hotkey`` sits in the senate and ``signer`` is its owning coldkey, or reject."""
    require(
        hotkey in st.gov.senate,
        ErrorName.NOT_SENATE_MEMBER,
        f"hotkey {hotkey} is not a senate member",
    )
    owner = st.hotkeys[hotkey].owner if hotkey in st.hotkeys else None
    require(
        owner == signer,
        ErrorName.NON_ASSOCIATED_COLD_KEY,
        f"hotkey {hotkey} is not owned by {signer}",
    )


def check_network_param(name: str, value: Any) -> None:
    """Reject unless ``name`` is on the allow-list and ``value`` is valid for it."""
    spec = NETWORK_PARAMS.get(name)
    require(
        spec is not None,
        ErrorName.PROPOSAL_CALL_NOT_ALLOWED,
        f"{name!r} is not a network parameter proposals may change "
        f"(allowed: {', '.join(NETWORK_PARAMS)}; with netuid: a subnet hyperparameter)",
    )
    assert spec is not None
    if spec.choices is not None:
        require(
            isinstance(value, str) and value in spec.choices,
            ErrorName.INVALID_NETWORK_PARAMETER,
            f"{name} must be one of {', '.join(spec.choices)}",
        )
        return
    ok = isinstance(value, int) and not isinstance(value, bool) and spec.lo <= value <= spec.hi
    require(
        ok,
        ErrorName.INVALID_NETWORK_PARAMETER,
        f"{name} must be an integer in [{spec.lo}, {spec.hi}], got {value!r}",
    )


def check_change(st: State, netuid: int | None, name: str, value: Any) -> None:
    """Reject a change no proposal may make (or whose value is invalid now)."""
    if netuid is None:
        check_network_param(name, value)
        return
    s = get_subnet(st, netuid)  # not root: root's parameters are network parameters
    if isinstance(value, str):
        fail(ErrorName.INVALID_HYPERPARAMETER, f"{name} takes an integer or a boolean")
    try:
        check_hyperparam(s.hp, name, value)
    except ValueError as e:
        fail(ErrorName.INVALID_HYPERPARAMETER, str(e))


# ---- calls ------------------------------------------------------------------------------------
def _same(p: Proposal, netuid: int | None, name: str, value: Any) -> bool:
    # True == 1 in Python: compare the types too (a flag and a number are different changes)
    return (p.netuid, p.name, type(p.value), p.value) == (netuid, name, type(value), value)


def propose(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """A senate member proposes one change; its own vote is an aye."""
    hotkey, netuid, name, value = a["hotkey"], a["netuid"], a["name"], a["value"]
    require_member(st, signer, hotkey)
    check_change(st, netuid, name, value)
    open_ids = st.gov.open
    require(
        len(open_ids) < st.config.max_proposals,
        ErrorName.TOO_MANY_PROPOSALS,
        f"{len(open_ids)} proposals are open, the most this network allows",
    )
    for pid in open_ids:
        require(
            not _same(st.proposals[pid], netuid, name, value),
            ErrorName.DUPLICATE_PROPOSAL,
            f"proposal {pid} already proposes this change",
        )
    gov = st.gov_mut()
    pid = gov.next_id
    gov.next_id += 1
    gov.open.append(pid)
    end = ctx.block + st.config.proposal_voting_period
    st.insert_proposal(
        Proposal(
            id=pid,
            proposer=hotkey,
            coldkey=signer,
            netuid=netuid,
            name=name,
            value=value,
            created=ctx.block,
            end=end,
            ayes=[hotkey],
        )
    )
    ctx.emit(
        EventKind.PROPOSAL_CREATED,
        proposal=pid,
        proposer=hotkey,
        netuid=netuid,
        name=name,
        value=value,
        end=end,
    )
    ctx.emit(EventKind.VOTED, proposal=pid, hotkey=hotkey, approve=True, ayes=1, nays=0)
    settle(st, ctx, pid)


def vote(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """A senate member votes on an open proposal (or changes its vote)."""
    hotkey, pid, approve = a["hotkey"], a["proposal"], a["approve"]
    require_member(st, signer, hotkey)
    p = st.proposals.get(pid)
    require(p is not None, ErrorName.PROPOSAL_MISSING, f"no proposal {pid}")
    assert p is not None
    require(
        p.status in ("open", "expired"),
        ErrorName.PROPOSAL_NOT_OPEN,
        f"proposal {pid} is {p.status}",
    )
    require(
        p.status == "open" and ctx.block < p.end,
        ErrorName.PROPOSAL_EXPIRED,
        f"voting on proposal {pid} closed at block {p.end}",
    )
    require(
        hotkey not in (p.ayes if approve else p.nays),
        ErrorName.DUPLICATE_VOTE,
        f"{hotkey} already voted {'aye' if approve else 'nay'} on proposal {pid}",
    )
    pm = st.proposal_mut(pid)
    mine, other = (pm.ayes, pm.nays) if approve else (pm.nays, pm.ayes)
    if hotkey in other:
        other.remove(hotkey)
    mine.append(hotkey)
    ctx.emit(
        EventKind.VOTED,
        proposal=pid,
        hotkey=hotkey,
        approve=approve,
        ayes=len(pm.ayes),
        nays=len(pm.nays),
    )
    settle(st, ctx, pid)


# ---- deciding ---------------------------------------------------------------------------------
def settle(st: State, ctx: Ctx, pid: int, block_start: bool = False) -> None:
    """Close proposal ``pid`` if it is decided: expired (at a block start, from its end block
    on), executed (ayes > half the senate), or rejected (nays >= half the senate)."""
    p = st.proposals[pid]
    members = len(st.gov.senate)
    if block_start and ctx.block >= p.end:
        _close(st, ctx, p, "expired")
    elif members and 2 * len(p.ayes) > members:
        _execute(st, ctx, p)
    elif members and 2 * len(p.nays) >= members:
        _close(st, ctx, p, "rejected")


def _apply(st: State, ctx: Ctx, p: Proposal) -> None:
    """Make the proposal's change; checks everything before changing anything, so a refusal
    (ChainError) leaves the state as it was."""
    check_change(st, p.netuid, p.name, p.value)
    if p.netuid is not None:
        apply_hyperparameter(st, ctx, p.netuid, p.name, p.value)
        return
    st.gov_mut().params[p.name] = p.value
    st.refresh_config()


def _execute(st: State, ctx: Ctx, p: Proposal) -> None:
    try:
        _apply(st, ctx, p)
    except ChainError as e:  # e.g. the subnet was dissolved, or max_allowed_uids < its UIDs
        _close(st, ctx, p, "failed", e.name)
        return
    _finish(st, p.id, "executed", ctx.block)
    ctx.emit(
        EventKind.PROPOSAL_EXECUTED,
        proposal=p.id,
        netuid=p.netuid,
        name=p.name,
        value=p.value,
        ayes=len(p.ayes),
        nays=len(p.nays),
        senate=len(st.gov.senate),
    )


def _finish(st: State, pid: int, status: str, block: int, error: str | None = None) -> None:
    pm = st.proposal_mut(pid)
    pm.status, pm.closed_at, pm.error = status, block, error
    st.gov_mut().open.remove(pid)


def _close(st: State, ctx: Ctx, p: Proposal, outcome: str, error: str | None = None) -> None:
    _finish(st, p.id, outcome, ctx.block, error)
    extra = {"error": error} if error else {}
    ctx.emit(
        EventKind.PROPOSAL_CLOSED,
        proposal=p.id,
        outcome=outcome,
        ayes=len(p.ayes),
        nays=len(p.nays),
        senate=len(st.gov.senate),
        **extra,
    )


# ---- every block ------------------------------------------------------------------------------
def senate_ranking(st: State) -> list[str]:
    """The hotkeys that should sit in the senate now, highest stake first."""
    root = st.subnets[ROOT_NETUID]
    staked = [(st.stake_of(n.hotkey), n.uid, n.hotkey) for n in root.neurons]
    ranked = sorted((t for t in staked if t[0] > 0), key=lambda t: (-t[0], t[1]))
    return [hk for _, _, hk in ranked[: st.config.senate_size]]


def update_senate(st: State, ctx: Ctx) -> None:
    """Recompute the senate; emit the changes and withdraw leaving members' votes."""
    new = sorted(senate_ranking(st))
    old = st.gov.senate
    if new == old:
        return
    left = sorted(set(old) - set(new))
    joined = sorted(set(new) - set(old))
    gov = st.gov_mut()
    gov.senate = new
    for hk in left:
        for pid in gov.open:
            p = st.proposals[pid]
            if hk in p.ayes or hk in p.nays:
                pm = st.proposal_mut(pid)
                pm.ayes = [h for h in pm.ayes if h != hk]
                pm.nays = [h for h in pm.nays if h != hk]
        ctx.emit(EventKind.SENATE_LEFT, hotkey=hk, stake=st.stake_of(hk))
    for hk in joined:
        ctx.emit(EventKind.SENATE_JOINED, hotkey=hk, stake=st.stake_of(hk))


def update_governance(st: State, ctx: Ctx) -> None:
    """At the start of a block: recompute the senate, then settle the open proposals (a
    change of the senate can decide one; an undecided one expires at its end block)."""
    update_senate(st, ctx)
    for pid in list(st.gov.open):
        settle(st, ctx, pid, block_start=True)
