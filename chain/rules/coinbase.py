"""Coinbase: what every block does before its extrinsics, after the burn adjustment.

Emission accrues to each subnet by its share (root shares refreshed on root epochs); on a
subnet's epoch block its pending emission is drained (less the owner cut), every due subnet's
epoch runs in ONE batched consensus call (``chain/epoch.py``), and the results are paid:
incentive to miners' stake, dividends (less the delegate take) to validators' nominators,
the owner cut to the owner's balance; issuance grows by exactly what is paid. Miner incentive
that lands on the subnet owner's hotkey (it may weight itself) is withheld, i.e. burned: never
minted (Subtensor's ``distribute_dividends_and_incentives`` burns it by default). Each UID's
epoch emission is also added to its registration's ``total_emission``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from subnetes.wire.events import EventKind
from subnetes.wire.rows import EpochUidRow

from ..context import Ctx
from ..emission import block_emission, owner_cut, split_dividends, subnet_block_emission
from ..epoch import SubnetEpochResult, run_epochs
from ..state import ROOT_NETUID, State, Subnet
from ..views import uid_scores
from .root import update_shares


def epoch_due(block: int, netuid: int, tempo: int) -> bool:
    """Subnet ``netuid`` runs its epoch at ``block`` when (b + netuid + 1) mod (tempo + 1) == 0."""
    return tempo > 0 and (block + netuid + 1) % (tempo + 1) == 0


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
        # The owner's hotkey earns no miner incentive: its self-weight burns that share.
        if r.server_emission[uid] and nr.hotkey != s.owner_hotkey:
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
        EventKind.EPOCH_RESULT,
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
