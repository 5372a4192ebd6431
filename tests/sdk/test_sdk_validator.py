"""The validator loop on an in-memory chain with real axons on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel
from sdk_testkit import NETUID, kp

from subnetes.sdk.axon import Axon, Caller
from subnetes.sdk.backoff import Backoff
from subnetes.sdk.chain import AxonInfo, NeuronInfo, WeightsPolicy
from subnetes.sdk.memchain import MemoryNetwork
from subnetes.sdk.validator import Validator, ValidatorSettings

pytestmark = pytest.mark.asyncio(loop_scope="session")

FAST = Backoff(base_s=0.01, cap_s=0.05)


class Ping(BaseModel):
    n: int


class Pong(BaseModel):
    n: int


class PingLogic:
    """Score 1 for the right answer, 0 otherwise."""

    route = "ping"
    response_model = Pong
    timeout_s = 2.0

    def __init__(self) -> None:
        self.i = 0

    def make_task(self) -> tuple[Ping, int]:
        self.i += 1
        return Ping(n=self.i), self.i

    def score(self, ctx: int, results: Any) -> dict[int, float]:
        return {r.uid: float(r.ok and r.response.n == ctx + 1) for r in results}


def _handler(delta: int):
    async def h(req: Ping, _caller: Caller) -> Pong:
        return Pong(n=req.n + delta)

    return h


@pytest.fixture
async def subnet():
    """uid 0 validator (permit); 1, 2 honest miners; 3 a wrong one; 4 registered, no axon."""
    v = kp("val")
    miners = [kp(f"m{i}") for i in range(3)]
    net = MemoryNetwork(block=50)
    axons = []
    for m, delta in zip(miners, (1, 1, 7), strict=True):
        ax = Axon(m, NETUID, net.client(m.ss58_address), refresh_s=0.05)
        ax.route("ping", Ping, _handler(delta))
        axons.append(ax)
    net.add_subnet(
        NETUID,
        [NeuronInfo(0, v.ss58_address, validator_permit=True, stake=1)],
        WeightsPolicy(weights_rate_limit=3, weights_version_key=0, tempo=10),
    )
    for ax in axons:
        await ax.start()
    net.subnets[NETUID] += [
        NeuronInfo(i + 1, m.ss58_address, axon=AxonInfo("127.0.0.1", ax.port))
        for i, (m, ax) in enumerate(zip(miners, axons, strict=True))
    ] + [NeuronInfo(4, kp("idle").ss58_address)]
    for ax in axons:
        await ax.refresh()
    yield net, v
    for val in _made:
        await val.dendrite.close()
    _made.clear()
    for ax in axons:
        await ax.stop()


_made: list[Validator] = []


def _validator(net: MemoryNetwork, v, **settings: Any) -> Validator:
    s = ValidatorSettings(
        step_interval_s=0.05, ema_alpha=0.5, version_key=2, backoff=FAST, **settings
    )
    val = Validator(v, NETUID, net.client(v.ss58_address), PingLogic(), settings=s)
    _made.append(val)
    return val


async def test_step_scores_and_sets_weights_with_rate_limit(subnet) -> None:
    net, v = subnet
    val = _validator(net, v)
    r = await val.step()
    assert r.registered and r.queried == 3 and r.answered == 3
    assert r.round_scores == {1: 1.0, 2: 1.0, 3: 0.0}
    assert r.weights_result == "ok"
    call = net.weights[-1]
    assert (call.uids, call.values, call.version_key, call.block) == ([1, 2], [65535, 65535], 2, 50)
    assert (await val.step()).weights_result == "not_due"  # same block: rate limit 3
    net.block += 3
    assert (await val.step()).weights_result == "ok" and len(net.weights) == 2
    assert val.metrics.weights_set.labels("ok")._value.get() == 2


async def test_interval_setting_is_at_least_the_rate_limit(subnet) -> None:
    net, v = subnet
    val = _validator(net, v, weights_interval_blocks=10)
    assert (await val.step()).weights_result == "ok"
    net.block += 5
    assert (await val.step()).weights_result == "not_due"
    net.block += 5
    assert (await val.step()).weights_result == "ok"


async def test_outdated_version_key_sets_nothing(subnet) -> None:
    net, v = subnet
    net.policies[NETUID] = dataclasses.replace(net.policies[NETUID], weights_version_key=3)
    assert (await _validator(net, v).step()).weights_result == "outdated"
    assert net.weights == []


async def test_no_permit_sets_nothing(subnet) -> None:
    net, v = subnet
    net.subnets[NETUID][0] = dataclasses.replace(net.subnets[NETUID][0], validator_permit=False)
    await asyncio.sleep(0.2)  # the miners' axons refresh their metagraph
    r = await _validator(net, v).step()
    assert r.answered == 0  # miners refuse a validator without a permit
    assert r.weights_result == "no_permit" and net.weights == []


async def test_unregistered_validator_waits(subnet) -> None:
    net, _ = subnet
    r = await _validator(net, kp("stranger")).step()
    assert not r.registered and r.queried == 0


async def test_chain_outage_is_retried_with_backoff(subnet) -> None:
    net, v = subnet
    val = _validator(net, v)
    # The miners' axons refresh their metagraph from the same network every 0.05 s: without
    # aiming the outage at the validator they could take some of its three failures.
    net.outage_hotkey = v.ss58_address
    net.outage_calls = 3
    r = await val.step()
    assert r.weights_result == "ok"
    assert val.metrics.chain_errors.labels("unavailable")._value.get() == 3


async def test_set_weights_gives_up_after_attempts(subnet) -> None:
    net, v = subnet
    val = _validator(net, v, set_weights_attempts=2)
    await val.step()  # scores exist; weights set
    net.block += 3
    calls = net.calls
    orig = net.client(v.ss58_address).set_weights

    async def failing(*a: Any, **k: Any) -> int:
        from subnetes.sdk.chain import ChainUnavailable

        raise ChainUnavailable("down")

    val.chain.set_weights = failing  # type: ignore[method-assign]
    assert (await val.step()).weights_result == "unavailable"
    assert net.calls > calls and orig is not None


async def test_reregistered_uid_starts_fresh(subnet) -> None:
    net, v = subnet
    val = _validator(net, v)
    await val.step()
    assert val.scores[3] == 0.0 and val.scores[1] == 1.0
    # uid 1 is replaced by a new hotkey without an axon: its old score must not carry over
    net.subnets[NETUID][1] = NeuronInfo(1, kp("newcomer").ss58_address)
    await val.step()
    assert 1 not in val.scores


async def test_run_stops_gracefully(subnet) -> None:
    net, v = subnet
    val = _validator(net, v)
    stop = asyncio.Event()
    task = asyncio.create_task(val.run(stop))
    for _ in range(200):
        if net.weights:
            break
        await asyncio.sleep(0.02)
    assert net.weights
    stop.set()
    await asyncio.wait_for(task, 5)
    assert val.chain.closed  # type: ignore[attr-defined]
