"""One request over the pool with fake miners: verification, retries, hedging, the deadline."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest
from pydantic import BaseModel

from subnetes.gateway.dispatch import DispatchPolicy, dispatch
from subnetes.gateway.pool import Breaker, Miner, Outcome, Pool
from subnetes.sdk.dendrite import QueryResult


class Answer(BaseModel):
    value: int


def make_pool(n: int, incentive: int = 1000) -> Pool:
    pool = Pool()
    rows = [
        {
            "uid": u,
            "hotkey": f"hk{u}",
            "incentive": incentive,
            "axon": {"ip": "127.0.0.1", "port": 1 + u},
        }
        for u in range(n)
    ]
    pool.update(rows, 1)
    return pool


class Miners:
    """Fake miners by UID: (delay seconds, answer value or None for an error)."""

    def __init__(self, behaviour: dict[int, tuple[float, int | None]]) -> None:
        self.behaviour = behaviour
        self.asked: list[int] = []

    async def send(self, m: Miner, timeout: float) -> QueryResult[Any]:
        self.asked.append(m.uid)
        delay, value = self.behaviour[m.uid]
        if delay > timeout:
            await asyncio.sleep(timeout)
            return QueryResult(m.uid, m.hotkey, None, None, error="Timeout")
        await asyncio.sleep(delay)
        if value is None:
            return QueryResult(m.uid, m.hotkey, None, delay, 500, error="HTTP 500")
        return QueryResult(m.uid, m.hotkey, Answer(value=value), delay, 200)


async def correct(resp: Answer) -> bool:
    return resp.value == 42


async def test_a_wrong_answer_is_never_returned_and_the_next_miner_answers() -> None:
    pool = make_pool(2)
    miners = Miners({0: (0.0, 41), 1: (0.0, 42)})
    for seed in range(10):
        res = await dispatch(
            pool, miners.send, correct, DispatchPolicy(5.0, 2, None), rng=random.Random(seed)
        )
        assert res.ok and res.answer.value == 42 and res.uid == 1
    assert pool.miners[0].breaker is Breaker.OPEN  # penalised at once
    assert miners.asked.count(0) == 1  # ... and never asked again


async def test_only_wrong_miners_means_no_answer() -> None:
    pool = make_pool(2)
    miners = Miners({0: (0.0, 1), 1: (0.0, 2)})
    res = await dispatch(
        pool, miners.send, correct, DispatchPolicy(5.0, 5, None), rng=random.Random(0)
    )
    assert res.error == "NoVerifiedAnswer" and res.answer is None
    assert sorted(a.uid for a in res.attempts) == [0, 1]
    assert all(a.outcome is Outcome.WRONG for a in res.attempts)
    res = await dispatch(
        pool, miners.send, correct, DispatchPolicy(5.0, 5, None), rng=random.Random(0)
    )
    assert res.error == "NoMiners"


async def test_errors_are_retried_up_to_the_budget() -> None:
    pool = make_pool(4)
    miners = Miners({0: (0, None), 1: (0, None), 2: (0, None), 3: (0, None)})
    res = await dispatch(
        pool, miners.send, correct, DispatchPolicy(5.0, 1, None), rng=random.Random(0)
    )
    assert len(res.attempts) == 2 and len(set(miners.asked)) == 2  # 1 + retries, all different
    assert res.error == "NoVerifiedAnswer"
    assert all(a.outcome is Outcome.ERROR for a in res.attempts)


async def test_a_slow_miner_is_hedged_and_the_fast_answer_wins() -> None:
    pool = make_pool(2)
    miners = Miners({0: (2.0, 42), 1: (0.01, 42)})
    for seed in range(6):
        t0 = time.monotonic()
        res = await dispatch(
            pool, miners.send, correct, DispatchPolicy(5.0, 1, 0.05), rng=random.Random(seed)
        )
        assert res.ok and res.uid == 1
        assert time.monotonic() - t0 < 1.5  # never waited for the slow one (2 s)
    slow = pool.miners[0]
    if slow.counts[Outcome.CANCELLED.value]:
        assert slow.latency_ewma is not None and slow.latency_ewma >= 0.05


async def test_nothing_runs_past_the_deadline() -> None:
    pool = make_pool(3)
    miners = Miners({0: (10.0, 42), 1: (10.0, 42), 2: (10.0, 42)})
    t0 = time.monotonic()
    res = await dispatch(
        pool, miners.send, correct, DispatchPolicy(0.3, 2, 0.1), rng=random.Random(0)
    )
    took = time.monotonic() - t0
    assert res.error == "DeadlineExceeded" and took < 2.0, took  # the miners take 10 s
    assert res.attempts and all(a.outcome is Outcome.TIMEOUT for a in res.attempts)


async def test_a_raising_send_fails_the_attempt_not_the_request() -> None:
    pool = make_pool(2)

    async def send(m: Miner, timeout: float) -> QueryResult[Any]:
        if m.uid == 0:
            raise RuntimeError("boom")
        return QueryResult(m.uid, m.hotkey, Answer(value=42), 0.001, 200)

    for seed in range(4):
        res = await dispatch(
            pool, send, correct, DispatchPolicy(5.0, 2, None), rng=random.Random(seed)
        )
        assert res.ok and res.uid == 1


def test_bad_dispatch_policy() -> None:
    with pytest.raises(ValueError):
        DispatchPolicy(deadline_s=0)
    with pytest.raises(ValueError):
        DispatchPolicy(retries=-1)
