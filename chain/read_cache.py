"""Encoded answers shared by every reader of the same committed block.

At a whole network's size (128 subnets x 256 UIDs) a metagraph is about 300 kB of JSON and an
epoch's event about 80 kB, so building and encoding them per request dominated the node: 50
readers each re-encoded the metagraph (FastAPI's ``jsonable_encoder`` walks every value), and
200 event-stream subscribers each re-encoded every event of every block. The state only changes
when a block commits, so each is encoded once per block and the bytes are shared:

- a subnet's metagraph, for the current head (dropped when the head moves on); while the
  next block is being built it is served at once (other reads wait for that block's commit);
- a block's events as SSE messages (the last ``blocks`` blocks; subscribers read the same few).

Encoding a whole metagraph per (subnet, block) still cost ~40 ms of the event loop per miss, and
with 50 readers spread over 128 subnets and 1 s blocks most reads were misses (a reader rarely
asks for a subnet another asked for in the same block): the node saturated at ~84 reads/s. So
each metagraph *row* is kept encoded with the committed hashes of the two chunks it is built
from (the neuron's and its hotkey's, :meth:`State.neuron_version`) and the block-dependent
immunity: a new block re-encodes only the rows whose chunks it rewrote (a set_weights: one row;
an epoch: its subnet's rows) and a miss joins the rows' bytes. Each (subnet, block) answer also
has an ETag (``If-None-Match`` -> 304 with no body, answered without touching the state) and a
gzip encoding made once, when a reader that accepts gzip first asks.
"""

from __future__ import annotations

import asyncio
import collections
import gzip
import json
from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response

from . import views
from .block import BlockRecord
from .registration import is_immune
from .state import State, Subnet

EVENT_BLOCKS = 64  # blocks whose encoded events are kept (subscribers are near the head)
# gzip level 1: a 256-UID metagraph (296 kB) in 3.5 ms to 97 kB; level 6 took 11 ms for 81 kB,
# paid once per (subnet, block) on the event loop (docs/chain.md)
GZIP_LEVEL = 1


def encode_json(data: Any) -> bytes:
    """JSON exactly as FastAPI's JSONResponse renders it (compact, UTF-8)."""
    return json.dumps(
        data, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()


def sse_message(number: int, ev: dict[str, Any]) -> bytes:
    """One event as an SSE message; its id is ``<block>:<index>``."""
    data = json.dumps(ev, separators=(",", ":"))
    return f"id: {number}:{ev['index']}\nevent: {ev['type']}\ndata: {data}\n\n".encode()


@dataclass
class Encoded:
    """One subnet's metagraph at one block: the JSON, its gzip encoding (made on first use)."""

    body: bytes
    head: str  # the block's hash
    netuid: int
    lite: bool = False  # rows without their weights (Bittensor's ``metagraph(lite=True)``)
    gz: bytes | None = None

    def gzipped(self) -> bytes:
        if self.gz is None:
            # mtime=0: the same bytes for the same block on every replica (a strong ETag)
            self.gz = gzip.compress(self.body, compresslevel=GZIP_LEVEL, mtime=0)
        return self.gz


def metagraph_etag(head: str, netuid: int, gz: bool, lite: bool = False) -> str:
    """The (strong) ETag of subnet ``netuid``'s metagraph at the block with hash ``head``, in
    the gzip or the identity encoding and with or without weights (each its own
    representation): the answer is a pure function of the committed state, so the block hash
    names it."""
    return (
        f'"{head.removeprefix("0x")[:24]}.{netuid}{".lite" if lite else ""}{".gz" if gz else ""}"'
    )


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when an ``Accept-Encoding`` header admits gzip (and does not refuse it: ``q=0``)."""
    for part in (accept_encoding or "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip", "*"):
            q = params.strip().lower()
            return not (q.startswith("q=") and _qvalue(q[2:]) == 0.0)
    return False


def _qvalue(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 1.0


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` against ``etag`` (weak comparison, as RFC 9110 asks for GET)."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def metagraph_response(enc: Encoded, gz: bool) -> Response:
    """The 200 answer: gzip when the reader accepts it, with the matching ETag."""
    etag = metagraph_etag(enc.head, enc.netuid, gz, enc.lite)
    headers = {"etag": etag, "vary": "Accept-Encoding"}
    if gz:
        headers["content-encoding"] = "gzip"
        return Response(enc.gzipped(), media_type="application/json", headers=headers)
    return Response(enc.body, media_type="application/json", headers=headers)


async def respond(enc: Encoded, gz: bool) -> Response:
    """:func:`metagraph_response`, compressing on a worker thread the first time: zlib releases
    the GIL, so the event loop answers other readers meanwhile (on the other core)."""
    if gz and enc.gz is None:
        await asyncio.get_running_loop().run_in_executor(None, enc.gzipped)
    return metagraph_response(enc, gz)


def not_modified(etag: str) -> Response:
    """304: the reader's copy (``etag``) is this block's; no body."""
    return Response(status_code=304, headers={"etag": etag, "vary": "Accept-Encoding"})


class ReadCache:
    """Per-block encodings of the metagraph and the event stream (one per API app)."""

    def __init__(self, blocks: int = EVENT_BLOCKS, gzip: bool = False) -> None:
        # gzip costs the node CPU (3.5 ms per subnet and block at 256 UIDs: on two loaded cores
        # it halved the reads served), so it is for readers across a slow network: opt-in
        self.gzip = gzip
        self._head: str | None = None  # block hash the metagraph entries belong to
        self._metagraphs: dict[tuple[int, bool], Encoded] = {}  # (netuid, lite) -> answer
        # per subnet, per uid: (version the row was encoded at, the row's JSON, without weights)
        self._rows: dict[int, list[tuple[Any, bytes, bytes]]] = {}
        self._events: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._blocks = blocks

    def encoded(self, st: State, head: str, s: Subnet, lite: bool = False) -> Encoded:
        """Subnet ``s``'s metagraph at the committed block ``head`` (hash), encoded; ``lite``:
        its rows without weights."""
        if head != self._head:
            self._head, self._metagraphs = head, {}
            if len(self._rows) > len(st.subnets):  # forget the rows of removed subnets
                self._rows = {k: v for k, v in self._rows.items() if k in st.subnets}
        enc = self._metagraphs.get((s.netuid, lite))
        if enc is None:
            rows = [r[2] if lite else r[1] for r in self._encoded_rows(st, s)]
            body = b'{"netuid":%d,"block":%d,"n":%d,"neurons":[%b]}' % (
                s.netuid, st.g.block, len(s.neurons), b",".join(rows),
            )  # fmt: skip
            enc = self._metagraphs[s.netuid, lite] = Encoded(body, head, s.netuid, lite)
        return enc

    def _encoded_rows(self, st: State, s: Subnet) -> list[tuple[Any, bytes, bytes]]:
        """Every row of ``s``'s metagraph as (version, JSON, JSON without weights),
        re-encoding only those whose chunks (or immunity) changed since they were encoded."""
        rows = self._rows.setdefault(s.netuid, [])
        del rows[len(s.neurons) :]
        now, period = st.g.block, s.hp.immunity_period
        out = []
        for n in s.neurons:
            chunks = st.neuron_version(s.netuid, n)
            version = (
                None
                if chunks is None
                else (chunks, period, is_immune(now, n.registered_at, period))
            )
            if version is not None and n.uid < len(rows) and rows[n.uid][0] == version:
                out.append(rows[n.uid])
                continue
            row = dict(views.neuron(st, s, n.uid))
            weights = row.pop("weights")  # the last key: the full row is the lite row + weights
            lite = encode_json(row)
            entry = (version, lite[:-1] + b',"weights":' + encode_json(weights) + b"}", lite)
            if n.uid < len(rows):
                rows[n.uid] = entry
            else:  # uids are 0..n-1 in order
                rows.append(entry)
            out.append(entry)
        return out

    def metagraph(
        self, st: State, head: str, s: Subnet, gz: bool = False, lite: bool = False
    ) -> Response:
        """Subnet ``s``'s metagraph at the committed block ``head`` (hash) as a response."""
        return metagraph_response(self.encoded(st, head, s, lite), gz)

    def cached_metagraph(
        self, head: str, netuid: int, gz: bool = False, lite: bool = False
    ) -> Response | None:
        """Subnet ``netuid``'s metagraph if it is encoded for the block ``head`` (hash), else
        None. Safe while the next block is being built: the bytes are of a committed block."""
        enc = self._metagraphs.get((netuid, lite)) if head == self._head else None
        return None if enc is None else metagraph_response(enc, gz)

    def wants_gzip(self, accept_encoding: str | None) -> bool:
        """Gzip for this reader: enabled on this node and accepted by the reader."""
        return self.gzip and accepts_gzip(accept_encoding)

    async def quick_answer(
        self,
        head: str,
        netuid: int,
        accept_encoding: str | None,
        if_none_match: str | None,
        lite: bool = False,
    ) -> Response | None:
        """The answer that needs no state read: 304 when the reader holds the ETag of the
        block ``head`` (hash), the encoded answer when there is one, else None (a miss)."""
        gz = self.wants_gzip(accept_encoding)
        etag = metagraph_etag(head, netuid, gz, lite)
        if etag_matches(if_none_match, etag):
            return not_modified(etag)
        enc = self._metagraphs.get((netuid, lite)) if head == self._head else None
        return None if enc is None else await respond(enc, gz)

    def block_events(self, rec: BlockRecord) -> bytes:
        """Every event of block ``rec`` as SSE messages, encoded once for all subscribers."""
        body = self._events.get(rec.hash)
        if body is None:
            body = b"".join(sse_message(rec.number, ev) for ev in rec.events)
            self._events[rec.hash] = body
            while len(self._events) > self._blocks:
                self._events.popitem(last=False)
        return body
