"""The validator's client: signed, concurrent, time-limited queries to miners' axons."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import aiohttp
from bittensor_wallet import Keypair
from pydantic import BaseModel, ValidationError

from .chain import NeuronInfo
from .signing import sign_request
from .telemetry import tracer

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class QueryResult(Generic[R]):
    """One miner's answer: the parsed response and its latency, or why there is none."""

    uid: int
    hotkey: str
    response: R | None
    latency_s: float | None
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.response is not None


class Dendrite:
    """Sends requests signed by ``keypair`` to miners of ``netuid``."""

    def __init__(self, keypair: Keypair, netuid: int, max_concurrency: int = 64) -> None:
        self.keypair = keypair
        self.netuid = netuid
        self._sem = asyncio.Semaphore(max_concurrency)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # trust_env=False: never route miner traffic through a proxy from the environment.
            self._session = aiohttp.ClientSession(trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def query(
        self,
        neuron: NeuronInfo,
        route: str,
        request: BaseModel,
        response_model: type[R],
        timeout_s: float,
        body: bytes | None = None,
    ) -> QueryResult[R]:
        """POST ``request`` to ``neuron``'s axon; never raises for a miner's failure."""
        if neuron.axon is None:
            return QueryResult(neuron.uid, neuron.hotkey, None, None, error="NoAxon")
        body = request.model_dump_json().encode() if body is None else body
        path = f"/{route}"
        async with self._sem:
            headers = sign_request(
                self.keypair,
                method="POST",
                path=path,
                body=body,
                receiver=neuron.hotkey,
                netuid=self.netuid,
            )
            headers["Content-Type"] = "application/json"
            with tracer.start_as_current_span(f"query {route}") as span:
                span.set_attribute("subnetes.uid", neuron.uid)
                t0 = time.perf_counter()
                try:
                    async with self._client().post(
                        neuron.axon.url + path,
                        data=body,
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=timeout_s),
                    ) as resp:
                        raw = await resp.read()
                        latency = time.perf_counter() - t0
                        status = resp.status
                except TimeoutError:
                    return QueryResult(neuron.uid, neuron.hotkey, None, None, error="Timeout")
                except aiohttp.ClientError as e:
                    return QueryResult(
                        neuron.uid,
                        neuron.hotkey,
                        None,
                        None,
                        error=f"Unreachable: {type(e).__name__}",
                    )
        if status != 200:
            return QueryResult(
                neuron.uid,
                neuron.hotkey,
                None,
                latency,
                status,
                error=f"HTTP {status}: {raw[:200].decode(errors='replace')}",
            )
        try:
            parsed = response_model.model_validate_json(raw)
        except ValidationError:
            return QueryResult(
                neuron.uid, neuron.hotkey, None, latency, status, error="BadResponse"
            )
        return QueryResult(neuron.uid, neuron.hotkey, parsed, latency, status)

    async def query_many(
        self,
        neurons: Sequence[NeuronInfo],
        route: str,
        request: BaseModel,
        response_model: type[R],
        timeout_s: float,
    ) -> list[QueryResult[R]]:
        """Query all ``neurons`` concurrently; results in the same order."""
        body = request.model_dump_json().encode()
        return list(
            await asyncio.gather(
                *(self.query(n, route, request, response_model, timeout_s, body) for n in neurons)
            )
        )
