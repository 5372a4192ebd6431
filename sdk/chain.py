"""What workloads need from the chain, behind a small interface.

The validator and the axon use only ``ChainAPI``: read a subnet's metagraph and set weights.
``subnetes.sdk.memchain.MemoryChain`` implements it in memory (for unit tests and subnet teams'
own tests); ``subnetes.sdk.chain_client.ServiceChain`` implements it on the chain service through
``subnetes.chain.client``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from subnetes.wire.errors import ChainError, ChainRejected, ChainUnavailable
from subnetes.wire.hyperparams import Hyperparams

__all__ = [
    "AxonInfo",
    "ChainAPI",
    "ChainError",
    "ChainRejected",
    "ChainUnavailable",
    "Metagraph",
    "NeuronInfo",
    "WeightsPolicy",
]


@dataclass(frozen=True)
class AxonInfo:
    """Where a neuron serves, as recorded on the chain by serve_axon."""

    ip: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class NeuronInfo:
    """One UID of a subnet (fractions as the chain's u16 integers, amounts in rao)."""

    uid: int
    hotkey: str
    stake: int = 0
    validator_permit: bool = False
    axon: AxonInfo | None = None
    last_update: int = 0
    weights_block: int = -1  # block of this neuron's last set_weights; -1 = never
    incentive: int = 0
    dividends: int = 0
    emission: int = 0


_HP = Hyperparams()  # a new subnet's hyperparameters (subnetes.wire.hyperparams)


@dataclass(frozen=True)
class WeightsPolicy:
    """The subnet hyperparameters that govern set_weights (chain names, the table's defaults)."""

    weights_rate_limit: int = _HP.weights_rate_limit
    weights_version_key: int = _HP.weights_version_key
    tempo: int = _HP.tempo
    min_allowed_weights: int = _HP.min_allowed_weights
    max_allowed_uids: int = _HP.max_allowed_uids


@dataclass(frozen=True)
class Metagraph:
    """A subnet's neurons as of ``block``."""

    netuid: int
    block: int
    neurons: tuple[NeuronInfo, ...] = ()
    policy: WeightsPolicy = field(default_factory=WeightsPolicy)

    def by_hotkey(self, hotkey: str) -> NeuronInfo | None:
        """The neuron registered with ``hotkey``, if any."""
        return next((n for n in self.neurons if n.hotkey == hotkey), None)

    def serving(self, exclude_hotkey: str | None = None) -> list[NeuronInfo]:
        """Neurons with an axon on the chain (the ones a validator can query), by UID."""
        return sorted(
            (
                n
                for n in self.neurons
                if n.axon is not None and n.axon.port > 0 and n.hotkey != exclude_hotkey
            ),
            key=lambda n: n.uid,
        )


@runtime_checkable
class ChainAPI(Protocol):
    """The chain as workloads see it. Signing uses the hotkey the implementation was built with.

    Transport failures raise ChainUnavailable; refusals raise ChainRejected.
    """

    async def metagraph(self, netuid: int) -> Metagraph:
        """The subnet's current metagraph and weights policy."""
        ...

    async def set_weights(
        self, netuid: int, uids: Sequence[int], values: Sequence[int], version_key: int
    ) -> int:
        """Set this hotkey's weights (u16 values); returns the block that included them."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
