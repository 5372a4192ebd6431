"""Fixtures for SDK tests: keys and an in-memory subnet with a validator and miners."""

from __future__ import annotations

import pytest
from bittensor_wallet import Keypair
from sdk_testkit import NETUID, kp

from subnetes.sdk.chain import AxonInfo, NeuronInfo, WeightsPolicy
from subnetes.sdk.memchain import MemoryNetwork


@pytest.fixture
def keys() -> dict[str, Keypair]:
    return {n: kp(n) for n in ("owner", "validator", "miner", "outsider", "nopermit")}


@pytest.fixture
def net(keys: dict[str, Keypair]) -> MemoryNetwork:
    """Subnet NETUID: uid 0 owner, 1 validator (permit), 2 miner, 3 registered without permit."""
    n = MemoryNetwork(block=100)
    n.add_subnet(
        NETUID,
        [
            NeuronInfo(0, keys["owner"].ss58_address),
            NeuronInfo(1, keys["validator"].ss58_address, stake=10**12, validator_permit=True),
            NeuronInfo(2, keys["miner"].ss58_address, axon=AxonInfo("127.0.0.1", 1)),
            NeuronInfo(3, keys["nopermit"].ss58_address),
        ],
        WeightsPolicy(weights_rate_limit=5, weights_version_key=0, tempo=10),
    )
    return n
