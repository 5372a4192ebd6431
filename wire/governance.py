"""Typed governance rows that cross the wire: the senate and proposals
(``GET /v1/governance/senate``, ``GET /v1/governance/proposals[/{id}]``).

``TypedDict``s, like :mod:`subnetes.wire.rows`: at run time the plain JSON dicts the chain
serves, while readers, the type checker and the OpenAPI document see one declaration.
Stakes are rao; block numbers are ints.
"""

# No ``from __future__ import annotations``: TypedDict must see the types unquoted.
from typing import Literal

from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only on Python >= 3.12

ProposalStatus = Literal["open", "executed", "rejected", "expired", "failed"]


class SenateMemberRow(TypedDict):
    """One senate member: a root validator's hotkey, its owner, stake and root UID."""

    hotkey: str
    coldkey: str | None
    stake: int
    uid: int | None  # its UID on root (None: it left root; it leaves the senate next block)


class SenateRow(TypedDict):
    """The senate at ``block``, the rules proposals follow, and the network parameters
    proposals may change (their current values)."""

    block: int
    senate_size: int  # N: the top N root validators by stake sit in the senate
    members: list[SenateMemberRow]  # ordered by stake, highest first (ties: lower root UID)
    proposal_voting_period: int  # blocks a proposal stays open
    max_proposals: int  # open at once
    threshold: str  # how a proposal passes, in words
    parameters: dict[str, bool | int | str]  # governable network parameters, current values


class ProposalRow(TypedDict):
    """A proposal: the change, who proposed it, the votes so far and its outcome."""

    id: int
    proposer: str  # hotkey of the senate member
    coldkey: str  # the coldkey that signed it
    netuid: int | None  # None: a network parameter; else the subnet whose hyperparameter changes
    name: str
    value: bool | int | str
    created: int
    end: int  # first block at which voting is closed
    ayes: list[str]
    nays: list[str]
    status: ProposalStatus
    closed_at: int | None
    error: str | None  # the error its execution failed with (status "failed")
