"""Block production: on_initialize (the burn adjustment, ``rules/registration.py``; emission,
root shares and subnet epochs, ``rules/coinbase.py``; the senate and due proposals,
``rules/governance.py``), then the extrinsics in order, then the
header hash. Pure over (state, extrinsics) except for the consensus call, so the same genesis
and extrinsics give the same hashes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from subnetes.wire.codec import obj_hash
from subnetes.wire.events import EventKind

from .context import Ctx
from .errors import ChainError
from .extrinsic import Extrinsic, apply_extrinsic
from .rules.coinbase import accrue_emission, run_due_epochs
from .rules.governance import update_governance
from .rules.registration import adjust_registrations
from .state import State


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
    # the senate after the last block's stake moves and this block's epochs; due proposals
    update_governance(st, ctx)
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
    ctx.emit(EventKind.BLOCK, extrinsics=len(applied), block_emission=em, issuance=st.g.issuance)
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
