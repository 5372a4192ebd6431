"""The shared chain client (operator, CLI, SDK, demo): reads, signed extrinsics, events.

One core, two faces. :class:`ChainCore` holds everything the client knows (paths, request
shapes, answers, the nonce cache and the retry policy) and does no I/O: each operation is a
generator that yields the steps it needs (:class:`Request`, :class:`Sleep`) and is sent back the
answers. :class:`ChainClient` (sync, ``httpx.Client``) and :class:`AsyncChainClient` (asyncio,
``httpx.AsyncClient``) only run those steps, so both have the same methods by construction.

Submitting signs with a bittensor-wallet ``Keypair`` (``subnetes.wire.signing``: the client never
imports the chain's state machine), serializes per signer (one in-flight extrinsic per account,
so nonces stay in order even with 500 registrations paid by one coldkey) and retries on
``StaleNonce``/``FutureNonce`` with a fresh nonce. Rejections raise :class:`ChainError` with the
chain's error name and message.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import httpx
from bittensor_wallet import Keypair

from subnetes.wire.errors import ChainError, ErrorName
from subnetes.wire.signing import sign

NONCE_ERRORS = (ErrorName.STALE_NONCE, ErrorName.FUTURE_NONCE)
DEFAULT_ENDPOINT = "http://127.0.0.1:9944"
EVENTS_TIMEOUT = httpx.Timeout(10.0, read=60.0)  # the stream idles between blocks

T = TypeVar("T")
P = ParamSpec("P")


def _raise_for(resp: httpx.Response) -> Any:
    """JSON of a successful response; ChainError for a 4xx/5xx with the chain's error body."""
    if resp.status_code < 400:
        return resp.json()
    try:
        body = resp.json()
        name, msg = body["error"], body["message"]
    except Exception:
        name, msg = ErrorName.HTTP_ERROR, f"HTTP {resp.status_code}: {resp.text[:200]}"
    raise ChainError(name, msg)


class SSEParser:
    """Incremental Server-Sent Events parser, one for the sync and the async client: feed it
    lines; a blank line ends an event and returns its (id, JSON data)."""

    def __init__(self) -> None:
        self.ev_id: str | None = None
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str | None, dict[str, Any]] | None:
        if line == "":
            ev_id, data = self.ev_id, self.data
            self.ev_id, self.data = None, []
            return (ev_id, json.loads("\n".join(data))) if data else None
        if line.startswith("id:"):
            self.ev_id = line[3:].strip()
        elif line.startswith("data:"):
            self.data.append(line[5:].strip())
        return None


def _sse_events(lines: Iterator[str]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """Parse SSE lines into (id, data) pairs."""
    parser = SSEParser()
    for line in lines:
        if (event := parser.feed(line)) is not None:
            yield event


# ---- the core: requests and answers, no I/O ----------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One HTTP request an operation needs; the face sends it and returns the response."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sleep:
    """A pause an operation needs (a retry's backoff); the face sleeps, sync or async."""

    seconds: float


# An operation: yields Requests (sent back their httpx.Response) and Sleeps (sent back None),
# and returns its result.
Steps = Generator[Request | Sleep, Any, T]


class ChainCore:
    """What the chain client knows, as pure operations (generators of :data:`Steps`)."""

    def __init__(self, retries: int = 5) -> None:
        self.retries = retries
        self.genesis: str | None = None
        self.nonces: dict[str, int] = {}  # the next nonce of each signer this client used
        # per subnet: the ETag and body of the last metagraph read (a poller asks with
        # If-None-Match and gets an empty 304 until the next block)
        self.metagraphs: dict[tuple[int, bool], tuple[str, bytes]] = {}  # (netuid, lite)

    def get(self, path: str, /, **params: Any) -> Steps[Any]:
        """``GET path`` (``None`` params left out): the JSON answer, or ChainError."""
        resp = yield Request("GET", path, {k: v for k, v in params.items() if v is not None})
        return _raise_for(resp)

    # ---- reads ----------------------------------------------------------------------------------
    def genesis_hash(self) -> Steps[str]:
        """The network's genesis hash (asked once, then remembered)."""
        if self.genesis is None:
            self.genesis = str((yield from self.chain())["genesis_hash"])
        return self.genesis

    def chain(self) -> Steps[Any]:
        return (yield from self.get("/v1/chain"))

    def network(self) -> Steps[Any]:
        return (yield from self.get("/v1/network"))

    def account(self, address: str) -> Steps[Any]:
        return (yield from self.get(f"/v1/accounts/{address}"))

    def hotkey(self, address: str) -> Steps[Any]:
        """The hotkey's owner, stakes and registrations; None when the chain has no such hotkey."""
        try:
            return (yield from self.get(f"/v1/hotkeys/{address}"))
        except ChainError as e:
            if e.name == ErrorName.NOT_FOUND:
                return None
            raise

    def subnets(self) -> Steps[Any]:
        return (yield from self.get("/v1/subnets"))

    def subnet(self, netuid: int) -> Steps[Any]:
        return (yield from self.get(f"/v1/subnets/{netuid}"))

    def hyperparameters(self, netuid: int) -> Steps[Any]:
        return (yield from self.get(f"/v1/subnets/{netuid}/hyperparameters"))

    def metagraph(self, netuid: int, lite: bool = False) -> Steps[Any]:
        """The subnet's metagraph (``lite``: rows without weights); asked with the ETag of the
        last one read, so an unchanged block's answer is a bodyless 304 and the kept copy is
        parsed again (each caller gets its own objects)."""
        netuid = int(netuid)
        kept = (netuid, bool(lite))
        prev = self.metagraphs.get(kept)
        headers = {"if-none-match": prev[0]} if prev else {}
        params = {"lite": "true"} if lite else {}
        resp = yield Request("GET", f"/v1/subnets/{netuid}/metagraph", params, headers=headers)
        if resp.status_code == 304 and prev is not None:
            return json.loads(prev[1])
        out = _raise_for(resp)
        etag = resp.headers.get("etag")
        if etag:
            self.metagraphs[kept] = (etag, resp.content)
        else:
            self.metagraphs.pop(kept, None)
        return out

    def neuron(self, netuid: int, uid: int) -> Steps[Any]:
        """One metagraph row (``GET /v1/subnets/{netuid}/neurons/{uid}``)."""
        return (yield from self.get(f"/v1/subnets/{int(netuid)}/neurons/{int(uid)}"))

    def burn(self, netuid: int) -> Steps[int]:
        return int((yield from self.get(f"/v1/subnets/{netuid}/burn"))["burn"])

    def lock_cost(self) -> Steps[int]:
        return int((yield from self.get("/v1/lock_cost"))["lock_cost"])

    def block(self, number: int | str = "latest") -> Steps[Any]:
        return (yield from self.get(f"/v1/blocks/{number}"))

    def senate(self) -> Steps[Any]:
        """The senate, the proposal rules and the governable parameters (``SenateRow``)."""
        return (yield from self.get("/v1/governance/senate"))

    def proposals(self, status: str | None = None, limit: int = 100) -> Steps[Any]:
        """Proposals, newest first (``ProposalRow``s), optionally only those in ``status``."""
        return (yield from self.get("/v1/governance/proposals", status=status, limit=limit))

    def proposal(self, proposal_id: int) -> Steps[Any]:
        """One proposal (``ProposalRow``)."""
        return (yield from self.get(f"/v1/governance/proposals/{int(proposal_id)}"))

    def uid_of(self, netuid: int, hotkey: str) -> Steps[int | None]:
        """The hotkey's UID on ``netuid`` (None when not registered)."""
        hk = yield from self.hotkey(hotkey)
        for r in (hk or {}).get("registrations", []):
            if r["netuid"] == netuid:
                return int(r["uid"])
        return None

    # ---- writes ---------------------------------------------------------------------------------
    def submit(
        self, keypair: Keypair, call: str, args: dict[str, Any], wait: bool = True
    ) -> Steps[Any]:
        """Sign and send; the chain's answer (``{"block", "index", "events"}`` or, with
        ``wait=False``, ``{"hash"}``). Raises ChainError on rejection. The face runs this
        under the signer's lock, so the nonce cache is never raced."""
        signer = keypair.ss58_address
        for attempt in range(self.retries + 1):
            nonce = self.nonces.get(signer)
            if nonce is None:
                nonce = int((yield from self.account(signer))["nonce"])
            body = sign(keypair, call, args, nonce, (yield from self.genesis_hash()))
            resp = yield Request("POST", "/v1/extrinsics", {"wait": str(wait).lower()}, body)
            try:
                out = _raise_for(resp)
            except ChainError as e:
                self.nonces.pop(signer, None)
                if e.name in NONCE_ERRORS and attempt < self.retries:
                    yield Sleep(0.05 * (attempt + 1))
                    continue
                raise
            self.nonces[signer] = nonce + 1
            return out
        raise AssertionError("unreachable")

    def produce(self, count: int = 1) -> Steps[int]:
        """Manual-mode chains only: produce ``count`` blocks now; returns the head."""
        resp = yield Request("POST", "/v1/dev/produce", {"count": count})
        return int(_raise_for(resp)["head"])


class EventCursor:
    """Where an event stream stands: what to ask for (from a block, or after the last event
    id seen, so a reconnect misses nothing) and the SSE parsing of the answer."""

    def __init__(self, from_block: int | None, last_event_id: str | None) -> None:
        self.from_block = from_block
        self.last = last_event_id
        self.parser = SSEParser()

    def request(self) -> dict[str, Any]:
        """Keyword arguments of the (re)connecting ``stream("GET", ...)`` call."""
        self.parser = SSEParser()  # a new connection starts a new message
        headers = {"Last-Event-ID": self.last} if self.last else {}
        params = {} if self.last or self.from_block is None else {"from_block": self.from_block}
        return {
            "method": "GET",
            "url": "/v1/events",
            "params": params,
            "headers": headers,
            "timeout": EVENTS_TIMEOUT,
        }

    def feed(self, line: str) -> dict[str, Any] | None:
        """The event a line completes (remembering its id), or None."""
        if (event := self.parser.feed(line)) is None:
            return None
        ev_id, payload = event
        self.last = ev_id or self.last
        return payload


# ---- the faces: run the core's steps -----------------------------------------------------------


class op(Generic[P, T]):
    """A core operation exposed on both faces: ``ChainClient.x(...)`` returns its result,
    ``AsyncChainClient.x(...)`` a coroutine of it (declared once here, for both)."""

    def __init__(self, fn: Callable[Concatenate[ChainCore, P], Steps[T]]) -> None:
        self.fn = fn

    @overload
    def __get__(self, face: ChainClient, owner: type | None = None) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, face: AsyncChainClient, owner: type | None = None
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, face: Any, owner: type | None = None) -> Any:
        fn = self.fn

        def run(*args: Any, **kwargs: Any) -> Any:
            return face._run(fn(face.core, *args, **kwargs))

        run.__name__ = fn.__name__
        run.__doc__ = fn.__doc__
        return run


class _Face:
    """What both faces share: the core's operations and the convenience extrinsic wrappers,
    all through ``submit`` (each face submits under its own kind of per-signer lock)."""

    core: ChainCore

    get = op(ChainCore.get)
    genesis_hash = op(ChainCore.genesis_hash)
    chain = op(ChainCore.chain)
    network = op(ChainCore.network)
    account = op(ChainCore.account)
    hotkey = op(ChainCore.hotkey)
    subnets = op(ChainCore.subnets)
    subnet = op(ChainCore.subnet)
    hyperparameters = op(ChainCore.hyperparameters)
    metagraph = op(ChainCore.metagraph)
    neuron = op(ChainCore.neuron)
    burn = op(ChainCore.burn)
    lock_cost = op(ChainCore.lock_cost)
    block = op(ChainCore.block)
    uid_of = op(ChainCore.uid_of)
    senate = op(ChainCore.senate)
    proposals = op(ChainCore.proposals)
    proposal = op(ChainCore.proposal)
    produce = op(ChainCore.produce)

    @property
    def retries(self) -> int:
        return self.core.retries

    def submit(self, keypair: Keypair, call: str, args: dict[str, Any], wait: bool = True) -> Any:
        raise NotImplementedError

    def transfer(self, kp: Keypair, dest: str, amount: int, **kw: Any) -> Any:
        return self.submit(kp, "transfer", {"dest": dest, "amount": amount}, **kw)

    def faucet(self, kp: Keypair, amount: int, dest: str | None = None, **kw: Any) -> Any:
        return self.submit(
            kp, "faucet", {"amount": amount, **({"dest": dest} if dest else {})}, **kw
        )

    def register_network(
        self, coldkey: Keypair, hotkey: str, max_lock_cost: int | None = None, **kw: Any
    ) -> Any:
        args: dict[str, Any] = {"hotkey": hotkey}
        if max_lock_cost is not None:
            args["max_lock_cost"] = max_lock_cost
        return self.submit(coldkey, "register_network", args, **kw)

    def dissolve_network(self, coldkey: Keypair, netuid: int, **kw: Any) -> Any:
        return self.submit(coldkey, "dissolve_network", {"netuid": netuid}, **kw)

    def burned_register(
        self, coldkey: Keypair, netuid: int, hotkey: str, max_burn: int | None = None, **kw: Any
    ) -> Any:
        args: dict[str, Any] = {"netuid": netuid, "hotkey": hotkey}
        if max_burn is not None:
            args["max_burn"] = max_burn
        return self.submit(coldkey, "burned_register", args, **kw)

    def root_register(self, coldkey: Keypair, hotkey: str, **kw: Any) -> Any:
        return self.submit(coldkey, "root_register", {"hotkey": hotkey}, **kw)

    def add_stake(self, coldkey: Keypair, hotkey: str, amount: int, **kw: Any) -> Any:
        return self.submit(coldkey, "add_stake", {"hotkey": hotkey, "amount": amount}, **kw)

    def remove_stake(self, coldkey: Keypair, hotkey: str, amount: int, **kw: Any) -> Any:
        return self.submit(coldkey, "remove_stake", {"hotkey": hotkey, "amount": amount}, **kw)

    def set_take(self, coldkey: Keypair, hotkey: str, take: int, **kw: Any) -> Any:
        return self.submit(coldkey, "set_take", {"hotkey": hotkey, "take": take}, **kw)

    def set_weights(
        self,
        hotkey: Keypair,
        netuid: int,
        uids: list[int],
        values: list[int],
        version_key: int = 0,
        **kw: Any,
    ) -> Any:
        return self.submit(
            hotkey,
            "set_weights",
            {"netuid": netuid, "uids": uids, "values": values, "version_key": version_key},
            **kw,
        )

    def set_root_weights(
        self, hotkey: Keypair, netuids: list[int], values: list[int], **kw: Any
    ) -> Any:
        return self.submit(hotkey, "set_root_weights", {"netuids": netuids, "values": values}, **kw)

    def commit_weights(self, hotkey: Keypair, netuid: int, commit_hash: str, **kw: Any) -> Any:
        return self.submit(
            hotkey, "commit_weights", {"netuid": netuid, "commit_hash": commit_hash}, **kw
        )

    def reveal_weights(
        self,
        hotkey: Keypair,
        netuid: int,
        uids: list[int],
        values: list[int],
        salt: list[int],
        version_key: int = 0,
        **kw: Any,
    ) -> Any:
        return self.submit(
            hotkey,
            "reveal_weights",
            {
                "netuid": netuid,
                "uids": uids,
                "values": values,
                "salt": salt,
                "version_key": version_key,
            },
            **kw,
        )

    def serve_axon(
        self, hotkey: Keypair, netuid: int, ip: str, port: int, protocol: int = 4, **kw: Any
    ) -> Any:
        return self.submit(
            hotkey,
            "serve_axon",
            {"netuid": netuid, "ip": ip, "port": port, "protocol": protocol},
            **kw,
        )

    def set_hyperparameter(
        self, coldkey: Keypair, netuid: int, name: str, value: int | bool, **kw: Any
    ) -> Any:
        return self.submit(
            coldkey, "set_hyperparameter", {"netuid": netuid, "name": name, "value": value}, **kw
        )

    def propose(
        self,
        coldkey: Keypair,
        hotkey: str,
        name: str,
        value: bool | int | str,
        netuid: int | None = None,
        **kw: Any,
    ) -> Any:
        """A senate member (``hotkey``, owned by ``coldkey``) proposes a change."""
        args: dict[str, Any] = {"hotkey": hotkey, "name": name, "value": value}
        if netuid is not None:
            args["netuid"] = netuid
        return self.submit(coldkey, "propose", args, **kw)

    def vote(self, coldkey: Keypair, hotkey: str, proposal: int, approve: bool, **kw: Any) -> Any:
        """A senate member (``hotkey``, owned by ``coldkey``) votes on an open proposal."""
        return self.submit(
            coldkey, "vote", {"hotkey": hotkey, "proposal": proposal, "approve": approve}, **kw
        )

    def reset_bonds(self, coldkey: Keypair, netuid: int, uid: int | None = None, **kw: Any) -> Any:
        return self.submit(
            coldkey,
            "reset_bonds",
            {"netuid": netuid, **({"uid": uid} if uid is not None else {})},
            **kw,
        )


def _client_kwargs(endpoint: str, timeout: float) -> dict[str, Any]:
    # trust_env=False: a proxy variable in the environment must never carry chain traffic
    # (signed extrinsics; the chain is on loopback or in-cluster).
    return {"base_url": endpoint.rstrip("/"), "timeout": timeout, "trust_env": False}


class ChainClient(_Face):
    """Synchronous face (httpx.Client)."""

    def __init__(
        self, endpoint: str = DEFAULT_ENDPOINT, timeout: float = 120.0, retries: int = 5
    ) -> None:
        self.core = ChainCore(retries)
        self.http = httpx.Client(**_client_kwargs(endpoint, timeout))
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _run(self, steps: Steps[T]) -> T:
        """Run a core operation: send its requests, sleep its pauses, return its result."""
        try:
            step = next(steps)
            while True:
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    step = steps.send(None)
                else:
                    resp = self.http.request(
                        step.method,
                        step.path,
                        params=step.params,
                        json=step.json,
                        headers=step.headers,
                    )
                    step = steps.send(resp)
        except StopIteration as done:
            return done.value

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ChainClient:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def submit(self, keypair: Keypair, call: str, args: dict[str, Any], wait: bool = True) -> Any:
        """Sign and send (one in-flight extrinsic per signer); see :meth:`ChainCore.submit`."""
        with self._guard:
            lock = self._locks.setdefault(keypair.ss58_address, threading.Lock())
        with lock:
            return self._run(self.core.submit(keypair, call, args, wait))

    def events(
        self,
        from_block: int | None = None,
        last_event_id: str | None = None,
        reconnect: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Stream events (dicts with ``type``, ``block``, ``index``...); reconnects with
        Last-Event-ID so nothing is missed."""
        cursor = EventCursor(from_block, last_event_id)
        while True:
            try:
                with self.http.stream(**cursor.request()) as resp:
                    if resp.status_code >= 400:
                        resp.read()
                        _raise_for(resp)
                    for line in resp.iter_lines():
                        if (payload := cursor.feed(line)) is not None:
                            yield payload
            except (httpx.TransportError, httpx.StreamError):
                if not reconnect:
                    raise
                time.sleep(0.5)


class AsyncChainClient(_Face):
    """asyncio face (httpx.AsyncClient); the same methods as ChainClient, awaited."""

    def __init__(
        self, endpoint: str = DEFAULT_ENDPOINT, timeout: float = 120.0, retries: int = 5
    ) -> None:
        self.core = ChainCore(retries)
        self.http = httpx.AsyncClient(**_client_kwargs(endpoint, timeout))
        self._locks: dict[str, asyncio.Lock] = {}

    async def _run(self, steps: Steps[T]) -> T:
        """Run a core operation: send its requests, sleep its pauses, return its result."""
        try:
            step = next(steps)
            while True:
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    step = steps.send(None)
                else:
                    resp = await self.http.request(
                        step.method,
                        step.path,
                        params=step.params,
                        json=step.json,
                        headers=step.headers,
                    )
                    step = steps.send(resp)
        except StopIteration as done:
            return done.value

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncChainClient:
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.aclose()

    async def submit(
        self, keypair: Keypair, call: str, args: dict[str, Any], wait: bool = True
    ) -> Any:
        """Sign and send (one in-flight extrinsic per signer); see :meth:`ChainCore.submit`."""
        lock = self._locks.setdefault(keypair.ss58_address, asyncio.Lock())
        async with lock:
            return await self._run(self.core.submit(keypair, call, args, wait))

    async def events(
        self,
        from_block: int | None = None,
        last_event_id: str | None = None,
        reconnect: bool = True,
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream events; reconnects with Last-Event-ID so nothing is missed."""
        cursor = EventCursor(from_block, last_event_id)
        while True:
            try:
                async with self.http.stream(**cursor.request()) as resp:
                    if resp.status_code >= 400:
                        await resp.aread()
                        _raise_for(resp)
                    async for line in resp.aiter_lines():
                        if (payload := cursor.feed(line)) is not None:
                            yield payload
            except (httpx.TransportError, httpx.StreamError):
                if not reconnect:
                    raise
                await asyncio.sleep(0.5)
