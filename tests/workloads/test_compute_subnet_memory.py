"""The compute subnet end to end on an in-memory chain: real axons, real JAX, real checks.

Honest-fast, slow and wrong miners answer a validator; the weights it sets rank them.
"""

from __future__ import annotations

import numpy as np
import pytest
from bittensor_wallet import Keypair

from subnetes.sdk.axon import Axon
from subnetes.sdk.chain import AxonInfo, NeuronInfo, WeightsPolicy
from subnetes.sdk.memchain import MemoryNetwork
from subnetes.sdk.validator import Validator, ValidatorSettings
from subnetes.workloads.compute.miner import ComputeMiner, Fault
from subnetes.workloads.compute.protocol import ROUTE, VERSION_KEY, MatmulRequest
from subnetes.workloads.compute.validator import ComputeLogic

pytestmark = pytest.mark.asyncio(loop_scope="session")
NETUID = 1


async def test_weights_rank_fast_over_slow_and_wrong() -> None:
    v = Keypair.create_from_uri("//compute-val")
    faults = {1: Fault(), 2: Fault(), 3: Fault(delay_s=0.15), 4: Fault(wrong=True)}
    keys = {uid: Keypair.create_from_uri(f"//compute-m{uid}") for uid in faults}
    net = MemoryNetwork(block=10)
    net.add_subnet(
        NETUID,
        [NeuronInfo(0, v.ss58_address, validator_permit=True, stake=1)],
        WeightsPolicy(weights_rate_limit=1, weights_version_key=VERSION_KEY),
    )
    axons = {}
    for uid, fault in faults.items():
        ax = Axon(keys[uid], NETUID, net.client(keys[uid].ss58_address))
        ax.route(ROUTE, MatmulRequest, ComputeMiner(fault=fault).handle)
        await ax.start()
        axons[uid] = ax
        net.subnets[NETUID].append(
            NeuronInfo(uid, keys[uid].ss58_address, axon=AxonInfo("127.0.0.1", ax.port))
        )
    logic = ComputeLogic(shape=(64, 64, 64), rounds=16, timeout_s=5.0, rng=np.random.default_rng(1))
    val = Validator(
        v,
        NETUID,
        net.client(v.ss58_address),
        logic,
        settings=ValidatorSettings(version_key=VERSION_KEY, ema_alpha=0.5),
    )
    try:
        for ax in axons.values():
            await ax.refresh()
        for _ in range(4):
            report = await val.step()
            net.block += 1
        assert report.answered == 4
        assert report.round_scores[4] == 0.0
    finally:
        await val.dendrite.close()
        for ax in axons.values():
            await ax.stop()
    w = dict(zip(net.weights[-1].uids, net.weights[-1].values, strict=True))
    assert 4 not in w  # wrong: zero weight, not sent
    assert w[1] > w[3] and w[2] > w[3]  # slow earns less
    assert net.weights[-1].version_key == VERSION_KEY
