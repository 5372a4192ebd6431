"""The operator's view of the chain: a typed facade over the shared async client, with metrics
and spans.

Each chain read or extrinsic the operator makes is a method here with typed arguments (a typo is
an attribute error, not a runtime string mismatch); every one goes through
:meth:`Chain._instrumented`, which counts it, times it and wraps it in an OpenTelemetry span.
Keypairs pass straight through to the client; nothing here logs arguments.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from bittensor_wallet import Keypair

from subnetes.chain.client import AsyncChainClient
from subnetes.wire.blocks import SubmitResult
from subnetes.wire.errors import ChainError, ErrorName
from subnetes.wire.rows import MetagraphRow, NeuronRow

from . import faults, metrics
from .leader import fence
from .tracing import tracer

__all__ = ["Chain", "ChainError"]

T = TypeVar("T")

# The chain's answer when the thing asked for is not there (a subnet, a hotkey, a UID).
_ABSENT = (ErrorName.NOT_FOUND, ErrorName.SUB_NETWORK_DOES_NOT_EXIST)


class Chain:
    """Instrumented, typed facade over :class:`AsyncChainClient` (one per operator process)."""

    def __init__(self, endpoint: str, client: AsyncChainClient | None = None) -> None:
        self.endpoint = endpoint
        self.client = client or AsyncChainClient(endpoint, timeout=60.0)

    async def close(self) -> None:
        await self.client.aclose()

    async def _instrumented(self, name: str, call: Awaitable[T]) -> T:
        """Await ``call`` (the client's method ``name``, already called) with a span and metrics."""
        start = time.perf_counter()
        with tracer.start_as_current_span(f"chain.{name}") as span:
            try:
                out = await call
            except ChainError as e:
                metrics.CHAIN_CALLS.labels(name, e.name).inc()
                span.set_attribute("chain.error", e.name)
                raise
            except Exception:
                metrics.CHAIN_CALLS.labels(name, "transport").inc()
                raise
            finally:
                metrics.CHAIN_SECONDS.labels(name).observe(time.perf_counter() - start)
        metrics.CHAIN_CALLS.labels(name, "ok").inc()
        return out

    async def _extrinsic(self, name: str, call: Awaitable[T]) -> T:
        """An extrinsic: fenced (a replica that lost its Lease submits nothing), then a
        fault-injection point once the chain has included it (test-only, :mod:`.faults`)."""
        try:
            fence(f"submit {name}")
        except BaseException:
            if isinstance(call, Coroutine):
                call.close()  # never sent: no "coroutine was never awaited" warning
            raise
        out = await self._instrumented(name, call)
        faults.reached(name)
        return out

    # Reads -------------------------------------------------------------------------------------

    async def head(self) -> int:
        """The chain's head block number."""
        return int((await self._instrumented("network", self.client.network()))["block"])

    async def subnet(self, netuid: int) -> dict[str, Any] | None:
        """The subnet's summary (hyperparameters included), or None when it does not exist."""
        try:
            return await self._instrumented("subnet", self.client.subnet(netuid))
        except ChainError as e:
            if e.name in _ABSENT:
                return None
            raise

    async def hyperparameters(self, netuid: int) -> dict[str, Any]:
        """The subnet's hyperparameters by chain name."""
        return await self._instrumented("hyperparameters", self.client.hyperparameters(netuid))

    async def metagraph(self, netuid: int) -> MetagraphRow:
        """The whole metagraph of ``netuid`` (every UID's row), without weights: the operator
        reads scores, stake and registrations (half the bytes with many validators)."""
        return await self._instrumented("metagraph", self.client.metagraph(netuid, lite=True))

    async def hotkey(self, ss58: str) -> dict[str, Any] | None:
        """Owner, take, stakes and registrations of a hotkey; None when the chain has none."""
        return await self._instrumented("hotkey", self.client.hotkey(ss58))

    async def registrations(self, hotkey: str) -> dict[int, int]:
        """netuid -> uid for every subnet the hotkey is registered on."""
        hk = await self.hotkey(hotkey)
        return {int(r["netuid"]): int(r["uid"]) for r in (hk or {}).get("registrations", [])}

    async def neuron(self, netuid: int, uid: int) -> NeuronRow | None:
        """One metagraph row (u16 fractions, rao), or None when the UID or subnet is not there.

        Reads that row alone (``GET /v1/subnets/{netuid}/neurons/{uid}``), not the metagraph.
        """
        path = f"/v1/subnets/{int(netuid)}/neurons/{int(uid)}"
        try:
            return await self._instrumented("neuron", self.client.get(path))
        except ChainError as e:
            if e.name in _ABSENT:
                return None
            raise

    async def burn(self, netuid: int) -> int:
        """The burn (rao) a registration on ``netuid`` pays now."""
        return int(await self._instrumented("burn", self.client.burn(netuid)))

    async def lock_cost(self) -> int:
        """The lock cost (rao) a subnet registration pays now."""
        return int(await self._instrumented("lock_cost", self.client.lock_cost()))

    # Extrinsics (each waits for inclusion; the result carries the block's events) --------------

    async def register_network(
        self, coldkey: Keypair, hotkey: str, max_lock_cost: int | None
    ) -> SubmitResult:
        """Register a subnet owned by ``coldkey`` with ``hotkey`` as UID 0."""
        return await self._extrinsic(
            "register_network",
            self.client.register_network(coldkey, hotkey, max_lock_cost=max_lock_cost),
        )

    async def dissolve_network(self, coldkey: Keypair, netuid: int) -> SubmitResult:
        """Dissolve ``netuid`` (its owner's coldkey signs)."""
        return await self._extrinsic(
            "dissolve_network", self.client.dissolve_network(coldkey, netuid)
        )

    async def set_hyperparameter(
        self, coldkey: Keypair, netuid: int, name: str, value: int | bool
    ) -> SubmitResult:
        """Set one hyperparameter (chain name) of ``netuid`` with the owner's coldkey."""
        return await self._extrinsic(
            "set_hyperparameter", self.client.set_hyperparameter(coldkey, netuid, name, value)
        )

    async def burned_register(
        self, coldkey: Keypair, netuid: int, hotkey: str, max_burn: int | None
    ) -> SubmitResult:
        """Register ``hotkey`` on ``netuid``, ``coldkey`` paying at most ``max_burn`` rao."""
        return await self._extrinsic(
            "burned_register",
            self.client.burned_register(coldkey, netuid, hotkey, max_burn=max_burn),
        )

    async def add_stake(self, coldkey: Keypair, hotkey: str, amount: int) -> SubmitResult:
        """Move ``amount`` rao of the coldkey's balance to stake on ``hotkey``."""
        return await self._extrinsic("add_stake", self.client.add_stake(coldkey, hotkey, amount))

    async def remove_stake(self, coldkey: Keypair, hotkey: str, amount: int) -> SubmitResult:
        """Return ``amount`` rao of the coldkey's stake on ``hotkey`` to its balance."""
        return await self._extrinsic(
            "remove_stake", self.client.remove_stake(coldkey, hotkey, amount)
        )

    async def set_take(self, coldkey: Keypair, hotkey: str, take: int) -> SubmitResult:
        """Set the delegate take (u16) of ``hotkey``."""
        return await self._extrinsic("set_take", self.client.set_take(coldkey, hotkey, take))

    async def serve_axon(self, hotkey: Keypair, netuid: int, ip: str, port: int) -> SubmitResult:
        """Announce the axon of ``hotkey`` on ``netuid`` (the hotkey signs)."""
        return await self._extrinsic("serve_axon", self.client.serve_axon(hotkey, netuid, ip, port))
