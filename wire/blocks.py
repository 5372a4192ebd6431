"""Typed blocks as served (``GET /v1/blocks/{n}``, ``/v1/blocks/latest``) and the answer to a
submitted extrinsic (``POST /v1/extrinsics``)."""

# No ``from __future__ import annotations``: TypedDict must see NotRequired[...] unquoted
# to tell optional keys from required ones.
from typing import Any

from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only on Python >= 3.12

from .events import Event


class AppliedExtrinsic(TypedDict):
    """An extrinsic in a block: its hash and its signed body."""

    hash: str
    call: str
    args: dict[str, Any]
    signer: str
    nonce: int
    genesis: str
    signature: str


class BlockRow(TypedDict):
    """A committed block: header fields, the extrinsics applied, and the events produced."""

    number: int
    hash: str
    parent: str
    timestamp_ms: int
    state_root: str
    extrinsics: list[AppliedExtrinsic]
    events: list[Event]


class SubmitResult(TypedDict):
    """A submitted extrinsic in a committed block: where, and the events it caused."""

    hash: str
    block: int | None
    index: int
    events: list[Event]
