"""An in-memory chain for tests: real metagraph data and the set_weights rules that matter.

It enforces what a validator must respect (registered hotkey, validator permit, version key,
weights rate limit, known UIDs) with the chain's error names, and can be told to be unreachable
for a number of calls to exercise retries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from .chain import ChainRejected, ChainUnavailable, Metagraph, NeuronInfo, WeightsPolicy


@dataclass
class WeightsCall:
    """A set_weights that the memory chain accepted."""

    hotkey: str
    netuid: int
    block: int
    uids: list[int]
    values: list[int]
    version_key: int


@dataclass
class MemoryNetwork:
    """Shared state: subnets' neurons and policies, the block height, accepted weights."""

    block: int = 1
    subnets: dict[int, list[NeuronInfo]] = field(default_factory=dict)
    policies: dict[int, WeightsPolicy] = field(default_factory=dict)
    weights: list[WeightsCall] = field(default_factory=list)
    outage_calls: int = 0  # the next N calls raise ChainUnavailable
    # Only this hotkey's calls count towards (and fail in) the outage; None: every client's.
    outage_hotkey: str | None = None
    calls: int = 0

    def add_subnet(self, netuid: int, neurons: Sequence[NeuronInfo], policy: WeightsPolicy) -> None:
        self.subnets[netuid] = list(neurons)
        self.policies[netuid] = policy

    def client(self, hotkey: str) -> MemoryChain:
        """A ChainAPI that signs as ``hotkey``."""
        return MemoryChain(self, hotkey)


class MemoryChain:
    """ChainAPI on a MemoryNetwork, acting as one hotkey."""

    def __init__(self, net: MemoryNetwork, hotkey: str) -> None:
        self.net = net
        self.hotkey = hotkey
        self.closed = False

    def _tick(self) -> None:
        self.net.calls += 1
        targeted = self.net.outage_hotkey in (None, self.hotkey)
        if targeted and self.net.outage_calls > 0:
            self.net.outage_calls -= 1
            raise ChainUnavailable("memory chain: simulated outage")

    async def metagraph(self, netuid: int) -> Metagraph:
        self._tick()
        if netuid not in self.net.subnets:
            raise ChainRejected("SubNetworkDoesNotExist", f"no subnet {netuid}")
        return Metagraph(
            netuid, self.net.block, tuple(self.net.subnets[netuid]), self.net.policies[netuid]
        )

    async def set_weights(
        self, netuid: int, uids: Sequence[int], values: Sequence[int], version_key: int
    ) -> int:
        self._tick()
        if netuid not in self.net.subnets:
            raise ChainRejected("SubNetworkDoesNotExist", f"no subnet {netuid}")
        neurons = self.net.subnets[netuid]
        pol = self.net.policies[netuid]
        me = next((n for n in neurons if n.hotkey == self.hotkey), None)
        if me is None:
            raise ChainRejected("HotKeyNotRegisteredInSubNet", "hotkey not registered")
        if not me.validator_permit and list(uids) != [me.uid]:
            raise ChainRejected("NeuronNoValidatorPermit", "no validator permit")
        if pol.weights_version_key and version_key < pol.weights_version_key:
            raise ChainRejected("IncorrectWeightVersionKey", "version key too low")
        if me.weights_block >= 0 and self.net.block - me.weights_block < pol.weights_rate_limit:
            raise ChainRejected("SettingWeightsTooFast", "rate limited")
        known = {n.uid for n in neurons}
        if len(set(uids)) != len(uids) or not set(uids) <= known or len(uids) != len(values):
            raise ChainRejected("InvalidUid", "duplicate, unknown or mismatched uids")
        if len(uids) < min(pol.min_allowed_weights, len(neurons)):
            raise ChainRejected("WeightVecLengthIsLow", "too few weights")
        i = neurons.index(me)
        neurons[i] = dataclasses.replace(
            me, weights_block=self.net.block, last_update=self.net.block
        )
        self.net.weights.append(
            WeightsCall(self.hotkey, netuid, self.net.block, list(uids), list(values), version_key)
        )
        return self.net.block

    async def close(self) -> None:
        self.closed = True
