"""HTTP API (FastAPI): extrinsics, blocks, accounts, subnets, metagraph, costs, the SSE event
stream, health, readiness and Prometheus metrics. Handlers are thin: they read views of the
committed state or hand bodies to the node."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from prometheus_client import generate_latest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from starlette.exceptions import HTTPException as StarletteHTTPException

from subnetes.wire.blocks import BlockRow, SubmitResult
from subnetes.wire.events import Event
from subnetes.wire.governance import ProposalRow, ProposalStatus, SenateRow
from subnetes.wire.rows import MetagraphRow, NeuronRow
from subnetes.wire.signing import MAX_EXTRINSIC_BYTES
from subnetes.wire.ss58 import is_ss58

from . import views
from .dashboard import mount_dashboard
from .errors import ChainError, http_status
from .http_edge import BODY_TIMEOUT, HttpEdge
from .node import Node
from .read_cache import ReadCache, respond, sse_message
from .rules.dispatch import CALLS


def status_of(e: ChainError) -> int:
    """HTTP status of a rejection: 4xx always (rule violations: 422)."""
    return http_status(e.name)


def error(name: str, message: str, status: int | None = None) -> JSONResponse:
    e = ChainError(name, message)
    return JSONResponse(e.to_json(), status_code=status or status_of(e))


class ExtrinsicBody(BaseModel):
    """A signed extrinsic (interfaces.md): the signature covers the canonical JSON of the rest."""

    model_config = ConfigDict(extra="forbid")
    call: str = Field(description="one of: " + ", ".join(CALLS))
    args: dict[str, Any]
    signer: str = Field(description="SS58 address (format 42) of the signing key")
    nonce: int = Field(ge=0)
    genesis: str = Field(description="genesis block hash of the network")
    signature: str = Field(description="0x-hex sr25519 signature")
    tip: int = Field(
        0, ge=1, description="optional: rao paid on top of the fee, orders the queue (omit for 0)"
    )


I63_MAX = 2**63 - 1  # block numbers (BIGINT in storage)
BlockNumber = Path(ge=0, le=I63_MAX, description="block number")
NetUid = Path(ge=0, le=65535, description="subnet id (u16)")
STATUS_QUERY = Query(None, description="only proposals in this state")


class ErrorBody(BaseModel):
    """Every non-2xx answer: a specific error name and a human message."""

    error: str
    message: str


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route can answer (all ``ErrorBody``)."""
    return {c: {"model": ErrorBody} for c in codes}


def _openapi_errors_are_400(schema: dict[str, Any]) -> dict[str, Any]:
    """Request validation errors answer 400 ``ErrorBody`` (not FastAPI's 422 HTTPValidationError):
    make the document say so."""
    ref = {
        "description": "invalid request",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for ops in schema.get("paths", {}).values():
        for op in ops.values():
            resps = op.get("responses", {})
            v = resps.get("422")
            if v and "HTTPValidationError" in json.dumps(v):
                del resps["422"]
                resps.setdefault("400", ref)
    comps = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        comps.pop(name, None)
    return schema


# Any event, told apart by its ``type`` (the payload types are declared in subnetes.wire.events).
AnyEvent = Annotated[Event, Field(discriminator="type")]
SCHEMA_REF = "#/components/schemas/{model}"


def _openapi_events(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the SSE stream's payload: every event type of subnetes.wire.events, generated
    from the types into ``components`` (a streaming route has no response model of its own)."""
    ev = TypeAdapter(AnyEvent).json_schema(ref_template=SCHEMA_REF)
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    comps.update(ev.pop("$defs", {}))
    comps["Event"] = ev
    route = schema.get("paths", {}).get("/v1/events", {}).get("get")
    if route:
        content = route["responses"]["200"].setdefault("content", {})
        content["text/event-stream"] = {
            "schema": {"type": "string", "description": "SSE messages; data: one Event as JSON"},
            "x-event-data": {"$ref": SCHEMA_REF.format(model="Event")},
        }
    return schema


def ok(model: Any, description: str = "OK") -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entry documenting a 200 body of a wire type (the handler returns
    the plain dict: documented, not re-validated, so large metagraphs cost nothing extra)."""
    return {200: {"model": model, "description": description}}


# Endpoints that never read chain state: they answer while a block is being built.
UNGATED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Answered from bytes encoded at a committed block (read_cache.py) while a block is built; the
# handler waits for the commit itself when the head's answer is not encoded yet.
CACHED_PATH = re.compile(r"/v1/subnets/[0-9]+/metagraph")
# The query strings the fast path answers (-> lite); any other goes to the route, which
# validates it (a bad value is a 422 there, with FastAPI's message).
FAST_QUERIES = {
    b"": False,
    b"lite=false": False,
    b"lite=0": False,
    b"lite=true": True,
    b"lite=1": True,
}


class CommittedStateOnly:
    """ASGI middleware: while a block is built (on the block thread) the state is half-updated,
    so every HTTP request but the probes and metrics waits for the commit before it runs.

    A metagraph GET of an existing subnet is answered here (a 304 or the head's encoded answer
    at once, else encoded after the commit), without FastAPI's routing, dependency and
    exception layers: at 50 readers those cost about as much event-loop time as the answer
    itself (docs/chain.md). Anything else (a missing subnet, a bad netuid) goes to the route."""

    fast_path = True  # the metagraph answers above (bench_network's previous path: off)

    def __init__(self, app: Any, node: Node, reads: ReadCache) -> None:
        self.app = app
        self.node = node
        self.reads = reads

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and CACHED_PATH.fullmatch(path):
            digits = path.split("/")[3]
            lite = FAST_QUERIES.get(scope.get("query_string", b""))
            if (
                self.fast_path
                and scope.get("method") == "GET"
                and len(digits) <= 5
                and lite is not None
            ):
                headers = dict(scope.get("headers", ()))
                answer = await self._metagraph(int(digits), headers, lite)
                if answer is not None:
                    await answer(scope, receive, send)
                    return
        elif scope["type"] == "http" and path not in UNGATED_PATHS:
            await self.node.committed()
        await self.app(scope, receive, send)

    async def _metagraph(
        self, netuid: int, headers: dict[bytes, bytes], lite: bool
    ) -> Response | None:
        """Subnet ``netuid``'s metagraph answer, or None for the route (no such subnet)."""
        accept = _latin1(headers.get(b"accept-encoding"))
        ledger = self.node.ledger
        answer = await self.reads.quick_answer(
            ledger.head.hash, netuid, accept, _latin1(headers.get(b"if-none-match")), lite
        )
        if answer is None:  # a miss: encode the head's (rows are kept across blocks)
            await self.node.committed()
            s = ledger.state.subnets.get(netuid)
            if s is not None:
                enc = self.reads.encoded(ledger.state, ledger.head.hash, s, lite)
                answer = await respond(enc, self.reads.wants_gzip(accept))
        return answer


def _latin1(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def create_app(node: Node, body_timeout: float = BODY_TIMEOUT) -> FastAPI:
    """The API of one node; a request body must arrive within ``body_timeout`` seconds per
    read (chain/http_edge.py). With ``SUBNETES_CHAIN_GZIP=1`` in the environment, metagraph
    answers are gzip-encoded for readers that accept it (off by default: it costs node CPU)."""
    app = FastAPI(
        title="Subnetes chain",
        version="1",
        description="A Bittensor-style chain: signed extrinsics, blocks, subnets, metagraphs, events.",
    )
    st = lambda: node.ledger.state  # noqa: E731 - always the latest committed state
    gzip = os.environ.get("SUBNETES_CHAIN_GZIP", "") == "1"
    reads = ReadCache(gzip=gzip)  # metagraphs and events encoded once per block (read_cache.py)
    app.add_middleware(CommittedStateOnly, node=node, reads=reads)
    # outermost of ours: bounds every body read, adds security headers, quiet disconnects
    app.add_middleware(HttpEdge, body_timeout=body_timeout)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            app.openapi_schema = _openapi_events(
                _openapi_errors_are_400(
                    get_openapi(
                        title=app.title,
                        version=app.version,
                        description=app.description,
                        routes=app.routes,
                    )
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(x) for x in first.get("loc", ()))
        return error("InvalidRequest", f"{loc}: {first.get('msg', 'invalid request')}", 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return error(name, str(exc.detail), exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        return error("InternalError", f"{type(exc).__name__}: {exc}", 500)

    def not_found(what: str) -> JSONResponse:
        return error("NotFound", what, 404)

    # ---- extrinsics ----------------------------------------------------------------------------
    @app.post(
        "/v1/extrinsics",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ExtrinsicBody.model_json_schema()}},
            }
        },
        responses={
            **ok(SubmitResult, "in a committed block"),
            202: {"description": "queued"},
            **errors(400, 401, 402, 403, 409, 413, 422, 429, 503),
        },
    )
    async def submit(request: Request, wait: bool = True) -> JSONResponse:
        """Submit a signed extrinsic. Answers once it is in a committed block (or rejected);
        ``wait=false`` answers 202 with its hash at once."""
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_EXTRINSIC_BYTES:
            return error("PayloadTooLarge", f"body exceeds {MAX_EXTRINSIC_BYTES} bytes", 413)
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_EXTRINSIC_BYTES:
                return error("PayloadTooLarge", f"body exceeds {MAX_EXTRINSIC_BYTES} bytes", 413)
        if node.replica is not None and not node.replica.is_leader:
            # a standby replica (chain/failover.py): the leader decides
            status, answer = await node.replica.forward(raw, wait)
            return JSONResponse(answer, status_code=status)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            return error("MalformedJSON", f"body is not JSON: {e}", 400)
        except RecursionError:
            return error("MalformedJSON", "body is nested too deeply", 400)
        try:
            xt, out = await node.submit(body, wait)
        except ChainError as e:
            return JSONResponse(e.to_json(), status_code=status_of(e))
        if out is None:
            return JSONResponse({"hash": xt.hash, "status": "queued"}, status_code=202)
        if out.error:
            return JSONResponse(out.error.to_json(), status_code=status_of(out.error))
        return JSONResponse(
            {
                "hash": xt.hash,
                "block": _block_of(node, xt.hash),
                "index": out.index,
                "events": out.events,
            }
        )

    @app.get("/v1/extrinsics/{xt_hash}", responses=errors(404))
    async def extrinsic_status(xt_hash: str) -> JSONResponse:
        """Outcome of an extrinsic (queued, in_block, rejected); in_block comes from the committed
        blocks, so it survives restarts and a later duplicate never changes it."""
        res = node.status(xt_hash)
        if res is None:
            return not_found(f"unknown extrinsic {xt_hash}")
        return JSONResponse(res)

    # ---- chain / blocks ----------------------------------------------------------------------
    @app.get("/v1/chain")
    async def chain_info() -> dict[str, Any]:
        """Genesis hash, profile and parameters of this network."""
        c = node.ledger.config
        return {
            "genesis_hash": node.ledger.genesis_hash,
            "profile": c.profile,
            "chain_name": c.chain_name,
            "head": node.ledger.head.number,
            "block_time": node.block_time,
            "config": c.to_json(),
            "calls": {k: v.doc for k, v in CALLS.items()},
        }

    @app.get("/v1/network")
    async def network() -> dict[str, Any]:
        """Issuance, block emission, lock cost, subnet count and limit."""
        return views.network(st())

    @app.get("/v1/lock_cost")
    async def lock_cost() -> dict[str, Any]:
        """The lock a subnet registration pays in the next block (rao)."""
        v = views.network(st())
        return {"block": v["block"], "lock_cost": v["lock_cost"]}

    @app.get("/v1/blocks/latest", responses=ok(BlockRow))
    async def latest_block() -> Any:
        return node.ledger.head.to_json()

    @app.get("/v1/blocks/{number}", responses={**ok(BlockRow), **errors(404)})
    async def block(number: int = BlockNumber) -> Any:
        rec = node.block(number) if number <= node.ledger.head.number else None
        return rec.to_json() if rec else not_found(f"no block {number}")

    # ---- accounts ------------------------------------------------------------------------------
    @app.get("/v1/accounts/{address}", responses=errors(400))
    async def account(address: str) -> Any:
        """Balance, nonce and stakes of a coldkey (any valid address; unknown ones are empty)."""
        if not is_ss58(address):
            return error("InvalidAddress", f"{address!r} is not an SS58 address", 400)
        return views.account(st(), address)

    @app.get("/v1/hotkeys/{address}", responses=errors(404))
    async def hotkey(address: str) -> Any:
        """Owner, take, stake and registrations (netuid, uid) of a hotkey."""
        v = views.hotkey(st(), address)
        return v if v else not_found(f"hotkey {address} is not registered")

    # ---- subnets -------------------------------------------------------------------------------
    def subnet_or_404(netuid: int) -> Any:
        s = st().subnets.get(netuid)
        return s if s else not_found(f"subnet {netuid} does not exist")

    @app.get("/v1/subnets")
    async def subnets() -> list[dict[str, Any]]:
        state = st()
        return [views.subnet(state, s) for _, s in sorted(state.subnets.items())]

    @app.get("/v1/subnets/{netuid}", responses=errors(404))
    async def subnet(netuid: int = NetUid) -> Any:
        s = subnet_or_404(netuid)
        return s if isinstance(s, JSONResponse) else views.subnet(st(), s)

    @app.get("/v1/subnets/{netuid}/hyperparameters", responses=errors(404))
    async def hyperparameters(netuid: int = NetUid) -> Any:
        s = subnet_or_404(netuid)
        return s if isinstance(s, JSONResponse) else s.hp.to_json()

    @app.get("/v1/subnets/{netuid}/metagraph", responses={**ok(MetagraphRow), **errors(404)})
    async def metagraph(
        request: Request,
        netuid: int = NetUid,
        lite: bool = Query(
            False,
            description="Rows without their weights (as Bittensor's metagraph(lite=True)): "
            "about half the bytes of a subnet with many validators.",
        ),
    ) -> Any:
        """Every UID with hotkey, stake, rank, trust, consensus, incentive, dividends, emission,
        validator permit, axon, registration block, immunity and weights (not with ``lite``).
        The ETag names the block: ``If-None-Match`` with it answers 304 (no body) until the next
        block; gzip when the reader accepts it."""
        hdr = request.headers
        quick = await reads.quick_answer(
            node.ledger.head.hash,
            netuid,
            hdr.get("accept-encoding"),
            hdr.get("if-none-match"),
            lite,
        )
        if quick is not None:  # 304, or the head's answer encoded at its commit: no wait
            return quick
        await node.committed()  # not gated by CommittedStateOnly (CACHED_PATH)
        s = subnet_or_404(netuid)
        if isinstance(s, JSONResponse):
            return s
        enc = reads.encoded(st(), node.ledger.head.hash, s, lite)
        return await respond(enc, reads.wants_gzip(hdr.get("accept-encoding")))

    @app.get("/v1/subnets/{netuid}/neurons/{uid}", responses={**ok(NeuronRow), **errors(404)})
    async def neuron(netuid: int = NetUid, uid: int = Path(ge=0, le=65535)) -> Any:
        """One metagraph row (the same fields as a row of the metagraph), for readers that
        need one UID rather than the whole subnet."""
        s = subnet_or_404(netuid)
        if isinstance(s, JSONResponse):
            return s
        if uid >= len(s.neurons):
            return not_found(f"uid {uid} does not exist on subnet {netuid}")
        return views.neuron(st(), s, uid)

    @app.get("/v1/subnets/{netuid}/burn", responses=errors(404))
    async def burn(netuid: int = NetUid) -> Any:
        """The burn a neuron registration on this subnet pays now (rao)."""
        s = subnet_or_404(netuid)
        return s if isinstance(s, JSONResponse) else {"netuid": netuid, "burn": s.burn}

    # ---- governance ----------------------------------------------------------------------------
    @app.get("/v1/governance/senate", responses=ok(SenateRow))
    async def senate() -> Any:
        """The senate (the top root validators by stake), how proposals pass, and the current
        value of every network parameter proposals may change."""
        return views.senate(st())

    @app.get("/v1/governance/proposals", responses=ok(list[ProposalRow]))
    async def proposals(
        status: ProposalStatus | None = STATUS_QUERY,
        limit: int = Query(100, ge=1, le=1000),
    ) -> Any:
        """Proposals, newest first (open ones with their votes so far)."""
        state = st()
        rows = [
            views.proposal(p)
            for _, p in sorted(state.proposals.items(), reverse=True)
            if status is None or p.status == status
        ]
        return rows[:limit]

    @app.get("/v1/governance/proposals/{proposal_id}", responses={**ok(ProposalRow), **errors(404)})
    async def proposal(proposal_id: int = Path(ge=0, le=I63_MAX)) -> Any:
        """One proposal: the change, the votes, its status and when it closed."""
        p = st().proposals.get(proposal_id)
        return views.proposal(p) if p else not_found(f"no proposal {proposal_id}")

    # ---- events --------------------------------------------------------------------------------
    @app.get(
        "/v1/events",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, **errors(400)},
    )
    async def events(
        request: Request, from_block: int | None = Query(None, ge=0, le=I63_MAX)
    ) -> Response:  # the stream, or a JSON error for a bad Last-Event-ID
        """Server-Sent Events from ``from_block`` (default: the next block); each event's id is
        ``<block>:<index>``; reconnect with ``Last-Event-ID`` to resume after it."""
        start, skip = (node.ledger.head.number + 1 if from_block is None else from_block), -1
        last = request.headers.get("last-event-id")
        if last:
            try:
                b, i = (int(x) for x in last.split(":"))
                if not (0 <= b <= I63_MAX and i >= -1):
                    raise ValueError(last)
                start, skip = b, i
            except ValueError:
                return error("InvalidRequest", "Last-Event-ID must be <block>:<index>", 400)
        return StreamingResponse(
            _stream(node, reads, request, start, skip),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # ---- dev stepping --------------------------------------------------------------------------
    @app.post("/v1/dev/produce", responses=errors(409))
    async def produce(count: int = Query(1, ge=1, le=10_000)) -> Any:
        """Produce ``count`` blocks now (only when the node runs with manual block production)."""
        if not node.manual:
            return error("NotManual", "the node produces blocks on a timer", 409)
        for _ in range(count):
            await node.produce_async()
        return {"head": node.ledger.head.number}

    # ---- ops -----------------------------------------------------------------------------------
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", responses=errors(503))
    async def readyz() -> Any:
        if not node.ready:
            return error("NotReady", "block production has not started", 503)
        role = node.replica.role if node.replica is not None else "leader"
        return {"status": "ready", "head": node.ledger.head.number, "role": role}

    @app.get("/v1/replica")
    async def replica() -> Any:
        """This replica's role: ``leader`` (produces blocks) or ``standby`` (serves reads from
        the database, forwards submissions, takes over when the leader is gone)."""
        if node.replica is None:
            return {"role": "leader", "failover": False}
        return {**node.replica.describe(), "failover": True, "head": node.ledger.head.number}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            generate_latest(node.metrics.registry).decode(), media_type="text/plain; version=0.0.4"
        )

    mount_dashboard(app)  # web page at / and /dashboard (chain/dashboard.py)
    return app


def _block_of(node: Node, xt_hash: str) -> int | None:
    res = node.status(xt_hash)
    return res.get("block") if res else None


async def _stream(
    node: Node, reads: ReadCache, request: Request, start: int, skip: int
) -> AsyncIterator[bytes]:
    """Events of blocks ``start``.. (skipping indices <= ``skip`` in ``start``), then live;
    a whole block's events in one write, encoded once for every subscriber."""
    nxt = start
    yield b": subnetes chain events\n\n"
    while True:
        if await request.is_disconnected():
            return
        await node.committed()
        head = node.ledger.head.number
        while nxt <= head:
            recs = node.blocks_from(nxt, 64)
            if not recs:  # older than anything this node keeps (in-memory node): jump ahead
                nxt = head + 1
                break
            for rec in recs:
                if rec.number == start and skip >= 0:  # resuming inside this block
                    rest = [sse_message(rec.number, ev) for ev in rec.events if ev["index"] > skip]
                    if rest:
                        yield b"".join(rest)
                else:
                    yield reads.block_events(rec)
                nxt = rec.number + 1
        await node.wait_block(nxt - 1, timeout=15.0)
        if node.ledger.head.number < nxt:
            yield b": keep-alive\n\n"
