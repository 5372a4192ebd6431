"""Extrinsic call handlers: one function per call, checks first, then mutation.

Every handler validates all of its rules before it changes anything, so a raised
:class:`ChainError` leaves the state untouched (tests compare full state before/after).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from subnetes.wire.ss58 import is_ss58

from .codec import obj_hash
from .context import Ctx
from .errors import fail, require
from .neurons import add_neuron, claim_hotkey, ensure_hotkey, replacement_uid, root_replacement_uid
from .params import ROOT_ONLY_HYPERPARAMS, check_hyperparam
from .state import ROOT_NETUID, Axon, State, Subnet
from .subnets import current_lock_cost, next_netuid, remove_subnet, update_shares
from .units import U16_MAX, U64_MAX, fmt_tao

MAX_UNREVEALED_COMMITS = 10

# ---- argument schemas ---------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    """One call argument: kind in {"int", "u16", "ss58", "bool", "str", "u16list", "intlist", "value"}."""

    kind: str
    required: bool = True
    default: Any = None


def _check_arg(name: str, spec: Arg, v: Any) -> None:
    def bad(why: str) -> None:
        fail("InvalidArguments", f"argument {name!r} {why}")

    is_int = isinstance(v, int) and not isinstance(v, bool)
    if spec.kind == "int":
        if not is_int or not 0 <= v <= U64_MAX:
            bad("must be an integer in [0, 2^64-1]")
    elif spec.kind == "u16":
        if not is_int or not 0 <= v <= U16_MAX:
            bad("must be an integer in [0, 65535]")
    elif spec.kind == "bool":
        if not isinstance(v, bool):
            bad("must be a boolean")
    elif spec.kind == "str":
        if not isinstance(v, str) or len(v) > 256:
            bad("must be a string of at most 256 characters")
    elif spec.kind == "ss58":
        if not isinstance(v, str) or not is_ss58(v):
            bad("must be an SS58 address (format 42)")
    elif spec.kind in ("u16list", "intlist"):
        hi = U16_MAX if spec.kind == "u16list" else U64_MAX
        if not isinstance(v, list) or len(v) > 65_536:
            bad("must be a list of at most 65536 integers")
        for x in v:
            if not (isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= hi):
                bad(f"must hold integers in [0, {hi}]")
    elif spec.kind == "value" and not (
        isinstance(v, bool) or (isinstance(v, int) and 0 <= v <= U64_MAX)
    ):
        bad("must be a boolean or a non-negative integer")


def validate_args(call: str, args: Any) -> dict[str, Any]:
    """Check ``args`` against the call's schema (unknown, missing, wrong types) and fill defaults."""
    if call not in CALLS:
        fail("UnknownCall", f"unknown call {call!r}")
    if not isinstance(args, dict):
        fail("InvalidArguments", "args must be a JSON object")
    schema = CALLS[call].args
    unknown = sorted(set(args) - set(schema))
    if unknown:
        fail("InvalidArguments", f"unknown argument(s) for {call}: {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for name, spec in schema.items():
        if name not in args:
            if spec.required:
                fail("InvalidArguments", f"missing argument {name!r} for {call}")
            out[name] = spec.default
            continue
        _check_arg(name, spec, args[name])
        out[name] = args[name]
    return out


# ---- helpers --------------------------------------------------------------------------------


def _subnet(st: State, netuid: int, allow_root: bool = False) -> Subnet:
    s = st.subnets.get(netuid)
    require(s is not None, "SubNetworkDoesNotExist", f"subnet {netuid} does not exist")
    assert s is not None
    if not allow_root:
        require(
            netuid != ROOT_NETUID,
            "RootNetworkNotAllowed",
            "this call is not allowed on root (netuid 0)",
        )
    return s


def _registered_uid(s: Subnet, hotkey: str) -> int:
    """The UID ``hotkey`` holds on subnet ``s``, or reject the extrinsic."""
    uid = s.uid_of.get(hotkey)
    require(
        uid is not None,
        "HotKeyNotRegisteredInSubNet",
        f"hotkey {hotkey} is not registered on subnet {s.netuid}",
    )
    assert uid is not None
    return uid


def _pay(st: State, who: str, amount: int, error: str, what: str) -> None:
    have = st.balance(who)
    require(
        have >= amount, error, f"{what} needs {fmt_tao(amount)} TAO, balance is {fmt_tao(have)}"
    )


def _is_sudo(st: State, signer: str) -> bool:
    return st.config.sudo_key is not None and signer == st.config.sudo_key


# ---- balances -------------------------------------------------------------------------------


def transfer(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    require(a["amount"] > 0, "AmountTooLow", "transfer amount must be positive")
    _pay(st, signer, a["amount"], "InsufficientBalance", "transfer")
    st.account_mut(signer).balance -= a["amount"]
    st.account_mut(a["dest"]).balance += a["amount"]
    ctx.emit("Transfer", source=signer, dest=a["dest"], amount=a["amount"])


def faucet(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    require(st.config.faucet_enabled, "FaucetDisabled", "the faucet exists only on dev networks")
    amount = a["amount"]
    require(
        0 < amount <= st.config.faucet_max,
        "FaucetAmountTooHigh",
        f"faucet amount must be in (0, {fmt_tao(st.config.faucet_max)}] TAO",
    )
    dest = a["dest"] or signer
    st.account_mut(dest).balance += amount
    st.globals_mut().issuance += amount
    ctx.emit("Faucet", dest=dest, amount=amount)


def sudo_set_balance(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    require(_is_sudo(st, signer), "NotSudo", "only the sudo key may call sudo_*")
    old = st.balance(a["who"])
    st.account_mut(a["who"]).balance = a["amount"]
    st.globals_mut().issuance += a["amount"] - old
    ctx.emit("BalanceSet", who=a["who"], amount=a["amount"])


# ---- subnets --------------------------------------------------------------------------------


def register_network(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    now, hotkey = ctx.block, a["hotkey"]
    g, c = st.g, st.config
    require(
        g.last_lock_block is None or now - g.last_lock_block >= c.network_rate_limit,
        "NetworkTxRateLimitExceeded",
        f"one subnet registration per {c.network_rate_limit} blocks; next at block "
        f"{(g.last_lock_block or 0) + c.network_rate_limit}",
    )
    cost = current_lock_cost(st, now)
    if a["max_lock_cost"] is not None:
        require(
            cost <= a["max_lock_cost"],
            "LockCostExceedsLimit",
            f"lock cost {fmt_tao(cost)} TAO exceeds the limit {fmt_tao(a['max_lock_cost'])} TAO",
        )
    _pay(st, signer, cost, "CannotAffordLockCost", "subnet registration")
    ensure_hotkey(st, hotkey, signer)
    netuid, victim = next_netuid(st, now)
    require(
        netuid is not None,
        "AllNetworksInImmunity",
        f"the network is full ({c.subnet_limit} subnets) and every subnet is immune",
    )
    assert netuid is not None
    # -- mutation --
    if victim is not None:
        remove_subnet(st, ctx, victim, reason="pruned")
    st.account_mut(signer).balance -= cost
    gm = st.globals_mut()
    gm.last_lock, gm.last_lock_block = cost, now
    claim_hotkey(st, hotkey, signer)
    st.insert_subnet(
        Subnet(
            netuid=netuid,
            owner_coldkey=signer,
            owner_hotkey=hotkey,
            registered_at=now,
            hp=c.default_hyperparams,
            lock=cost,
            burn=max(
                c.default_hyperparams.min_burn, min(c.default_hyperparams.max_burn, c.initial_burn)
            ),
            last_adjustment_block=now,
            last_epoch_block=now,
        )
    )
    ctx.emit("SubnetRegistered", netuid=netuid, owner=signer, owner_hotkey=hotkey, lock=cost)
    add_neuron(st, ctx, netuid, hotkey, None)
    update_shares(st)


def dissolve_network(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    s = _subnet(st, a["netuid"])
    require(
        signer == s.owner_coldkey or _is_sudo(st, signer),
        "NotSubnetOwner",
        f"only the owner of subnet {s.netuid} may dissolve it",
    )
    remove_subnet(st, ctx, s.netuid, reason="dissolved")


def set_hyperparameter(
    st: State, ctx: Ctx, signer: str, a: dict[str, Any], sudo: bool = False
) -> None:
    s = _subnet(st, a["netuid"])
    name, value = a["name"], a["value"]
    is_sudo = _is_sudo(st, signer)
    if sudo:
        require(is_sudo, "NotSudo", "only the sudo key may call sudo_*")
    else:
        require(
            signer == s.owner_coldkey or is_sudo,
            "NotSubnetOwner",
            f"only the owner of subnet {s.netuid} may set its hyperparameters",
        )
        if st.config.hyperparameter_authority == "subtensor" and name in ROOT_ONLY_HYPERPARAMS:
            require(is_sudo, "NotSudo", f"{name} is root-only on this network")
    try:
        hp = check_hyperparam(s.hp, name, value)
    except ValueError as e:
        fail("InvalidHyperparameter", str(e))
    if name == "max_allowed_uids":
        require(
            value >= len(s.neurons),
            "MaxAllowedUidsLessThanCurrentUids",
            f"max_allowed_uids {value} is below the current {len(s.neurons)} UIDs",
        )
    st.subnet_mut(s.netuid).hp = hp
    if name == "registration_allowed":
        update_shares(st)
    ctx.emit("HyperparameterSet", netuid=s.netuid, name=name, value=value)


def sudo_set_hyperparameter(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    set_hyperparameter(st, ctx, signer, a, sudo=True)


def reset_bonds(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    s = _subnet(st, a["netuid"])
    require(
        signer == s.owner_coldkey or _is_sudo(st, signer),
        "NotSubnetOwner",
        f"only the owner of subnet {s.netuid} may reset its bonds",
    )
    uid = a["uid"]
    require(uid is None or uid < len(s.neurons), "UidNotFound", f"uid {uid} does not exist")
    for n in s.neurons:
        if uid is None and n.bonds:
            st.neuron_mut(s.netuid, n.uid).bonds.clear()
        elif uid is not None and uid in n.bonds:
            st.neuron_mut(s.netuid, n.uid).bonds.pop(uid)
    ctx.emit("BondsReset", netuid=s.netuid, uid=uid)


# ---- neurons --------------------------------------------------------------------------------


def burned_register(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    netuid, hotkey = a["netuid"], a["hotkey"]
    require(
        netuid != ROOT_NETUID,
        "RegistrationNotPermittedOnRootSubnet",
        "use root_register to join the root network",
    )
    s = _subnet(st, netuid)
    hp = s.hp
    require(
        hp.registration_allowed,
        "SubNetRegistrationDisabled",
        f"registration is disabled on subnet {netuid}",
    )
    regs_now = s.regs_this_block if s.regs_block == ctx.block else 0
    require(
        regs_now < hp.max_registrations_per_block,
        "TooManyRegistrationsThisBlock",
        f"at most {hp.max_registrations_per_block} registration(s) per block on subnet {netuid}",
    )
    require(
        s.regs_this_interval < 3 * hp.target_registrations_per_interval,
        "TooManyRegistrationsThisInterval",
        f"at most {3 * hp.target_registrations_per_interval} registrations per interval on subnet {netuid}",
    )
    require(
        hotkey not in s.uid_of,
        "HotKeyAlreadyRegisteredInSubNet",
        f"hotkey {hotkey} already has uid {s.uid_of.get(hotkey)} on subnet {netuid}",
    )
    ensure_hotkey(st, hotkey, signer)
    if a["max_burn"] is not None:
        require(
            s.burn <= a["max_burn"],
            "BurnExceedsLimit",
            f"burn {fmt_tao(s.burn)} TAO exceeds the limit {fmt_tao(a['max_burn'])} TAO",
        )
    _pay(st, signer, s.burn, "NotEnoughBalanceToStake", "registration burn")
    uid = None
    if len(s.neurons) >= hp.max_allowed_uids:
        uid = replacement_uid(st, netuid, ctx.block)
        require(
            uid is not None,
            "NoNeuronIdAvailable",
            f"subnet {netuid} is full and no uid can be pruned",
        )
    # -- mutation --
    burn = s.burn
    st.account_mut(signer).balance -= burn
    gm = st.globals_mut()
    gm.issuance -= burn  # recycled: lowers issuance, delaying halvings
    gm.total_recycled += burn
    claim_hotkey(st, hotkey, signer)
    sm = st.subnet_mut(netuid)
    sm.regs_this_block, sm.regs_block = regs_now + 1, ctx.block
    sm.regs_this_interval += 1
    uid = add_neuron(st, ctx, netuid, hotkey, uid)
    ctx.events[-1]["burn"] = burn


def root_register(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    hotkey = a["hotkey"]
    root = st.subnets[ROOT_NETUID]
    require(
        hotkey not in root.uid_of,
        "HotKeyAlreadyRegisteredInSubNet",
        f"hotkey {hotkey} is already a root validator",
    )
    ensure_hotkey(st, hotkey, signer)
    uid = None
    if len(root.neurons) >= root.hp.max_allowed_uids:
        uid = root_replacement_uid(st, hotkey)
        require(
            uid is not None,
            "StakeTooLowForRoot",
            "root is full and the hotkey has no more stake than the lowest root validator",
        )
    claim_hotkey(st, hotkey, signer)
    add_neuron(st, ctx, ROOT_NETUID, hotkey, uid)
    update_shares(st)


def serve_axon(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    s = _subnet(st, a["netuid"], allow_root=True)
    uid = _registered_uid(s, signer)
    try:
        ip = ipaddress.ip_address(a["ip"])
    except ValueError:
        fail("InvalidIpAddress", f"{a['ip']!r} is not an IPv4/IPv6 address")
    require(1 <= a["port"] <= 65535, "InvalidPort", "port must be in [1, 65535]")
    assert uid is not None
    n = s.neurons[uid]
    limit = s.hp.serving_rate_limit
    require(
        n.axon is None or limit == 0 or ctx.block - n.axon.block >= limit,
        "ServingRateLimitExceeded",
        f"serve_axon at most once per {limit} blocks",
    )
    st.neuron_mut(s.netuid, uid).axon = Axon(
        block=ctx.block,
        ip=str(ip),
        port=a["port"],
        ip_type=ip.version,
        protocol=a["protocol"],
        version=a["version"],
    )
    ctx.emit(
        "AxonServed",
        netuid=s.netuid,
        uid=uid,
        hotkey=signer,
        ip=str(ip),
        port=a["port"],
        protocol=a["protocol"],
    )


# ---- stake ----------------------------------------------------------------------------------


def add_stake(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    hotkey, amount = a["hotkey"], a["amount"]
    require(amount > 0, "AmountTooLow", "stake amount must be positive")
    require(
        hotkey in st.hotkeys,
        "HotKeyAccountNotExists",
        f"hotkey {hotkey} is not registered anywhere",
    )
    _pay(st, signer, amount, "NotEnoughBalanceToStake", "add_stake")
    st.account_mut(signer).balance -= amount
    hk = st.hotkey_mut(hotkey)
    hk.stakes[signer] = hk.stakes.get(signer, 0) + amount
    ctx.emit(
        "StakeChanged",
        hotkey=hotkey,
        coldkey=signer,
        delta=amount,
        stake=hk.stakes[signer],
        total_stake=hk.total_stake,
    )


def remove_stake(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    hotkey, amount = a["hotkey"], a["amount"]
    require(amount > 0, "AmountTooLow", "unstake amount must be positive")
    hk = st.hotkeys.get(hotkey)
    require(hk is not None, "HotKeyAccountNotExists", f"hotkey {hotkey} is not registered anywhere")
    assert hk is not None
    have = hk.stakes.get(signer, 0)
    require(
        have >= amount,
        "NotEnoughStakeToWithdraw",
        f"stake of {signer} on {hotkey} is {fmt_tao(have)} TAO, cannot remove {fmt_tao(amount)}",
    )
    hk = st.hotkey_mut(hotkey)
    hk.stakes[signer] -= amount
    if hk.stakes[signer] == 0:
        del hk.stakes[signer]
    st.account_mut(signer).balance += amount
    ctx.emit(
        "StakeChanged",
        hotkey=hotkey,
        coldkey=signer,
        delta=-amount,
        stake=hk.stakes.get(signer, 0),
        total_stake=hk.total_stake,
    )


def set_take(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    hotkey, take = a["hotkey"], a["take"]
    hk = st.hotkeys.get(hotkey)
    require(hk is not None, "HotKeyAccountNotExists", f"hotkey {hotkey} is not registered anywhere")
    assert hk is not None
    require(hk.owner == signer, "NonAssociatedColdKey", f"hotkey {hotkey} is not owned by {signer}")
    require(
        take <= st.config.max_take,
        "DelegateTakeTooHigh",
        f"take {take} exceeds the maximum {st.config.max_take} (u16)",
    )
    if take > hk.take:
        limit = st.config.take_rate_limit
        require(
            ctx.block - hk.last_take_change >= limit or hk.last_take_change == 0,
            "DelegateTxRateLimitExceeded",
            f"take increases at most once per {limit} blocks",
        )
    hkm = st.hotkey_mut(hotkey)
    hkm.take, hkm.last_take_change = take, ctx.block
    ctx.emit("DelegateTakeSet", hotkey=hotkey, take=take)


# ---- weights --------------------------------------------------------------------------------


def max_upscale(values: list[int]) -> list[int]:
    """Scale so the largest becomes 65535 (unchanged when all are zero)."""
    m = max(values, default=0)
    if m == 0:
        return list(values)
    return [v * U16_MAX // m for v in values]


def _check_weights(
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
    require(len(uids) == len(values), "WeightVecNotEqualSize", "uids and values differ in length")
    is_root = netuid == ROOT_NETUID
    limit_n = len(st.user_subnets()) if is_root else len(s.neurons)
    require(
        len(uids) <= max(limit_n, 0) or not uids,
        "UidsLengthExceedUidsInSubNet",
        f"{len(uids)} weights for {limit_n} {'subnets' if is_root else 'uids'}",
    )
    uid = _registered_uid(s, hotkey)
    n = s.neurons[uid]
    is_owner = hotkey == s.owner_hotkey
    require(
        is_owner or st.stake_of(hotkey) >= st.config.stake_threshold,
        "NotEnoughStakeToSetWeights",
        f"stake below the threshold {fmt_tao(st.config.stake_threshold)} TAO",
    )
    hp = s.hp
    require(
        hp.weights_version_key == 0 or version_key >= hp.weights_version_key,
        "IncorrectWeightVersionKey",
        f"version_key {version_key} is below the subnet's {hp.weights_version_key}",
    )
    if rate_limited:
        require(
            n.weights_block < 0 or now - n.weights_block >= hp.weights_rate_limit,
            "SettingWeightsTooFast",
            f"weights at most once per {hp.weights_rate_limit} blocks; next at block "
            f"{n.weights_block + hp.weights_rate_limit}",
        )
    self_weight = not is_root and uids == [uid]
    require(
        is_root or self_weight or is_owner or n.validator_permit,
        "NeuronNoValidatorPermit",
        f"uid {uid} has no validator permit on subnet {netuid}",
    )
    require(len(set(uids)) == len(uids), "DuplicateUids", "uids contain duplicates")
    if is_root:
        bad = [u for u in uids if u == ROOT_NETUID or u not in st.subnets]
        require(not bad, "UidVecContainInvalidOne", f"unknown netuid(s): {bad}")
    else:
        bad = [u for u in uids if u >= len(s.neurons)]
        require(not bad, "UidVecContainInvalidOne", f"unknown uid(s): {bad}")
    min_w = min(hp.min_allowed_weights, limit_n)
    require(
        self_weight or len(uids) >= min_w,
        "WeightVecLengthIsLow",
        f"at least {min_w} weights required, got {len(uids)}",
    )
    scaled = max_upscale(values)
    require(
        self_weight or all(v <= hp.max_weight_limit for v in scaled),
        "MaxWeightExceeded",
        f"a weight exceeds max_weight_limit {hp.max_weight_limit}",
    )
    return uid, {u: v for u, v in zip(uids, scaled, strict=True) if v > 0}


def _store_weights(
    st: State, ctx: Ctx, netuid: int, uid: int, hotkey: str, w: dict[int, int]
) -> None:
    n = st.neuron_mut(netuid, uid)
    n.weights = w
    n.last_update = n.weights_block = ctx.block
    ctx.emit("WeightsSet", netuid=netuid, uid=uid, hotkey=hotkey, count=len(w))


def set_weights(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    s = _subnet(st, a["netuid"])
    require(
        not s.hp.commit_reveal_enabled,
        "CommitRevealEnabled",
        f"subnet {s.netuid} uses commit-reveal: call commit_weights then reveal_weights",
    )
    uid, w = _check_weights(
        st, s, signer, a["uids"], a["values"], a["version_key"], ctx.block, True
    )
    _store_weights(st, ctx, s.netuid, uid, signer, w)


def set_root_weights(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    s = st.subnets[ROOT_NETUID]
    uid, w = _check_weights(
        st, s, signer, a["netuids"], a["values"], a["version_key"], ctx.block, True
    )
    _store_weights(st, ctx, ROOT_NETUID, uid, signer, w)


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


def commit_weights(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    s = _subnet(st, a["netuid"])
    require(
        s.hp.commit_reveal_enabled,
        "CommitRevealDisabled",
        f"commit-reveal is off on subnet {s.netuid}",
    )
    uid = _registered_uid(s, signer)
    n = s.neurons[uid]
    limit = s.hp.weights_rate_limit
    require(
        n.weights_block < 0 or ctx.block - n.weights_block >= limit,
        "SettingWeightsTooFast",
        f"commits at most once per {limit} blocks",
    )
    h = a["commit_hash"]
    require(
        isinstance(h, str) and h.startswith("0x") and len(h) == 66,
        "InvalidArguments",
        "commit_hash must be a 0x-prefixed 32-byte hex string",
    )
    now_epoch = epoch_index(ctx.block, s.netuid, s.hp.tempo)
    live = [c for c in n.commits if now_epoch <= c[2] + s.hp.reveal_period_epochs]
    require(
        len(live) < MAX_UNREVEALED_COMMITS,
        "TooManyUnrevealedCommits",
        f"at most {MAX_UNREVEALED_COMMITS} unrevealed commits",
    )
    nm = st.neuron_mut(s.netuid, uid)
    nm.commits = [*live, [h, ctx.block, now_epoch]]
    nm.weights_block = ctx.block
    ctx.emit("WeightsCommitted", netuid=s.netuid, uid=uid, hotkey=signer, commit_hash=h)


def reveal_weights(st: State, ctx: Ctx, signer: str, a: dict[str, Any]) -> None:
    s = _subnet(st, a["netuid"])
    require(
        s.hp.commit_reveal_enabled,
        "CommitRevealDisabled",
        f"commit-reveal is off on subnet {s.netuid}",
    )
    uid = _registered_uid(s, signer)
    h = weights_commit_hash(signer, s.netuid, a["uids"], a["values"], a["salt"], a["version_key"])
    n = s.neurons[uid]
    match = [c for c in n.commits if c[0] == h]
    require(match, "NoWeightsCommitFound", "no commit matches the revealed weights")
    now_epoch = epoch_index(ctx.block, s.netuid, s.hp.tempo)
    due = match[0][2] + s.hp.reveal_period_epochs
    require(now_epoch >= due, "RevealTooEarly", f"reveal in epoch {due}; now {now_epoch}")
    require(now_epoch == due, "ExpiredWeightCommit", f"the commit expired after epoch {due}")
    uid2, w = _check_weights(
        st, s, signer, a["uids"], a["values"], a["version_key"], ctx.block, False
    )
    st.neuron_mut(s.netuid, uid).commits = [c for c in n.commits if c[0] != h]
    _store_weights(st, ctx, s.netuid, uid2, signer, w)


# ---- dispatch table -------------------------------------------------------------------------


@dataclass(frozen=True)
class CallSpec:
    fn: Callable[[State, Ctx, str, dict[str, Any]], None]
    args: dict[str, Arg]
    doc: str


_N = Arg("int")
CALLS: dict[str, CallSpec] = {
    "transfer": CallSpec(transfer, {"dest": Arg("ss58"), "amount": _N}, "coldkey: send rao"),
    "faucet": CallSpec(faucet, {"amount": _N, "dest": Arg("ss58", False)}, "dev only: mint rao"),
    "register_network": CallSpec(
        register_network,
        {"hotkey": Arg("ss58"), "max_lock_cost": Arg("int", False)},
        "coldkey: register a subnet paying the lock; hotkey becomes UID 0",
    ),
    "dissolve_network": CallSpec(
        dissolve_network, {"netuid": _N}, "owner coldkey: remove a subnet"
    ),
    "burned_register": CallSpec(
        burned_register,
        {"netuid": _N, "hotkey": Arg("ss58"), "max_burn": Arg("int", False)},
        "coldkey: register hotkey on a subnet paying the burn",
    ),
    "root_register": CallSpec(
        root_register, {"hotkey": Arg("ss58")}, "coldkey: join root (netuid 0)"
    ),
    "add_stake": CallSpec(
        add_stake, {"hotkey": Arg("ss58"), "amount": _N}, "coldkey: stake on a hotkey"
    ),
    "remove_stake": CallSpec(
        remove_stake, {"hotkey": Arg("ss58"), "amount": _N}, "coldkey: unstake"
    ),
    "set_take": CallSpec(
        set_take, {"hotkey": Arg("ss58"), "take": Arg("u16")}, "owner coldkey: delegate take"
    ),
    "set_weights": CallSpec(
        set_weights,
        {
            "netuid": _N,
            "uids": Arg("u16list"),
            "values": Arg("u16list"),
            "version_key": Arg("int", False, 0),
        },
        "hotkey: set weights",
    ),
    "commit_weights": CallSpec(
        commit_weights, {"netuid": _N, "commit_hash": Arg("str")}, "hotkey: commit a weights hash"
    ),
    "reveal_weights": CallSpec(
        reveal_weights,
        {
            "netuid": _N,
            "uids": Arg("u16list"),
            "values": Arg("u16list"),
            "salt": Arg("u16list"),
            "version_key": Arg("int", False, 0),
        },
        "hotkey: reveal committed weights",
    ),
    "set_root_weights": CallSpec(
        set_root_weights,
        {"netuids": Arg("u16list"), "values": Arg("u16list"), "version_key": Arg("int", False, 0)},
        "root validator hotkey: weights over subnets",
    ),
    "serve_axon": CallSpec(
        serve_axon,
        {
            "netuid": _N,
            "ip": Arg("str"),
            "port": Arg("int"),
            "protocol": Arg("int", False, 4),
            "version": Arg("int", False, 0),
        },
        "hotkey: publish axon ip:port",
    ),
    "set_hyperparameter": CallSpec(
        set_hyperparameter,
        {"netuid": _N, "name": Arg("str"), "value": Arg("value")},
        "owner coldkey (or sudo): set a hyperparameter",
    ),
    "reset_bonds": CallSpec(
        reset_bonds, {"netuid": _N, "uid": Arg("int", False)}, "owner coldkey: reset bonds"
    ),
    "sudo_set_hyperparameter": CallSpec(
        sudo_set_hyperparameter,
        {"netuid": _N, "name": Arg("str"), "value": Arg("value")},
        "sudo: set any hyperparameter",
    ),
    "sudo_set_balance": CallSpec(
        sudo_set_balance, {"who": Arg("ss58"), "amount": _N}, "sudo: set a balance"
    ),
}


def apply_call(st: State, ctx: Ctx, signer: str, call: str, args: Any) -> None:
    """Validate ``args`` and run ``call``; raises ChainError with nothing changed on rejection."""
    spec = CALLS.get(call)
    if spec is None:
        fail("UnknownCall", f"unknown call {call!r}")
    assert spec is not None
    spec.fn(st, ctx, signer, validate_args(call, args))
