"""``ChainAPI`` on the chain service, through the shared ``subnetes.chain.client``.

Transport failures and the service's own trouble (5xx, not ready) become ChainUnavailable, so
callers retry with backoff; rule violations (4xx with an error name) become ChainRejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import httpx
from bittensor_wallet import Keypair

from subnetes.chain.client import AsyncChainClient
from subnetes.wire.errors import UNAVAILABLE as _UNAVAILABLE
from subnetes.wire.errors import ChainError as ServiceError
from subnetes.wire.rows import NeuronRow

from .chain import (
    AxonInfo,
    ChainRejected,
    ChainUnavailable,
    Metagraph,
    NeuronInfo,
    WeightsPolicy,
)


def neuron_from_row(row: NeuronRow) -> NeuronInfo:
    """A metagraph row of the HTTP API (``subnetes.wire.rows.NeuronRow``) as a NeuronInfo."""
    ax = row.get("axon")
    axon = AxonInfo(str(ax["ip"]), int(ax["port"])) if ax and int(ax.get("port", 0)) > 0 else None
    # The chain keeps the block of the last set_weights (or commit) itself, the block its rate
    # limit counts from; last_update is also set at registration, so it cannot tell.
    weights_block = int(row.get("weights_block", -1))
    return NeuronInfo(
        uid=int(row["uid"]),
        hotkey=str(row["hotkey"]),
        stake=int(row.get("stake", 0)),
        validator_permit=bool(row.get("validator_permit", False)),
        axon=axon,
        last_update=int(row.get("last_update", 0)),
        weights_block=weights_block,
        incentive=int(row.get("incentive", 0)),
        dividends=int(row.get("dividends", 0)),
        emission=int(row.get("emission", 0)),
    )


def policy_from_hyperparameters(hp: dict[str, Any]) -> WeightsPolicy:
    """The weights-related subset of a subnet's hyperparameters."""
    d = WeightsPolicy()
    return WeightsPolicy(
        **{f.name: int(hp.get(f.name, getattr(d, f.name))) for f in fields(WeightsPolicy)}
    )


def _translate(e: Exception) -> Exception:
    if isinstance(e, ServiceError):
        if e.name in _UNAVAILABLE:
            return ChainUnavailable(f"{e.name}: {e.message}")
        return ChainRejected(e.name, e.message)
    return ChainUnavailable(f"{type(e).__name__}: {e}")


class ServiceChain:
    """The chain service at ``endpoint``, signing as ``keypair`` (the workload's hotkey)."""

    def __init__(self, endpoint: str, keypair: Keypair, timeout_s: float = 30.0) -> None:
        self.keypair = keypair
        self.client = AsyncChainClient(endpoint, timeout=timeout_s)

    async def metagraph(self, netuid: int) -> Metagraph:
        try:
            mg = await self.client.metagraph(netuid)
            hp = await self.client.hyperparameters(netuid)
        except (ServiceError, httpx.HTTPError, ValueError) as e:
            raise _translate(e) from e
        neurons = tuple(neuron_from_row(r) for r in mg["neurons"])
        return Metagraph(
            int(mg["netuid"]), int(mg["block"]), neurons, policy_from_hyperparameters(hp)
        )

    async def set_weights(
        self, netuid: int, uids: Sequence[int], values: Sequence[int], version_key: int
    ) -> int:
        try:
            res = await self.client.set_weights(
                self.keypair, netuid, list(uids), list(values), version_key=version_key
            )
        except (ServiceError, httpx.HTTPError, ValueError) as e:
            raise _translate(e) from e
        return int(res["block"])

    async def close(self) -> None:
        await self.client.aclose()
