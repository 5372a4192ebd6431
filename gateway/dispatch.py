"""One user request over the pool: pick a miner, hedge when it is slow, retry when it fails,
verify every answer, and stop at the deadline.

No I/O of its own: ``send`` (one signed query to one miner, e.g. the SDK's dendrite) and
``verify`` (the subnet's check of an answer) are passed in, so tests drive it with fakes and
the service with the real thing.

- The first miner gets the request; if it has not answered after ``hedge_after_s`` a second
  one gets it too (one hedge per request), and the first verified answer wins; the others are
  cancelled and their elapsed time is recorded as a lower bound on their latency.
- A failed or wrong answer starts the next miner at once while attempts remain
  (``1 + retries`` miners at most, hedges included); no miner is asked twice.
- At the deadline everything still running is cancelled and counted as a timeout.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from subnetes.sdk.dendrite import QueryResult

from .pool import Miner, Outcome, Pool

Send = Callable[[Miner, float], Awaitable[QueryResult[Any]]]
Verify = Callable[[Any], Awaitable[bool]]


@dataclass(frozen=True)
class Attempt:
    """One miner's part in a request."""

    uid: int
    hotkey: str
    outcome: Outcome
    latency_s: float | None
    detail: str = ""


@dataclass
class Dispatched:
    """A request's end: the verified answer and who gave it, or why there is none."""

    answer: Any = None
    uid: int | None = None
    hotkey: str | None = None
    error: str | None = None  # NoMiners | NoVerifiedAnswer | DeadlineExceeded
    hedged: bool = False
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class DispatchPolicy:
    """Retries, hedging and the deadline of one request."""

    deadline_s: float = 10.0
    retries: int = 2
    hedge_after_s: float | None = 0.5  # None: never hedge

    def __post_init__(self) -> None:
        if self.deadline_s <= 0 or self.retries < 0:
            raise ValueError("deadline_s must be > 0 and retries >= 0")


async def dispatch(
    pool: Pool,
    send: Send,
    verify: Verify,
    policy: DispatchPolicy,
    *,
    rng: random.Random,
    clock: Callable[[], float] = time.monotonic,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> Dispatched:
    """Run one request to a verified answer, an exhausted pool or the deadline."""
    out = Dispatched()
    deadline = clock() + policy.deadline_s
    tried: set[int] = set()
    running: dict[asyncio.Task[tuple[Outcome, Any, float | None, str]], tuple[Miner, float]] = {}
    budget = [1 + policy.retries]

    def finish(m: Miner, outcome: Outcome, latency: float | None, detail: str = "") -> None:
        pool.record(m.uid, m.hotkey, outcome, latency, clock())
        att = Attempt(m.uid, m.hotkey, outcome, latency, detail)
        out.attempts.append(att)
        if on_attempt is not None:
            on_attempt(att)

    async def one(m: Miner, timeout: float) -> tuple[Outcome, Any, float | None, str]:
        try:
            r = await send(m, timeout)
            if r.response is None:
                kind = Outcome.TIMEOUT if r.error == "Timeout" else Outcome.ERROR
                return kind, None, r.latency_s, r.error or ""
            if not await verify(r.response):
                return Outcome.WRONG, None, r.latency_s, "failed verification"
        except Exception as e:  # a bug in send/verify fails this attempt, not the gateway
            return Outcome.ERROR, None, None, f"{type(e).__name__}: {e}"
        return Outcome.OK, r.response, r.latency_s, ""

    def launch() -> bool:
        if budget[0] <= 0:
            return False
        m = pool.choose(clock(), rng, exclude=tried)
        if m is None:
            return False
        tried.add(m.uid)
        budget[0] -= 1
        task = asyncio.create_task(one(m, max(0.001, deadline - clock())))
        running[task] = (m, clock())
        return True

    if not launch():
        out.error = "NoMiners"
        return out
    try:
        while running:
            remaining = deadline - clock()
            if remaining <= 0:
                break
            can_hedge = (
                policy.hedge_after_s is not None
                and not out.hedged
                and len(running) == 1
                and budget[0] > 0
            )
            wait = remaining
            if can_hedge:
                started = next(iter(running.values()))[1]
                wait = min(remaining, max(0.0, started + policy.hedge_after_s - clock()))  # type: ignore[operator]
            done, _ = await asyncio.wait(running, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                if can_hedge and deadline - clock() > 0:
                    out.hedged = launch() or out.hedged
                continue
            for task in done:
                m, t0 = running.pop(task)
                outcome, answer, latency, detail = task.result()
                finish(m, outcome, latency if latency is not None else clock() - t0, detail)
                if outcome is Outcome.OK and out.answer is None:
                    out.answer, out.uid, out.hotkey = answer, m.uid, m.hotkey
            if out.answer is not None:
                return out
            if not running:
                launch()
        if out.answer is None:
            out.error = "DeadlineExceeded" if running or deadline - clock() <= 0 else None
            if out.error is None:
                out.error = "NoVerifiedAnswer"
        return out
    finally:
        for task, (m, t0) in running.items():
            task.cancel()
            kind = Outcome.CANCELLED if out.answer is not None else Outcome.TIMEOUT
            finish(m, kind, clock() - t0, "cancelled" if kind is Outcome.CANCELLED else "deadline")
        if running:
            await asyncio.gather(*running, return_exceptions=True)
