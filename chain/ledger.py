"""The chain core: genesis, the current state and head, block stepping, durable commit.

No I/O beyond the storage interface and no clock: the node (``node.py``, :class:`Node`) decides
when to step. With ``storage=None`` it runs in memory (unit tests).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable, Sequence
from typing import Any

from subnetes.wire.codec import obj_hash

from . import snapshot as snapshot_mod
from .block import BlockRecord, Outcome, produce_block
from .extrinsic import Extrinsic
from .params import ChainConfig
from .rules.root import create_root
from .state import State
from .storage import Storage

ZERO_HASH = "0x" + "00" * 32
MEMORY_XT_INDEX = 100_000  # an in-memory ledger remembers where this many extrinsics went


def genesis_state(config: ChainConfig) -> State:
    """State at block 0: the root network and the genesis balances (which are the issuance)."""
    st = State(config)
    create_root(st)
    for ss58, amount in config.balances:
        st.account_mut(ss58).balance += amount
        st.globals_mut().issuance += amount
    return st


def genesis_record(config: ChainConfig, st: State) -> BlockRecord:
    """Block 0; its hash is the genesis hash that every extrinsic names."""
    ev = [
        {
            "type": "Block",
            "block": 0,
            "index": 0,
            "extrinsics": 0,
            "block_emission": 0,
            "issuance": st.g.issuance,
        }
    ]
    h = obj_hash({"config": config.to_json(), "state_root": st.state_root()})
    return BlockRecord(
        number=0,
        hash=h,
        parent=ZERO_HASH,
        timestamp_ms=config.genesis_time_ms,
        state_root=st.state_root(),
        extrinsics=[],
        events=ev,
    )


class GenesisMismatch(Exception):
    """The database holds another network than the one requested."""


class Ledger:
    """Chain state + head + storage; ``step`` produces and commits one block."""

    def __init__(
        self,
        config: ChainConfig,
        storage: Storage | None = None,
        consensus: Callable[..., Any] | None = None,
        snapshot: bool = False,
    ) -> None:
        """``snapshot``: read the state from a clean stop's snapshot when it is the head's
        (chain/snapshot.py; the running service), else from the state chunks."""
        self.storage = storage
        self.consensus = consensus
        self.broken = False  # in memory only: a block failed midway and the state is half-built
        # in memory only (storage keeps its own, durable index): extrinsic hash -> (block, index)
        self._xt_index: collections.OrderedDict[str, tuple[int, int]] = collections.OrderedDict()
        stored = storage.get_meta("config") if storage else None
        if stored is not None:
            self.config = ChainConfig.from_json(json.loads(stored))
            assert storage is not None
            head = storage.block(storage.head() or 0)
            assert head is not None
            self.state = snapshot_mod.load_state(storage, self.config, head, snapshot)
            if head.number != self.state.g.block:
                raise RuntimeError(
                    f"storage corrupt: head {head.number} != state block {self.state.g.block}"
                )
            self.head = head
            g0 = storage.block(0)
            assert g0 is not None
            self.genesis_hash = g0.hash
        else:
            self.config = config
            self.state = genesis_state(config)
            chunks = self.state.take_dirty()
            self.head = genesis_record(config, self.state)
            self.genesis_hash = self.head.hash
            if storage:
                storage.commit_block(self.head, chunks, {"config": json.dumps(config.to_json())})

    @classmethod
    def open(
        cls,
        config: ChainConfig,
        db: str | None,
        consensus: Callable[..., Any] | None = None,
        require_same_genesis: bool = False,
        snapshot: bool = False,
    ) -> Ledger:
        """Open (or create) a chain; ``require_same_genesis`` refuses a database of another
        network; ``snapshot``: see :class:`Ledger`."""
        ledger = cls(config, Storage(db) if db else None, consensus, snapshot)
        if require_same_genesis and ledger.config != config:
            raise GenesisMismatch("the database holds a network with another genesis configuration")
        return ledger

    def step(self, xts: Sequence[tuple[Extrinsic, bool]] = ()) -> tuple[BlockRecord, list[Outcome]]:
        """Produce the next block from ``xts`` and commit it (state + record, one transaction).

        If building or committing the block fails (a consensus error midway, a failed
        transaction) the in-memory state is no longer trustworthy: the ledger reloads the last
        committed state from storage before raising, so the next block is built on the head
        again. (In memory, without storage, there is nothing to reload: the error is fatal.)
        """
        if self.broken:
            raise RuntimeError("an in-memory ledger cannot continue after a failed block")
        try:
            record, outcomes, chunks = produce_block(
                self.state, self.head.hash, self.genesis_hash, xts, self.consensus
            )
            if self.storage:
                self.storage.commit_block(record, chunks)
        except Exception:
            if self.storage:
                with snapshot_mod.gc_paused():
                    self.state = State.load(self.config, self.storage.load_chunks())
            else:
                self.broken = True
            raise
        self.head = record
        if not self.storage:
            for i, x in enumerate(record.extrinsics):
                self._xt_index[x["hash"]] = (record.number, i)
            while len(self._xt_index) > MEMORY_XT_INDEX:
                self._xt_index.popitem(last=False)
        return record, outcomes

    def find_extrinsic(self, xt_hash: str) -> tuple[int, int] | None:
        """(block, index) of the committed extrinsic ``xt_hash``, or None. Durable with storage
        (its ``xt_index`` is written in the block's transaction): an extrinsic is found after a
        restart exactly when its block was committed."""
        if self.storage:
            return self.storage.extrinsic(xt_hash)
        return self._xt_index.get(xt_hash)

    def verify_chain(self) -> int:
        """Check the stored chain: no gaps, parents link, and every block's hash is the hash of
        its header (so its extrinsics and events are intact). Returns the number of blocks."""
        assert self.storage is not None
        prev_hash, count = None, 0
        while True:
            recs = self.storage.blocks_from(count, 512)
            if not recs:
                return count
            for rec in recs:
                if rec.number != count:
                    raise RuntimeError(f"gap in blocks at {count}")
                if prev_hash is not None and rec.parent != prev_hash:
                    raise RuntimeError(
                        f"block {rec.number} does not link to block {rec.number - 1}"
                    )
                if rec.number > 0 and obj_hash(rec.header()) != rec.hash:
                    raise RuntimeError(f"block {rec.number} does not match its hash")
                prev_hash, count = rec.hash, count + 1
