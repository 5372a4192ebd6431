"""The routing pool (pure): membership from metagraph rows, weighted choice, circuit breakers."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subnetes.gateway.pool import Breaker, Outcome, Pool, RoutingPolicy


def row(
    uid: int, incentive: int = 1000, hotkey: str | None = None, port: int = 9000
) -> dict[str, Any]:
    return {
        "uid": uid,
        "hotkey": hotkey or f"hk{uid}",
        "incentive": incentive,
        "trust": 7,
        "last_update": 3,
        "axon": {"ip": "127.0.0.1", "port": port + uid} if port else None,
    }


def picks(pool: Pool, n: int, now: float = 0.0, seed: int = 1) -> Counter[int]:
    rng = random.Random(seed)
    out: Counter[int] = Counter()
    for _ in range(n):
        m = pool.choose(now, rng)
        assert m is not None
        out[m.uid] += 1
    return out


def test_membership_from_rows_keeps_health_and_drops_replaced_uids() -> None:
    pool = Pool(exclude_hotkey="gw")
    assert pool.update([row(0), row(1), row(2, hotkey="gw")], block=5) == set()
    assert sorted(pool.miners) == [0, 1]  # the gateway's own hotkey is never a target
    pool.record(0, "hk0", Outcome.OK, 0.05, now=0)
    pool.record(1, "hk1", Outcome.OK, 0.05, now=0)
    gone = pool.update([row(0, incentive=9), row(1, hotkey="new1")], block=6)
    assert gone == {1}
    assert pool.miners[0].latency_ewma == 0.05 and pool.miners[0].incentive == 9
    assert pool.miners[1].latency_ewma is None and pool.miners[1].hotkey == "new1"
    assert pool.update([row(0)], block=4) == set()  # an older metagraph is ignored
    assert sorted(pool.miners) == [0, 1]
    assert pool.miners[0].trust == 7 and pool.miners[0].neuron.last_update == 3


def test_remove_only_while_the_hotkey_still_owns_the_uid() -> None:
    pool = Pool()
    pool.update([row(0), row(1)], 1)
    assert not pool.remove(0, "someone-else")
    assert pool.remove(0, "hk0") and 0 not in pool.miners
    assert pool.remove(1) and not pool.miners


def test_choice_follows_incentive_and_zero_incentive_gets_nothing() -> None:
    pool = Pool()
    pool.update([row(0, 3000), row(1, 1000), row(2, 0)], 1)
    c = picks(pool, 4000)
    assert c[2] == 0
    assert 2.5 < c[0] / c[1] < 3.6, c


def test_zero_incentive_miners_serve_while_no_one_earns() -> None:
    pool = Pool()
    pool.update([row(0, 0), row(1, 0)], 1)
    c = picks(pool, 1000)
    assert c[0] > 300 and c[1] > 300
    # ... and lose their traffic as soon as a miner with incentive is available.
    pool.update([row(0, 0), row(1, 0), row(2, 5)], 2)
    assert set(picks(pool, 200)) == {2}


def test_health_mode_ignores_incentive() -> None:
    pool = Pool(RoutingPolicy(mode="health"))
    pool.update([row(0, 60000), row(1, 0)], 1)
    c = picks(pool, 2000)
    assert 800 < c[1] < 1200, c


def test_a_slow_miner_loses_traffic() -> None:
    pool = Pool()
    pool.update([row(0), row(1)], 1)
    for _ in range(5):
        pool.record(0, "hk0", Outcome.OK, 0.01, 0)
        pool.record(1, "hk1", Outcome.OK, 0.2, 0)
    c = picks(pool, 4000)
    assert c[1] < 40, c  # (0.01 / 0.2) ** 2 = 1/400 of the fast one's weight


def test_breaker_opens_after_failures_then_probes_then_closes() -> None:
    pool = Pool(RoutingPolicy(failure_threshold=3, open_s=5.0))
    pool.update([row(0), row(1)], 1)
    for t in range(3):
        pool.record(0, "hk0", Outcome.TIMEOUT, 1.0, now=t)
    m = pool.miners[0]
    assert m.breaker is Breaker.OPEN and m.open_until == 2 + 5.0
    assert set(picks(pool, 100, now=3.0)) == {1}
    # After the open period, one probe goes through (and only one until it answers).
    rng = random.Random(0)
    chosen = {pool.choose(8.0, rng, exclude=[1]).uid}  # type: ignore[union-attr]
    assert chosen == {0} and m.breaker is Breaker.HALF_OPEN
    assert pool.choose(8.0, rng, exclude=[1]) is None
    pool.record(0, "hk0", Outcome.ERROR, None, now=8.5)  # the probe failed: open, longer
    assert m.breaker is Breaker.OPEN and m.open_until == 8.5 + 10.0
    pool.choose(19.0, rng, exclude=[1])
    pool.record(0, "hk0", Outcome.OK, 0.01, now=19.1)
    assert m.breaker is Breaker.CLOSED and m.opened == 0


def test_a_wrong_answer_opens_the_breaker_at_once_and_longer_each_time() -> None:
    pool = Pool(RoutingPolicy(wrong_open_s=60.0))
    pool.update([row(0), row(1)], 1)
    pool.record(0, "hk0", Outcome.WRONG, 0.01, now=0)
    m = pool.miners[0]
    assert m.breaker is Breaker.OPEN and m.open_until == 60.0
    assert set(picks(pool, 200, now=1.0)) == {1}
    pool.choose(61.0, random.Random(0), exclude=[1])
    pool.record(0, "hk0", Outcome.WRONG, 0.01, now=61)
    assert m.open_until == 61 + 120.0
    assert m.quality is not None and m.quality == 0.0


def test_cancelled_hedge_raises_the_latency_estimate_without_a_verdict() -> None:
    pool = Pool()
    pool.update([row(0)], 1)
    pool.record(0, "hk0", Outcome.OK, 0.01, 0)
    pool.record(0, "hk0", Outcome.CANCELLED, 0.5, 0)
    m = pool.miners[0]
    assert m.latency_ewma is not None and m.latency_ewma > 0.1
    assert m.quality == 1.0 and m.breaker is Breaker.CLOSED and m.success_ewma == 1.0


def test_outcomes_of_a_replaced_hotkey_are_ignored() -> None:
    pool = Pool()
    pool.update([row(0)], 1)
    pool.record(0, "old-owner", Outcome.WRONG, 0.01, 0)
    assert pool.miners[0].breaker is Breaker.CLOSED


def test_epoch_scores_update_incentive_and_ignore_replays() -> None:
    pool = Pool()
    pool.update([row(0, 10), row(1, 10)], block=10)
    pool.apply_scores([{"uid": 0, "hotkey": "hk0", "incentive": 0, "trust": 1}], block=11)
    assert pool.miners[0].incentive == 0 and pool.miners[0].trust == 1
    pool.apply_scores([{"uid": 0, "hotkey": "hk0", "incentive": 99}], block=5)  # replayed
    assert pool.miners[0].incentive == 0
    pool.apply_scores([{"uid": 1, "hotkey": "other", "incentive": 0}], block=12)
    assert pool.miners[1].incentive == 10


def test_miners_without_axon_are_never_chosen() -> None:
    pool = Pool()
    pool.update([row(0, port=0)], 1)
    assert pool.choose(0, random.Random(0)) is None
    assert pool.snapshot(0)[0]["axon"] is None


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ValueError):
        RoutingPolicy(mode="fastest")
    with pytest.raises(ValueError):
        RoutingPolicy(latency_alpha=0)
    with pytest.raises(ValueError):
        RoutingPolicy(failure_threshold=0)


_events = st.lists(
    st.tuples(
        st.integers(0, 4),
        st.sampled_from(list(Outcome)),
        st.none() | st.floats(0.0, 5.0),
        st.floats(0.0, 0.5),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(
    incentives=st.lists(st.integers(0, 65535), min_size=1, max_size=5),
    events=_events,
    seed=st.integers(0, 2**32),
)
def test_any_history_keeps_the_pool_consistent(
    incentives: list[int], events: list[tuple[int, Outcome, float | None, float]], seed: int
) -> None:
    pool = Pool()
    pool.update([row(u, inc) for u, inc in enumerate(incentives)], 1)
    rng = random.Random(seed)
    now = 0.0
    for uid, outcome, latency, dt in events:
        now += dt
        pool.record(uid, f"hk{uid}", outcome, latency, now)
        shares = pool.shares(now)
        if shares:
            assert abs(sum(shares.values()) - 1.0) < 1e-9
            assert all(s >= 0 for s in shares.values())
        earning = [u for u in shares if pool.miners[u].incentive > 0]
        if earning:  # no zero-incentive miner shares traffic with an earning one
            assert all(pool.miners[u].incentive > 0 for u in shares)
        m = pool.choose(now, rng)
        assert m is None or m.available(now) or m.probing
        if m is not None and m.breaker is not Breaker.CLOSED:
            pool.record(m.uid, m.hotkey, Outcome.CANCELLED, None, now)
        for q in pool.organic_quality().values():
            assert 0.0 <= q <= 1.0
