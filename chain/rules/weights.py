"""Weights: validators set weights on a subnet's UIDs, directly or by commit-reveal.

The checks follow Subtensor's order (``check_weights``); the root network's weights over
subnets use the same checks (see :mod:`.root`).
"""

from __future__ import annotations

from typing import Any

from subnetes.wire.codec import obj_hash
from subnetes.wire.events import EventKind

from ..context import Ctx
from ..errors import ErrorName, require
from ..state import ROOT_NETUID, State, Subnet
from ..units import U16_MAX, fmt_tao
from .common import get_subnet, registered_uid

MAX_UNREVEALED_COMMITS = 10


def max_upscale(values: list[int]) -> list[int]:
    """Scale so the largest becomes 65535 (unchanged when all are zero)."""
    m = max(values, default=0)
    if m == 0:
        return list(values)
    return [v * U16_MAX // m for v in values]


def check_weights(
    st: State,
    s: Subnet,
    hotkey: str,
    uids: list[int],
    values: list[int],
    version_key: int,
    now: int,
    rate_limited: bool,
) -> tuple[int, dict[int, int]]:
    """All set_weights checks (Subtensor order); returns (uid, weights to store)."""
    netuid = s.netuid
    require(
        len(uids) == len(values),
        ErrorName.WEIGHT_VEC_NOT_EQUAL_SIZE,
        "uids and values differ in length",
    )
    is_root = netuid == ROOT_NETUID
    limit_n = len(st.user_subnets()) if is_root else len(s.neurons)
    require(
        len(uids) <= max(limit_n, 0) or not uids,
        ErrorName.UIDS_LENGTH_EXCEED_UIDS_IN_SUB_NET,
        f"{len(uids)} weights for {limit_n} {'subnets' if is_root else 'uids'}",
    )
    uid = registered_uid(s, hotkey)
    n = s.neurons[uid]
    is_owner = hotkey == s.owner_hotkey
    require(
        is_owner or st.stake_of(hotkey) >= st.config.stake_threshold,
        ErrorName.NOT_ENOUGH_STAKE_TO_SET_WEIGHTS,
        f"stake below the threshold {fmt_tao(st.config.stake_threshold)} TAO",
    )
    hp = s.hp
    require(
        hp.weights_version_key == 0 or version_key >= hp.weights_version_key,
        ErrorName.INCORRECT_WEIGHT_VERSION_KEY,
        f"version_key {version_key} is below the subnet's {hp.weights_version_key}",
    )
    if rate_limited:
        require(
            n.weights_block < 0 or now - n.weights_block >= hp.weights_rate_limit,
            ErrorName.SETTING_WEIGHTS_TOO_FAST,
            f"weights at most once per {hp.weights_rate_limit} blocks; next at block "
            f"{n.weights_block + hp.weights_rate_limit}",
        )
    self_weight = not is_root and uids == [uid]
    require(
        is_root or self_weight or is_owner or n.validator_permit,
        ErrorName.NEURON_NO_VALIDATOR_PERMIT,
        f"uid {uid} has no validator permit on subnet {netuid}",
    )
    require(len(set(uids)) == len(uids), ErrorName.DUPLICATE_UIDS, "uids contain duplicates")
    if is_root:
        bad = [u for u in uids if u == ROOT_NETUID or u not in st.subnets]
        require(not bad, ErrorName.UID_VEC_CONTAIN_INVALID_ONE, f"unknown netuid(s): {bad}")
    else:
        bad = [u for u in uids if u >= len(s.neurons)]
        require(not bad, ErrorName.UID_VEC_CONTAIN_INVALID_ONE, f"unknown uid(s): {bad}")
    min_w = min(hp.min_allowed_weights, limit_n)
    require(
        self_weight or len(uids) >= min_w,
        ErrorName.WEIGHT_VEC_LENGTH_IS_LOW,
        f"at least {min_w} weights required, got {len(uids)}",
    )
    scaled = max_upscale(values)
    require(
        self_weight or all(v <= hp.max_weight_limit for v in scaled),
        ErrorName.MAX_WEIGHT_EXCEEDED,
        f"a weight exceeds max_weight_limit {hp.max_weight_limit}",
    )
    return uid, {u: v for u, v in zip(uids, scaled, strict=True) if v > 0}


def store_weights(
    st: State, ctx: Ctx, netuid: int, uid: int, hotkey: str, w: dict[int, int]
) -> None:
    """Store checked weights on ``uid`` and stamp the block they were set in."""
    n = st.neuron_mut(netuid, uid)
    n.weights = w
    n.last_update = n.weights_block = ctx.block
    ctx.emit(EventKind.WEIGHTS_SET, netuid=netuid, uid=uid, hotkey=hotkey, count=len(w))


def set_weights(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """A hotkey sets its weights on a subnet without commit-reveal."""
    s = get_subnet(st, a["netuid"])
    require(
        not s.hp.commit_reveal_enabled,
        ErrorName.COMMIT_REVEAL_ENABLED,
        f"subnet {s.netuid} uses commit-reveal: call commit_weights then reveal_weights",
    )
    uid, w = check_weights(st, s, signer, a["uids"], a["values"], a["version_key"], ctx.block, True)
    store_weights(st, ctx, s.netuid, uid, signer, w)


def epoch_index(block: int, netuid: int, tempo: int) -> int:
    """Subtensor's epoch index (b + netuid + 1) div (tempo + 1)."""
    return (block + netuid + 1) // (tempo + 1)


def weights_commit_hash(
    hotkey: str, netuid: int, uids: list[int], values: list[int], salt: list[int], version_key: int
) -> str:
    """Hash a client commits to: canonical JSON of the revealed data (our wire format)."""
    return obj_hash(
        {
            "hotkey": hotkey,
            "netuid": netuid,
            "uids": uids,
            "values": values,
            "salt": salt,
            "version_key": version_key,
        }
    )


def _commit_reveal_neuron(st: State, signer: str, netuid: int) -> tuple[Subnet, int]:
    """The subnet and the signer's UID for a commit or reveal, or reject the extrinsic."""
    s = get_subnet(st, netuid)
    require(
        s.hp.commit_reveal_enabled,
        ErrorName.COMMIT_REVEAL_DISABLED,
        f"commit-reveal is off on subnet {s.netuid}",
    )
    return s, registered_uid(s, signer)


def commit_weights(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Commit the hash of the weights to reveal ``reveal_period_epochs`` later."""
    s, uid = _commit_reveal_neuron(st, signer, a["netuid"])
    n = s.neurons[uid]
    limit = s.hp.weights_rate_limit
    require(
        n.weights_block < 0 or ctx.block - n.weights_block >= limit,
        ErrorName.SETTING_WEIGHTS_TOO_FAST,
        f"commits at most once per {limit} blocks",
    )
    h = a["commit_hash"]
    require(
        isinstance(h, str) and h.startswith("0x") and len(h) == 66,
        ErrorName.INVALID_ARGUMENTS,
        "commit_hash must be a 0x-prefixed 32-byte hex string",
    )
    now_epoch = epoch_index(ctx.block, s.netuid, s.hp.tempo)
    live = [c for c in n.commits if now_epoch <= c[2] + s.hp.reveal_period_epochs]
    require(
        len(live) < MAX_UNREVEALED_COMMITS,
        ErrorName.TOO_MANY_UNREVEALED_COMMITS,
        f"at most {MAX_UNREVEALED_COMMITS} unrevealed commits",
    )
    nm = st.neuron_mut(s.netuid, uid)
    nm.commits = [*live, [h, ctx.block, now_epoch]]
    # A commit counts as activity (Subtensor's set_last_update_for_uid): a validator on a
    # commit-reveal subnet stays active between its reveals.
    nm.weights_block = nm.last_update = ctx.block
    ctx.emit(EventKind.WEIGHTS_COMMITTED, netuid=s.netuid, uid=uid, hotkey=signer, commit_hash=h)


def reveal_weights(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    """Reveal committed weights in their reveal epoch; they are checked and stored then.

    As Subtensor's ``internal_reveal_weights``: the commits form a queue in commit order; the
    expired ones (past their reveal epoch) are dropped first, a reveal matching one of those is
    ``ExpiredWeightCommit``, and a successful reveal consumes every commit up to and including
    the revealed one. Weights on UIDs whose current occupant registered at or after the commit
    block are dropped: the commit named the previous occupant (Subtensor masks those columns).
    """
    s, uid = _commit_reveal_neuron(st, signer, a["netuid"])
    h = weights_commit_hash(signer, s.netuid, a["uids"], a["values"], a["salt"], a["version_key"])
    n = s.neurons[uid]
    now_epoch = epoch_index(ctx.block, s.netuid, s.hp.tempo)
    period = s.hp.reveal_period_epochs
    live = [c for c in n.commits if now_epoch <= c[2] + period]
    pos = next((i for i, c in enumerate(live) if c[0] == h), None)
    expired = pos is None and any(c[0] == h for c in n.commits)
    require(not expired, ErrorName.EXPIRED_WEIGHT_COMMIT, "the commit's reveal epoch is over")
    require(
        pos is not None, ErrorName.NO_WEIGHTS_COMMIT_FOUND, "no commit matches the revealed weights"
    )
    assert pos is not None  # for the type checker: require raised otherwise
    commit = live[pos]
    due = commit[2] + period
    require(now_epoch >= due, ErrorName.REVEAL_TOO_EARLY, f"reveal in epoch {due}; now {now_epoch}")
    uid2, w = check_weights(
        st, s, signer, a["uids"], a["values"], a["version_key"], ctx.block, False
    )
    w = {j: v for j, v in w.items() if s.neurons[j].registered_at < commit[1]}
    st.neuron_mut(s.netuid, uid).commits = live[pos + 1 :]
    store_weights(st, ctx, s.netuid, uid2, signer, w)
