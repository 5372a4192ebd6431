"""The router with subnets serving different capabilities (pure table): ``quality`` compares
subnets on the latency of the capability asked for, not on a subnet's mix of tasks."""

from __future__ import annotations

import random
from collections import Counter

from subnetes.gateway.router import Route, SubnetTable


def split(t: SubnetTable, capability: str, n: int = 3000) -> Counter[int]:
    rng = random.Random(5)
    out: Counter[int] = Counter()
    for _ in range(n):
        r = t.choose(capability, rng)
        assert r is not None
        out[r.netuid] += 1
    return out


def test_quality_compares_subnets_on_the_capability_asked_for() -> None:
    t = SubnetTable(
        [Route(1, "http://both", ("matmul", "linsolve")), Route(2, "http://ls", ("linsolve",))],
        policy="quality",
    )
    for _ in range(10):
        t.record(1, True, 0.5, "linsolve")  # subnet 1 solves slowly...
        t.record(2, True, 0.1, "linsolve")
    for _ in range(30):
        t.record(1, True, 0.01, "matmul")  # ...and multiplies fast (its latest answers)
    c = split(t, "linsolve")
    assert 3.5 < c[2] / c[1] < 7, c  # five times as fast at linsolve: five times the traffic
    assert split(t, "matmul") == {1: 3000}  # only subnet 1 serves matmul
    assert t.latency(1, "linsolve") == 0.5 and t.latency(2, "matmul") is None


def test_a_failing_gateway_loses_its_share_for_every_capability() -> None:
    t = SubnetTable(
        [Route(1, "http://a", ("matmul", "linsolve")), Route(2, "http://b", ("matmul", "linsolve"))]
    )
    for _ in range(10):
        t.record(1, False, None, "matmul")  # the gateway itself fails (5xx, unreachable)
    assert split(t, "linsolve")[1] < 60
