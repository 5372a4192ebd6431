"""In-memory chain state, split into chunks for storage and hashing.

Chunks (storage keys): ``g`` (globals), ``a/<ss58>`` (account), ``h/<hotkey>`` (hotkey owner,
take and its stakes), ``s/<netuid>`` (subnet without neurons), ``n/<netuid>/<uid>`` (neuron),
``gov`` (governance: senate, open proposals, network parameters changed by proposals; absent
while empty) and ``p/<id>`` (one proposal).
Only this module knows the key format. Every mutation goes through an accessor (``*_mut``,
``create_hotkey``, ``insert_subnet``, ``remove_subnet``, ``put_neuron``), which marks the chunk
dirty; at the end of a block only dirty chunks are written and re-hashed. The state root is the
sum, mod 2^256, of the hashes of all chunks (an incremental multiset hash), so it updates in
O(dirty).

:meth:`State.atomic` makes a block of rule code all-or-nothing: the first time an accessor
hands out a chunk inside it, the chunk is copied into an undo log, and an exception restores
every copied chunk and the dirty set (so a rejected extrinsic changes neither the state root
nor what is stored).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from subnetes.wire.codec import canonical, h256

from .params import ChainConfig, Hyperparams

ROOT_NETUID = 0
_MOD = 2**256
GLOBALS_KEY = "g"


# ---- chunk keys: formatted here and nowhere else ---------------------------------------------
def _account_key(ss58: str) -> str:
    return f"a/{ss58}"


def _hotkey_key(hotkey: str) -> str:
    return f"h/{hotkey}"


def _subnet_key(netuid: int) -> str:
    return f"s/{netuid}"


def _neuron_key(netuid: int, uid: int) -> str:
    return f"n/{netuid}/{uid}"


def _proposal_key(pid: int) -> str:
    return f"p/{pid}"


GOVERNANCE_KEY = "gov"


def _chunk_hash(key: str, raw: bytes) -> int:
    return int.from_bytes(h256(key.encode() + b"\0" + raw), "big")


def _copy_hotkey(h: Hotkey) -> Hotkey:
    """A copy that in-place changes to ``h`` cannot reach (its stakes dict is copied)."""
    snap = copy.copy(h)
    snap.stakes = dict(h.stakes)
    return snap


def _copy_neuron(n: Neuron) -> Neuron:
    """A copy that in-place changes to ``n`` cannot reach: its mutable fields (MUTABLE_NEURON_FIELDS)
    are copied one level deep, which is all they nest (much cheaper than a deepcopy of the
    weight and bond maps, taken once per changed neuron and extrinsic)."""
    snap = copy.copy(n)
    snap.weights, snap.bonds = dict(n.weights), dict(n.bonds)
    snap.commits = [list(c) for c in n.commits]
    snap.axon = copy.copy(n.axon)
    return snap


# Fields of Neuron holding mutable values, each copied by _copy_neuron (a test keeps this list in
# step with the dataclass).
MUTABLE_NEURON_FIELDS = frozenset({"weights", "bonds", "commits", "axon"})


def _restore(obj: Any, snapshot: Any) -> None:
    """Put ``snapshot``'s fields back into ``obj`` (in place: references stay valid)."""
    obj.__dict__.update(snapshot.__dict__)


@dataclass
class Account:
    balance: int = 0
    nonce: int = 0


@dataclass
class Hotkey:
    """A hotkey: its owning coldkey, delegate take and stake per nominating coldkey."""

    owner: str
    take: int
    last_take_change: int = 0
    stakes: dict[str, int] = field(default_factory=dict)

    @property
    def total_stake(self) -> int:
        return sum(self.stakes.values())


@dataclass
class Axon:
    block: int
    ip: str
    port: int
    ip_type: int = 4
    protocol: int = 4
    version: int = 0


@dataclass
class Neuron:
    """One UID on one subnet, with its stored epoch outputs (u16 fractions, rao)."""

    uid: int
    hotkey: str
    registered_at: int
    last_update: int
    weights_block: int = -1  # block of the last set_weights (-1: never)
    weights: dict[int, int] = field(default_factory=dict)  # target uid -> u16
    bonds: dict[int, int] = field(default_factory=dict)  # target uid -> u16
    validator_permit: bool = False
    active: bool = True
    rank: int = 0
    trust: int = 0
    consensus: int = 0
    incentive: int = 0
    dividends: int = 0
    validator_trust: int = 0
    pruning_score: int = 0
    emission: int = 0
    # rao this registration has earned, summed over its epochs (reset when a new hotkey takes
    # the UID): the chain keeps the total so readers mirror it instead of adding epochs up.
    total_emission: int = 0
    axon: Axon | None = None
    commits: list[list[Any]] = field(default_factory=list)  # [[hash, block, epoch], ...]

    def to_json(self) -> dict[str, Any]:
        # Built field by field: dataclasses.asdict deep-copies the weight and bond maps value
        # by value (over 80 % of a block's time at 128 subnets x 256 UIDs). Same JSON.
        d = {name: getattr(self, name) for name in _NEURON_SCALARS}
        d["weights"] = sorted(self.weights.items())
        d["bonds"] = sorted(self.bonds.items())
        d["axon"] = dataclasses.asdict(self.axon) if self.axon else None
        d["commits"] = [list(c) for c in self.commits]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Neuron:
        d = dict(d)
        # [uid, u16] pairs, integers as stored (dict() of the pairs: a restart loads every
        # validator's 2 x 256 of them, and a comprehension was most of the load time)
        d["weights"] = dict(d["weights"])
        d["bonds"] = dict(d["bonds"])
        d["axon"] = Axon(**d["axon"]) if d.get("axon") else None
        return cls(**d)


# Neuron fields holding immutable values (every other one is in MUTABLE_NEURON_FIELDS).
_NEURON_SCALARS = tuple(
    f.name for f in dataclasses.fields(Neuron) if f.name not in MUTABLE_NEURON_FIELDS
)


@dataclass
class Subnet:
    netuid: int
    owner_coldkey: str | None
    owner_hotkey: str | None
    registered_at: int
    hp: Hyperparams
    lock: int = 0
    burn: int = 0
    pending_emission: int = 0
    emission_share: int = 0  # parts per SHARE_ONE of block emission
    regs_this_block: int = 0  # registrations in block regs_block
    regs_block: int = 0
    regs_this_interval: int = 0
    last_adjustment_block: int = 0
    last_epoch_block: int = 0
    neurons: list[Neuron] = field(default_factory=list)
    uid_of: dict[str, int] = field(default_factory=dict)  # derived: hotkey -> uid

    def meta_json(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d.pop("neurons")
        d.pop("uid_of")
        d["hp"] = self.hp.to_json()
        d["n"] = len(self.neurons)
        return d


@dataclass
class Proposal:
    """A governance proposal (``chain/rules/governance.py``): set network parameter ``name``
    (``netuid`` None) or subnet ``netuid``'s hyperparameter ``name`` to ``value``."""

    id: int
    proposer: str  # the senate member's hotkey
    coldkey: str  # the coldkey that signed the proposal (owns ``proposer``)
    netuid: int | None
    name: str
    value: bool | int | str
    created: int  # block
    end: int  # first block at which voting is closed
    ayes: list[str] = field(default_factory=list)  # hotkeys, in vote order
    nays: list[str] = field(default_factory=list)
    status: str = "open"  # open | executed | rejected | expired | failed
    closed_at: int | None = None
    error: str | None = None  # the ErrorName its execution failed with (status "failed")


@dataclass
class Governance:
    """The senate (hotkeys, sorted), the open proposals (ids, in order), the next proposal id,
    and the network parameters proposals changed (name -> value; override the genesis config)."""

    senate: list[str] = field(default_factory=list)
    open: list[int] = field(default_factory=list)
    next_id: int = 0
    params: dict[str, Any] = field(default_factory=dict)


def _copy_governance(g: Governance) -> Governance:
    return Governance(list(g.senate), list(g.open), g.next_id, dict(g.params))


def _copy_proposal(p: Proposal) -> Proposal:
    snap = copy.copy(p)
    snap.ayes, snap.nays = list(p.ayes), list(p.nays)
    return snap


@dataclass
class Globals:
    block: int = 0
    issuance: int = 0
    last_lock: int = 0
    last_lock_block: int | None = None
    total_recycled: int = 0


class State:
    """The whole chain state plus dirty-chunk bookkeeping."""

    def __init__(self, config: ChainConfig) -> None:
        # ``config`` is the effective configuration: the genesis one with the network
        # parameters governance changed (``gov.params``) applied (see refresh_config).
        self.genesis_config = config
        self.config = config
        self.gov = Governance()
        self.proposals: dict[int, Proposal] = {}
        self.g = Globals()
        self.accounts: dict[str, Account] = {}
        self.hotkeys: dict[str, Hotkey] = {}
        self.subnets: dict[int, Subnet] = {}
        self.dirty: set[str] = {GLOBALS_KEY}
        self.chunk_hashes: dict[str, int] = {}
        self.root_sum = 0
        # Undo log while inside atomic(): chunk key -> action that restores it, and the keys
        # that became dirty (None outside atomic()).
        self._undo: dict[str, Callable[[], None]] | None = None
        self._newly_dirty: list[str] = []

    # ---- all-or-nothing ---------------------------------------------------------------------
    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """Run a block of rule code all-or-nothing: if it raises, every chunk it changed through
        the accessors, and the dirty set, are restored before the exception propagates."""
        if self._undo is not None:
            raise RuntimeError("State.atomic() does not nest")
        self._undo, self._newly_dirty = {}, []
        try:
            yield
        except BaseException:
            undo, newly = self._undo, self._newly_dirty
            for action in reversed(list(undo.values())):
                action()
            self.dirty.difference_update(newly)
            raise
        finally:
            self._undo, self._newly_dirty = None, []

    def _touch(self, key: str) -> bool:
        """Mark ``key`` dirty; True when an undo action for it must be recorded now."""
        if key not in self.dirty:
            self.dirty.add(key)
            if self._undo is not None:
                self._newly_dirty.append(key)
        return self._undo is not None and key not in self._undo

    def _save_mapping_entry(
        self, key: str, table: dict[Any, Any], k: Any, copier: Callable[[Any], Any]
    ) -> None:
        """Record how to restore ``table[k]`` (an account or a hotkey) as it is now."""
        assert self._undo is not None
        old = table.get(k)
        snap = None if old is None else copier(old)

        def undo() -> None:
            if old is None:  # created inside atomic(): drop it again
                table.pop(k, None)
            else:
                _restore(old, snap)
                table[k] = old

        self._undo[key] = undo

    # ---- mutating accessors (mark chunks dirty, feed the undo log) ---------------------------
    def globals_mut(self) -> Globals:
        if self._touch(GLOBALS_KEY):
            assert self._undo is not None
            old, snap = self.g, copy.copy(self.g)

            def undo() -> None:
                _restore(old, snap)
                self.g = old

            self._undo[GLOBALS_KEY] = undo
        return self.g

    def refresh_config(self) -> None:
        """Re-derive ``config`` from the genesis config and the governed parameters."""
        self.config = (
            dataclasses.replace(self.genesis_config, **self.gov.params)
            if self.gov.params
            else self.genesis_config
        )

    def gov_mut(self) -> Governance:
        """The governance record to change (call :meth:`refresh_config` after changing params)."""
        if self._touch(GOVERNANCE_KEY):
            assert self._undo is not None
            old, snap = self.gov, _copy_governance(self.gov)

            def undo() -> None:
                _restore(old, snap)
                self.gov = old
                self.refresh_config()

            self._undo[GOVERNANCE_KEY] = undo
        return self.gov

    def proposal_mut(self, pid: int) -> Proposal:
        """Proposal ``pid`` to change."""
        key = _proposal_key(pid)
        if self._touch(key):
            self._save_mapping_entry(key, self.proposals, pid, _copy_proposal)
        return self.proposals[pid]

    def insert_proposal(self, p: Proposal) -> None:
        """Add a new proposal (its id must be unused)."""
        assert p.id not in self.proposals, p.id
        key = _proposal_key(p.id)
        if self._touch(key):
            self._save_mapping_entry(key, self.proposals, p.id, _copy_proposal)
        self.proposals[p.id] = p

    def account_mut(self, ss58: str) -> Account:
        """The account of ``ss58`` to change (created empty when it does not exist)."""
        key = _account_key(ss58)
        if self._touch(key):
            self._save_mapping_entry(key, self.accounts, ss58, copy.copy)
        acct = self.accounts.get(ss58)
        if acct is None:
            acct = self.accounts[ss58] = Account()
        return acct

    def hotkey_mut(self, hotkey: str) -> Hotkey:
        key = _hotkey_key(hotkey)
        if self._touch(key):
            self._save_mapping_entry(key, self.hotkeys, hotkey, _copy_hotkey)
        return self.hotkeys[hotkey]

    def create_hotkey(self, hotkey: str, owner: str, take: int) -> Hotkey:
        """Record a new hotkey owned by ``owner`` (it must not exist yet)."""
        assert hotkey not in self.hotkeys, hotkey
        key = _hotkey_key(hotkey)
        if self._touch(key):
            self._save_mapping_entry(key, self.hotkeys, hotkey, _copy_hotkey)
        hk = self.hotkeys[hotkey] = Hotkey(owner=owner, take=take)
        return hk

    def _save_subnet(self, netuid: int) -> None:
        key = _subnet_key(netuid)
        if not self._touch(key):
            return
        assert self._undo is not None
        old = self.subnets.get(netuid)
        if old is None:  # created inside atomic(): drop it again
            self._undo[key] = lambda: self._drop_subnet(netuid)
            return
        # The neurons are chunks of their own: the list and the hotkey index are copied, the
        # Neuron objects are saved by neuron_mut/put_neuron when they change.
        snap = copy.copy(old)
        snap.neurons, snap.uid_of = list(old.neurons), dict(old.uid_of)

        def undo() -> None:
            _restore(old, snap)
            self.subnets[netuid] = old

        self._undo[key] = undo

    def _drop_subnet(self, netuid: int) -> None:
        self.subnets.pop(netuid, None)

    def subnet_mut(self, netuid: int) -> Subnet:
        """The subnet to change (its own fields; neurons change through neuron_mut/put_neuron)."""
        self._save_subnet(netuid)
        return self.subnets[netuid]

    def insert_subnet(self, subnet: Subnet) -> None:
        """Add a subnet (no neurons yet) under a free netuid."""
        assert subnet.netuid not in self.subnets and not subnet.neurons, subnet.netuid
        self._save_subnet(subnet.netuid)
        self.subnets[subnet.netuid] = subnet

    def remove_subnet(self, netuid: int) -> Subnet:
        """Delete a subnet and its neuron chunks; returns what was removed."""
        self._save_subnet(netuid)
        s = self.subnets.pop(netuid)
        for uid in range(len(s.neurons)):
            self._touch(_neuron_key(netuid, uid))  # deleted with the subnet: nothing to save
        return s

    def _save_neuron(self, netuid: int, uid: int) -> None:
        key = _neuron_key(netuid, uid)
        if not self._touch(key):
            return
        assert self._undo is not None
        neurons = self.subnets[netuid].neurons
        if uid >= len(neurons):  # a new UID: removed again by the subnet's own undo action
            self._undo[key] = lambda: None
            return
        old = neurons[uid]
        snap = _copy_neuron(old)
        self._undo[key] = lambda: _restore(old, snap)

    def neuron_mut(self, netuid: int, uid: int) -> Neuron:
        self._save_neuron(netuid, uid)
        return self.subnets[netuid].neurons[uid]

    def put_neuron(self, netuid: int, neuron: Neuron) -> Neuron | None:
        """Append ``neuron`` (uid = the next UID) or replace the occupant of ``neuron.uid``;
        keeps the subnet's hotkey index. Returns the replaced neuron, if any."""
        self._save_subnet(netuid)
        self._save_neuron(netuid, neuron.uid)
        s = self.subnets[netuid]
        old = None
        if neuron.uid == len(s.neurons):
            s.neurons.append(neuron)
        else:
            old = s.neurons[neuron.uid]
            s.uid_of.pop(old.hotkey, None)
            s.neurons[neuron.uid] = neuron
        s.uid_of[neuron.hotkey] = neuron.uid
        return old

    # ---- reads --------------------------------------------------------------------------------
    def balance(self, ss58: str) -> int:
        acct = self.accounts.get(ss58)
        return acct.balance if acct else 0

    def nonce(self, ss58: str) -> int:
        acct = self.accounts.get(ss58)
        return acct.nonce if acct else 0

    def stake_of(self, hotkey: str) -> int:
        hk = self.hotkeys.get(hotkey)
        return hk.total_stake if hk else 0

    def neuron_version(self, netuid: int, n: Neuron) -> tuple[int, int] | None:
        """The committed hashes of neuron ``n``'s chunk and of its hotkey's chunk (stake and
        owner): a metagraph row changes only when one of them does. None while either has
        uncommitted changes (the hashes are updated when a block commits them)."""
        nk, hk = _neuron_key(netuid, n.uid), _hotkey_key(n.hotkey)
        if nk in self.dirty or hk in self.dirty:
            return None
        return self.chunk_hashes.get(nk, 0), self.chunk_hashes.get(hk, 0)

    def user_subnets(self) -> list[int]:
        return sorted(n for n in self.subnets if n != ROOT_NETUID)

    # ---- chunk codec ------------------------------------------------------------------------
    def chunk(self, key: str) -> dict[str, Any] | None:
        """The JSON of one chunk, or None when it no longer exists."""
        kind, _, rest = key.partition("/")
        if key == GLOBALS_KEY:
            return dataclasses.asdict(self.g)
        if key == GOVERNANCE_KEY:  # absent until governance has something to keep
            return None if self.gov == Governance() else dataclasses.asdict(self.gov)
        if kind == "p":
            p = self.proposals.get(int(rest))
            return dataclasses.asdict(p) if p else None
        if kind == "a":
            a = self.accounts.get(rest)
            return dataclasses.asdict(a) if a else None
        if kind == "h":
            h = self.hotkeys.get(rest)
            if h is None:
                return None
            d = dataclasses.asdict(h)
            d["stakes"] = sorted(h.stakes.items())
            return d
        if kind == "s":
            s = self.subnets.get(int(rest))
            return s.meta_json() if s else None
        if kind == "n":
            netuid, uid = (int(x) for x in rest.split("/"))
            s = self.subnets.get(netuid)
            if s is None or uid >= len(s.neurons):
                return None
            return s.neurons[uid].to_json()
        raise KeyError(key)

    @property
    def uncommitted(self) -> bool:
        """Whether any chunk changed since the last :meth:`take_dirty` (a commit)."""
        return bool(self.dirty)

    def take_dirty(self) -> dict[str, bytes | None]:
        """Serialize dirty chunks (None = deleted), update the state root, clear the dirty set."""
        out: dict[str, bytes | None] = {}
        for key in sorted(self.dirty):
            data = self.chunk(key)
            raw = None if data is None else canonical(data)
            old = self.chunk_hashes.pop(key, 0)
            self.root_sum = (self.root_sum - old) % _MOD
            if raw is not None:
                hv = _chunk_hash(key, raw)
                self.chunk_hashes[key] = hv
                self.root_sum = (self.root_sum + hv) % _MOD
            out[key] = raw
        self.dirty.clear()
        return out

    def state_root(self) -> str:
        return "0x" + self.root_sum.to_bytes(32, "big").hex()

    def all_chunks(self) -> dict[str, dict[str, Any]]:
        """Every chunk (for tests and snapshots)."""
        keys = [GLOBALS_KEY]
        keys += [GOVERNANCE_KEY] if self.chunk(GOVERNANCE_KEY) is not None else []
        keys += [_proposal_key(p) for p in self.proposals]
        keys += [_account_key(a) for a in self.accounts]
        keys += [_hotkey_key(h) for h in self.hotkeys]
        for netuid, s in self.subnets.items():
            keys.append(_subnet_key(netuid))
            keys += [_neuron_key(netuid, u) for u in range(len(s.neurons))]
        return {k: self.chunk(k) for k in sorted(keys)}  # type: ignore[misc]

    def recomputed_root(self) -> str:
        """The state root computed from scratch over every chunk (O(state); checks that the
        incremental root, which only re-hashes dirty chunks, missed nothing)."""
        total = sum(_chunk_hash(k, canonical(v)) for k, v in self.all_chunks().items()) % _MOD
        return "0x" + total.to_bytes(32, "big").hex()

    @classmethod
    def load(cls, config: ChainConfig, chunks: dict[str, bytes]) -> State:
        """Rebuild state from stored chunks."""
        import json

        st = cls(config)
        neurons: dict[int, dict[int, Neuron]] = {}
        for key, raw in chunks.items():
            d = json.loads(raw)
            kind, _, rest = key.partition("/")
            if key == GLOBALS_KEY:
                st.g = Globals(**d)
            elif key == GOVERNANCE_KEY:
                st.gov = Governance(**d)
            elif kind == "p":
                st.proposals[int(rest)] = Proposal(**d)
            elif kind == "a":
                st.accounts[rest] = Account(**d)
            elif kind == "h":
                d["stakes"] = {k: int(v) for k, v in d["stakes"]}
                st.hotkeys[rest] = Hotkey(**d)
            elif kind == "s":
                d.pop("n")
                d["hp"] = Hyperparams.from_json(d["hp"])
                st.subnets[int(rest)] = Subnet(**d)
            elif kind == "n":
                netuid, uid = (int(x) for x in rest.split("/"))
                neurons.setdefault(netuid, {})[uid] = Neuron.from_json(d)
            hv = _chunk_hash(key, raw)
            st.chunk_hashes[key] = hv
            st.root_sum = (st.root_sum + hv) % _MOD
        for netuid, by_uid in neurons.items():
            s = st.subnets[netuid]
            s.neurons = [by_uid[u] for u in range(len(by_uid))]
            s.uid_of = {n.hotkey: n.uid for n in s.neurons}
        st.refresh_config()  # the network parameters governance changed
        st.dirty.clear()
        return st
