"""Encoded answers shared by every reader of the same committed block.

At a whole network's size (128 subnets x 256 UIDs) a metagraph is about 300 kB of JSON and an
epoch's event about 80 kB, so building and encoding them per request dominated the node: 50
readers each re-encoded the metagraph (FastAPI's ``jsonable_encoder`` walks every value), and
200 event-stream subscribers each re-encoded every event of every block. The state only changes
when a block commits, so each is encoded once per block and the bytes are shared:

- a subnet's metagraph, for the current head (dropped when the head moves on); while the
  next block is being built it is served at once (other reads wait for that block's commit);
- a block's events as SSE messages (the last ``blocks`` blocks; subscribers read the same few).
"""

from __future__ import annotations

import collections
import json
from typing import Any

from fastapi.responses import Response

from . import views
from .block import BlockRecord
from .state import State, Subnet

EVENT_BLOCKS = 64  # blocks whose encoded events are kept (subscribers are near the head)


def encode_json(data: Any) -> bytes:
    """JSON exactly as FastAPI's JSONResponse renders it (compact, UTF-8)."""
    return json.dumps(
        data, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()


def sse_message(number: int, ev: dict[str, Any]) -> bytes:
    """One event as an SSE message; its id is ``<block>:<index>``."""
    data = json.dumps(ev, separators=(",", ":"))
    return f"id: {number}:{ev['index']}\nevent: {ev['type']}\ndata: {data}\n\n".encode()


class ReadCache:
    """Per-block encodings of the metagraph and the event stream (one per API app)."""

    def __init__(self, blocks: int = EVENT_BLOCKS) -> None:
        self._head: str | None = None  # block hash the metagraph entries belong to
        self._metagraphs: dict[int, bytes] = {}
        self._events: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._blocks = blocks

    def metagraph(self, st: State, head: str, s: Subnet) -> Response:
        """Subnet ``s``'s metagraph at the committed block ``head`` (hash) as a response."""
        if head != self._head:
            self._head, self._metagraphs = head, {}
        body = self._metagraphs.get(s.netuid)
        if body is None:
            body = self._metagraphs[s.netuid] = encode_json(views.metagraph(st, s))
        return Response(body, media_type="application/json")

    def cached_metagraph(self, head: str, netuid: int) -> Response | None:
        """Subnet ``netuid``'s metagraph if it is encoded for the block ``head`` (hash), else
        None. Safe while the next block is being built: the bytes are of a committed block."""
        body = self._metagraphs.get(netuid) if head == self._head else None
        return None if body is None else Response(body, media_type="application/json")

    def block_events(self, rec: BlockRecord) -> bytes:
        """Every event of block ``rec`` as SSE messages, encoded once for all subscribers."""
        body = self._events.get(rec.hash)
        if body is None:
            body = b"".join(sse_message(rec.number, ev) for ev in rec.events)
            self._events[rec.hash] = body
            while len(self._events) > self._blocks:
                self._events.popitem(last=False)
        return body
