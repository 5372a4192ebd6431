"""Block production: on_initialize (burn adjustment, emission, root and subnet epochs), then the
extrinsics in order, then the header hash. Pure over (state, extrinsics) except for the
consensus call, so the same genesis and extrinsics give the same hashes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from subnetes.wire.rows import EpochUidRow

from .codec import obj_hash
from .context import Ctx
from .emission import block_emission, owner_cut, split_dividends, subnet_block_emission
from .epoch import SubnetEpochResult, run_epochs
from .errors import ChainError
from .extrinsic import Extrinsic, apply_extrinsic
from .registration import adjust_burn
from .state import ROOT_NETUID, State, Subnet
from .subnets import update_shares
from .views import uid_scores


@dataclass
class BlockRecord:
    """A committed block: header fields, the extrinsics applied, and the events produced."""

    number: int
    hash: str
    parent: str
    timestamp_ms: int
    state_root: str
    extrinsics: list[dict[str, Any]]
    events: list[dict[str, Any]]

    def header(self) -> dict[str, Any]:
        return header_of(
            self.number,
            self.parent,
            self.timestamp_ms,
            self.state_root,
            self.extrinsics,
            self.events,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "hash": self.hash,
            "parent": self.parent,
            "timestamp_ms": self.timestamp_ms,
            "state_root": self.state_root,
            "extrinsics": self.extrinsics,
            "events": self.events,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BlockRecord:
        return cls(**d)


def header_of(
    number: int,
    parent: str,
    ts: int,
    state_root: str,
    xts: list[dict[str, Any]],
    events: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "number": number,
        "parent": parent,
        "timestamp_ms": ts,
        "state_root": state_root,
        "extrinsics_root": obj_hash([x["hash"] for x in xts]),
        "events_root": obj_hash(events),
    }


@dataclass
class Outcome:
    """What happened to one submitted extrinsic in a block."""

    hash: str
    index: int | None = None  # position among the block's applied extrinsics
    error: ChainError | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


def epoch_due(block: int, netuid: int, tempo: int) -> bool:
    """Subnet ``netuid`` runs its epoch at ``block`` when (b + netuid + 1) mod (tempo + 1) == 0."""
    return tempo > 0 and (block + netuid + 1) % (tempo + 1) == 0


def adjust_registrations(st: State, block: int) -> None:
    """Every adjustment_interval blocks move the burn toward the target registrations."""
    for netuid in st.user_subnets():
        s = st.subnets[netuid]
        hp = s.hp
        if block - s.last_adjustment_block >= hp.adjustment_interval:
            sm = st.subnet_mut(netuid)
            sm.burn = adjust_burn(
                s.burn,
                s.regs_this_interval,
                hp.target_registrations_per_interval,
                hp.adjustment_alpha,
                hp.min_burn,
                hp.max_burn,
            )
            sm.regs_this_interval = 0
            sm.last_adjustment_block = block


def accrue_emission(st: State, block: int) -> int:
    """Compute this block's emission from issuance and add each subnet's share to pending."""
    em = block_emission(st.g.issuance)
    if epoch_due(block, ROOT_NETUID, st.subnets[ROOT_NETUID].hp.tempo):
        update_shares(st)
    for netuid in st.user_subnets():
        s = st.subnets[netuid]
        if s.hp.registration_allowed and s.emission_share:
            add = subnet_block_emission(em, s.emission_share)
            if add:
                st.subnet_mut(netuid).pending_emission += add
    return em


def apply_epoch_result(
    st: State, ctx: Ctx, s: Subnet, drained: int, cut: int, r: SubnetEpochResult
) -> None:
    """Store per-UID results, pay miners/validators (stake) and the owner cut (balance), mint."""
    netuid = s.netuid
    credits: list[
        tuple[str, str, int]
    ] = []  # (hotkey, coldkey, rao) computed from pre-epoch stakes
    for uid, nr in enumerate(s.neurons):
        hk = st.hotkeys[nr.hotkey]
        if r.server_emission[uid]:
            credits.append((nr.hotkey, hk.owner, r.server_emission[uid]))
        if r.validator_emission[uid]:
            for ck, amt in split_dividends(
                r.validator_emission[uid], hk.take, hk.owner, hk.stakes
            ).items():
                credits.append((nr.hotkey, ck, amt))
    minted = 0
    for hotkey, ck, amt in credits:
        hk = st.hotkey_mut(hotkey)
        hk.stakes[ck] = hk.stakes.get(ck, 0) + amt
        minted += amt
    if cut and s.owner_coldkey:
        st.account_mut(s.owner_coldkey).balance += cut
        minted += cut
    st.globals_mut().issuance += minted
    uids: list[EpochUidRow] = []
    for uid in range(len(s.neurons)):
        n = st.neuron_mut(netuid, uid)
        n.active = r.active[uid]
        n.validator_permit = r.validator_permit[uid]
        n.rank, n.trust, n.consensus = r.rank[uid], r.trust[uid], r.consensus[uid]
        n.incentive, n.dividends = r.incentive[uid], r.dividends[uid]
        n.validator_trust, n.pruning_score = r.validator_trust[uid], r.pruning_score[uid]
        n.emission = r.emission[uid]
        n.total_emission += n.emission  # per registration: a new hotkey starts a fresh Neuron
        n.bonds = r.bonds.get(uid, {})
        uids.append(
            EpochUidRow(
                **uid_scores(st, n),
                server_emission=r.server_emission[uid],
                validator_emission=r.validator_emission[uid],
            )
        )
    st.subnet_mut(netuid).last_epoch_block = ctx.block
    ctx.emit(
        "EpochResult",
        netuid=netuid,
        pending=drained,
        owner_cut=cut,
        distributed=minted - cut,
        uids=uids,
    )


def run_due_epochs(st: State, ctx: Ctx, consensus: Callable[..., Any] | None) -> None:
    """Drain pending emission of every due subnet and run their epochs in one batched call."""
    due: list[tuple[Subnet, int]] = []
    drains: list[tuple[int, int]] = []
    for netuid in st.user_subnets():
        s = st.subnets[netuid]
        if not epoch_due(ctx.block, netuid, s.hp.tempo):
            continue
        drained = s.pending_emission
        cut = owner_cut(drained, st.config.subnet_owner_cut)
        if drained:
            st.subnet_mut(netuid).pending_emission = 0
        due.append((s, drained - cut))
        drains.append((drained, cut))
    with_neurons = [(i, d) for i, d in enumerate(due) if d[0].neurons]
    results = run_epochs(st, [d for _, d in with_neurons], ctx.block, consensus)
    by_index = {i: res for (i, _), res in zip(with_neurons, results, strict=True)}
    for i, (s, _) in enumerate(due):
        res = by_index.get(i)
        drained, cut = drains[i]
        if res is None:  # no neurons: only the owner cut is paid
            if cut and s.owner_coldkey:
                st.account_mut(s.owner_coldkey).balance += cut
                st.globals_mut().issuance += cut
            continue
        apply_epoch_result(st, ctx, s, drained, cut, res)


def produce_block(
    st: State,
    parent: str,
    genesis: str,
    xts: Sequence[tuple[Extrinsic, bool]],
    consensus: Callable[..., Any] | None = None,
) -> tuple[BlockRecord, list[Outcome], dict[str, bytes | None]]:
    """Build block ``st.g.block + 1`` on ``parent``.

    ``xts``: (extrinsic, signature already verified). Returns the record, one outcome per
    submitted extrinsic (applied with its index, or rejected with its error), and the dirty
    state chunks to commit with the record.
    """
    number = st.g.block + 1
    ctx = Ctx(block=number)
    st.globals_mut().block = number
    adjust_registrations(st, number)
    em = accrue_emission(st, number)
    run_due_epochs(st, ctx, consensus)
    applied: list[dict[str, Any]] = []
    outcomes: list[Outcome] = []
    for xt, verified in xts:
        out = Outcome(hash=xt.hash)
        first = len(ctx.events)
        try:
            apply_extrinsic(st, ctx, xt, genesis, verified)
        except ChainError as e:
            out.error = e
            del ctx.events[first:]
        else:
            out.index = len(applied)
            for ev in ctx.events[first:]:
                ev["extrinsic"] = out.index
            applied.append({"hash": xt.hash, **xt.body()})
        outcomes.append(out)
    ts = st.config.genesis_time_ms + number * st.config.block_time_ms
    ctx.emit("Block", extrinsics=len(applied), block_emission=em, issuance=st.g.issuance)
    for i, ev in enumerate(ctx.events):
        ev["block"] = number
        ev["index"] = i
    dirty = st.take_dirty()
    header = header_of(number, parent, ts, st.state_root(), applied, ctx.events)
    record = BlockRecord(
        number=number,
        hash=obj_hash(header),
        parent=parent,
        timestamp_ms=ts,
        state_root=st.state_root(),
        extrinsics=applied,
        events=ctx.events,
    )
    for out in outcomes:
        if out.index is not None:
            out.events = [e for e in ctx.events if e.get("extrinsic") == out.index]
    return record, outcomes, dirty
