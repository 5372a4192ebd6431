"""The benchmark's own arithmetic (the benchmark itself is run by hand, not timed in CI)."""

from __future__ import annotations

import asyncio

from subnetes.gateway.bench import load, summarize


async def test_load_runs_every_request_at_the_given_concurrency() -> None:
    running, peak = 0, 0

    async def fn(i: int) -> bool:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return i % 10 != 0

    seconds, errors, lat = await load(fn, 50, 4)
    assert len(lat) == 50 and errors == 5 and peak == 4 and seconds > 0


def test_summary_percentiles_and_rate() -> None:
    r = summarize(4, "gateway", 8, 2.0, 1, [i / 1000 for i in range(1, 101)])
    assert (r.requests, r.rps, r.errors) == (100, 50.0, 1)
    assert r.p50_ms == 50.5 and 99.0 <= r.p99_ms <= 100.0
