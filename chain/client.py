"""The shared chain client (operator, CLI, SDK, demo): reads, signed extrinsics, events.

``ChainClient`` (sync) and ``AsyncChainClient`` (asyncio) have the same methods. Submitting
signs with a bittensor-wallet ``Keypair``, serializes per signer (one in-flight extrinsic per
account, so nonces stay in order even with 500 registrations paid by one coldkey) and retries
on ``StaleNonce``/``FutureNonce`` with a fresh nonce. Rejections raise :class:`ChainError`
with the chain's error name and message.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from bittensor_wallet import Keypair

from subnetes.wire.errors import ChainError
from subnetes.wire.signing import sign

NONCE_ERRORS = ("StaleNonce", "FutureNonce")
DEFAULT_ENDPOINT = "http://127.0.0.1:9944"


def _raise_for(resp: httpx.Response) -> Any:
    """JSON of a successful response; ChainError for a 4xx/5xx with the chain's error body."""
    if resp.status_code < 400:
        return resp.json()
    try:
        body = resp.json()
        name, msg = body["error"], body["message"]
    except Exception:
        name, msg = "HTTPError", f"HTTP {resp.status_code}: {resp.text[:200]}"
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


class _Calls:
    """Convenience wrappers: one method per extrinsic, all through ``submit``."""

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

    def reset_bonds(self, coldkey: Keypair, netuid: int, uid: int | None = None, **kw: Any) -> Any:
        return self.submit(
            coldkey,
            "reset_bonds",
            {"netuid": netuid, **({"uid": uid} if uid is not None else {})},
            **kw,
        )


class ChainClient(_Calls):
    """Synchronous client (httpx)."""

    def __init__(
        self, endpoint: str = DEFAULT_ENDPOINT, timeout: float = 120.0, retries: int = 5
    ) -> None:
        # trust_env=False: a proxy variable in the environment must never carry chain traffic
        # (signed extrinsics; the chain is on loopback or in-cluster).
        self.http = httpx.Client(base_url=endpoint.rstrip("/"), timeout=timeout, trust_env=False)
        self.retries = retries
        self._genesis: str | None = None
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._nonces: dict[str, int] = {}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ChainClient:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def get(self, path: str, **params: Any) -> Any:
        return _raise_for(
            self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        )

    # ---- reads ----------------------------------------------------------------------------------
    def genesis_hash(self) -> str:
        if self._genesis is None:
            self._genesis = self.get("/v1/chain")["genesis_hash"]
        return self._genesis

    def chain(self) -> Any:
        return self.get("/v1/chain")

    def network(self) -> Any:
        return self.get("/v1/network")

    def account(self, address: str) -> Any:
        return self.get(f"/v1/accounts/{address}")

    def hotkey(self, address: str) -> Any:
        try:
            return self.get(f"/v1/hotkeys/{address}")
        except ChainError as e:
            if e.name == "NotFound":
                return None
            raise

    def subnets(self) -> Any:
        return self.get("/v1/subnets")

    def subnet(self, netuid: int) -> Any:
        return self.get(f"/v1/subnets/{netuid}")

    def hyperparameters(self, netuid: int) -> Any:
        return self.get(f"/v1/subnets/{netuid}/hyperparameters")

    def metagraph(self, netuid: int) -> Any:
        return self.get(f"/v1/subnets/{netuid}/metagraph")

    def burn(self, netuid: int) -> int:
        return int(self.get(f"/v1/subnets/{netuid}/burn")["burn"])

    def lock_cost(self) -> int:
        return int(self.get("/v1/lock_cost")["lock_cost"])

    def block(self, number: int | str = "latest") -> Any:
        return self.get(f"/v1/blocks/{number}")

    def uid_of(self, netuid: int, hotkey: str) -> int | None:
        """The hotkey's UID on ``netuid`` (None when not registered)."""
        hk = self.hotkey(hotkey)
        for r in (hk or {}).get("registrations", []):
            if r["netuid"] == netuid:
                return int(r["uid"])
        return None

    # ---- writes ---------------------------------------------------------------------------------
    def submit(self, keypair: Keypair, call: str, args: dict[str, Any], wait: bool = True) -> Any:
        """Sign and send; returns the chain's answer (``{"block", "index", "events"}`` or, with
        ``wait=False``, ``{"hash"}``). Raises ChainError on rejection."""
        signer = keypair.ss58_address
        with self._guard:
            lock = self._locks.setdefault(signer, threading.Lock())
        with lock:
            for attempt in range(self.retries + 1):
                nonce = self._nonces.get(signer)
                if nonce is None:
                    nonce = int(self.account(signer)["nonce"])
                body = sign(keypair, call, args, nonce, self.genesis_hash())
                resp = self.http.post(
                    "/v1/extrinsics", json=body, params={"wait": str(wait).lower()}
                )
                try:
                    out = _raise_for(resp)
                except ChainError as e:
                    self._nonces.pop(signer, None)
                    if e.name in NONCE_ERRORS and attempt < self.retries:
                        time.sleep(0.05 * (attempt + 1))
                        continue
                    raise
                self._nonces[signer] = nonce + 1
                return out
        raise AssertionError("unreachable")

    def produce(self, count: int = 1) -> int:
        """Manual-mode chains only: produce ``count`` blocks now; returns the head."""
        return int(_raise_for(self.http.post("/v1/dev/produce", params={"count": count}))["head"])

    # ---- events ---------------------------------------------------------------------------------
    def events(
        self,
        from_block: int | None = None,
        last_event_id: str | None = None,
        reconnect: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Stream events (dicts with ``type``, ``block``, ``index``...); reconnects with
        Last-Event-ID so nothing is missed."""
        last = last_event_id
        while True:
            headers = {"Last-Event-ID": last} if last else {}
            params = {} if last or from_block is None else {"from_block": from_block}
            try:
                with self.http.stream(
                    "GET",
                    "/v1/events",
                    params=params,
                    headers=headers,
                    timeout=httpx.Timeout(10.0, read=60.0),
                ) as resp:
                    if resp.status_code >= 400:
                        resp.read()
                        _raise_for(resp)
                    for ev_id, data in _sse_events(resp.iter_lines()):
                        last = ev_id or last
                        yield data
            except (httpx.TransportError, httpx.StreamError):
                if not reconnect:
                    raise
                time.sleep(0.5)


class AsyncChainClient(_Calls):
    """asyncio client (httpx.AsyncClient); same methods as ChainClient, awaited."""

    def __init__(
        self, endpoint: str = DEFAULT_ENDPOINT, timeout: float = 120.0, retries: int = 5
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=endpoint.rstrip("/"), timeout=timeout, trust_env=False
        )  # trust_env=False: as ChainClient
        self.retries = retries
        self._genesis: str | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._nonces: dict[str, int] = {}

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncChainClient:
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.aclose()

    async def get(self, path: str, **params: Any) -> Any:
        return _raise_for(
            await self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        )

    async def genesis_hash(self) -> str:
        if self._genesis is None:
            self._genesis = (await self.get("/v1/chain"))["genesis_hash"]
        return self._genesis

    async def chain(self) -> Any:
        return await self.get("/v1/chain")

    async def network(self) -> Any:
        return await self.get("/v1/network")

    async def account(self, address: str) -> Any:
        return await self.get(f"/v1/accounts/{address}")

    async def hotkey(self, address: str) -> Any:
        try:
            return await self.get(f"/v1/hotkeys/{address}")
        except ChainError as e:
            if e.name == "NotFound":
                return None
            raise

    async def subnets(self) -> Any:
        return await self.get("/v1/subnets")

    async def subnet(self, netuid: int) -> Any:
        return await self.get(f"/v1/subnets/{netuid}")

    async def hyperparameters(self, netuid: int) -> Any:
        return await self.get(f"/v1/subnets/{netuid}/hyperparameters")

    async def metagraph(self, netuid: int) -> Any:
        return await self.get(f"/v1/subnets/{netuid}/metagraph")

    async def burn(self, netuid: int) -> int:
        return int((await self.get(f"/v1/subnets/{netuid}/burn"))["burn"])

    async def lock_cost(self) -> int:
        return int((await self.get("/v1/lock_cost"))["lock_cost"])

    async def block(self, number: int | str = "latest") -> Any:
        return await self.get(f"/v1/blocks/{number}")

    async def uid_of(self, netuid: int, hotkey: str) -> int | None:
        hk = await self.hotkey(hotkey)
        for r in (hk or {}).get("registrations", []):
            if r["netuid"] == netuid:
                return int(r["uid"])
        return None

    async def submit(
        self, keypair: Keypair, call: str, args: dict[str, Any], wait: bool = True
    ) -> Any:
        signer = keypair.ss58_address
        lock = self._locks.setdefault(signer, asyncio.Lock())
        async with lock:
            for attempt in range(self.retries + 1):
                nonce = self._nonces.get(signer)
                if nonce is None:
                    nonce = int((await self.account(signer))["nonce"])
                body = sign(keypair, call, args, nonce, await self.genesis_hash())
                resp = await self.http.post(
                    "/v1/extrinsics", json=body, params={"wait": str(wait).lower()}
                )
                try:
                    out = _raise_for(resp)
                except ChainError as e:
                    self._nonces.pop(signer, None)
                    if e.name in NONCE_ERRORS and attempt < self.retries:
                        await asyncio.sleep(0.05 * (attempt + 1))
                        continue
                    raise
                self._nonces[signer] = nonce + 1
                return out
        raise AssertionError("unreachable")

    async def produce(self, count: int = 1) -> int:
        return int(
            _raise_for(await self.http.post("/v1/dev/produce", params={"count": count}))["head"]
        )

    async def events(
        self,
        from_block: int | None = None,
        last_event_id: str | None = None,
        reconnect: bool = True,
    ) -> AsyncIterator[dict[str, Any]]:
        last = last_event_id
        while True:
            headers = {"Last-Event-ID": last} if last else {}
            params = {} if last or from_block is None else {"from_block": from_block}
            try:
                async with self.http.stream(
                    "GET",
                    "/v1/events",
                    params=params,
                    headers=headers,
                    timeout=httpx.Timeout(10.0, read=60.0),
                ) as resp:
                    if resp.status_code >= 400:
                        await resp.aread()
                        _raise_for(resp)
                    parser = SSEParser()
                    async for line in resp.aiter_lines():
                        if (event := parser.feed(line)) is not None:
                            ev_id, payload = event
                            last = ev_id or last
                            yield payload
            except (httpx.TransportError, httpx.StreamError):
                if not reconnect:
                    raise
                await asyncio.sleep(0.5)
