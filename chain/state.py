"""In-memory chain state, split into chunks for storage and hashing.

Chunks (storage keys): ``g`` (globals), ``a/<ss58>`` (account), ``h/<hotkey>`` (hotkey owner,
take and its stakes), ``s/<netuid>`` (subnet without neurons), ``n/<netuid>/<uid>`` (neuron).
Mutations go through the ``*_mut`` accessors, which mark the chunk dirty; at the end of a
block only dirty chunks are written and re-hashed. The state root is the sum, mod 2^256, of
the hashes of all chunks (an incremental multiset hash), so it updates in O(dirty).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .codec import canonical, h256
from .params import ChainConfig, Hyperparams

ROOT_NETUID = 0
_MOD = 2**256


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
        d = dataclasses.asdict(self)
        d["weights"] = sorted(self.weights.items())
        d["bonds"] = sorted(self.bonds.items())
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Neuron:
        d = dict(d)
        d["weights"] = {int(k): int(v) for k, v in d["weights"]}
        d["bonds"] = {int(k): int(v) for k, v in d["bonds"]}
        d["axon"] = Axon(**d["axon"]) if d.get("axon") else None
        return cls(**d)


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
class Globals:
    block: int = 0
    issuance: int = 0
    last_lock: int = 0
    last_lock_block: int | None = None
    total_recycled: int = 0


class State:
    """The whole chain state plus dirty-chunk bookkeeping."""

    def __init__(self, config: ChainConfig) -> None:
        self.config = config
        self.g = Globals()
        self.accounts: dict[str, Account] = {}
        self.hotkeys: dict[str, Hotkey] = {}
        self.subnets: dict[int, Subnet] = {}
        self.dirty: set[str] = {"g"}
        self.chunk_hashes: dict[str, int] = {}
        self.root_sum = 0

    # ---- mutating accessors (mark chunks dirty) -------------------------------------------
    def globals_mut(self) -> Globals:
        self.dirty.add("g")
        return self.g

    def account_mut(self, ss58: str) -> Account:
        self.dirty.add(f"a/{ss58}")
        acct = self.accounts.get(ss58)
        if acct is None:
            acct = self.accounts[ss58] = Account()
        return acct

    def hotkey_mut(self, hotkey: str) -> Hotkey:
        self.dirty.add(f"h/{hotkey}")
        return self.hotkeys[hotkey]

    def subnet_mut(self, netuid: int) -> Subnet:
        self.dirty.add(f"s/{netuid}")
        return self.subnets[netuid]

    def neuron_mut(self, netuid: int, uid: int) -> Neuron:
        self.dirty.add(f"n/{netuid}/{uid}")
        return self.subnets[netuid].neurons[uid]

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

    def user_subnets(self) -> list[int]:
        return sorted(n for n in self.subnets if n != ROOT_NETUID)

    # ---- chunk codec ------------------------------------------------------------------------
    def chunk(self, key: str) -> dict[str, Any] | None:
        """The JSON of one chunk, or None when it no longer exists."""
        kind, _, rest = key.partition("/")
        if kind == "g":
            return dataclasses.asdict(self.g)
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

    def take_dirty(self) -> dict[str, bytes | None]:
        """Serialize dirty chunks (None = deleted), update the state root, clear the dirty set."""
        out: dict[str, bytes | None] = {}
        for key in sorted(self.dirty):
            data = self.chunk(key)
            raw = None if data is None else canonical(data)
            old = self.chunk_hashes.pop(key, 0)
            self.root_sum = (self.root_sum - old) % _MOD
            if raw is not None:
                hv = int.from_bytes(h256(key.encode() + b"\0" + raw), "big")
                self.chunk_hashes[key] = hv
                self.root_sum = (self.root_sum + hv) % _MOD
            out[key] = raw
        self.dirty.clear()
        return out

    def state_root(self) -> str:
        return "0x" + self.root_sum.to_bytes(32, "big").hex()

    def all_chunks(self) -> dict[str, dict[str, Any]]:
        """Every chunk (for tests and snapshots)."""
        keys = ["g"]
        keys += [f"a/{a}" for a in self.accounts]
        keys += [f"h/{h}" for h in self.hotkeys]
        for netuid, s in self.subnets.items():
            keys.append(f"s/{netuid}")
            keys += [f"n/{netuid}/{u}" for u in range(len(s.neurons))]
        return {k: self.chunk(k) for k in sorted(keys)}  # type: ignore[misc]

    @classmethod
    def load(cls, config: ChainConfig, chunks: dict[str, bytes]) -> State:
        """Rebuild state from stored chunks."""
        import json

        st = cls(config)
        neurons: dict[int, dict[int, Neuron]] = {}
        for key, raw in chunks.items():
            d = json.loads(raw)
            kind, _, rest = key.partition("/")
            if kind == "g":
                st.g = Globals(**d)
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
            hv = int.from_bytes(h256(key.encode() + b"\0" + raw), "big")
            st.chunk_hashes[key] = hv
            st.root_sum = (st.root_sum + hv) % _MOD
        for netuid, by_uid in neurons.items():
            s = st.subnets[netuid]
            s.neurons = [by_uid[u] for u in range(len(by_uid))]
            s.uid_of = {n.hotkey: n.uid for n in s.neurons}
        st.dirty.clear()
        return st
