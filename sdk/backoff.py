"""Retries with capped exponential backoff and jitter, interruptible by a stop event."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .chain import ChainUnavailable

T = TypeVar("T")
log = logging.getLogger("subnetes.sdk.backoff")


class Stopped(Exception):
    """The stop event was set while waiting to retry."""


@dataclass(frozen=True)
class Backoff:
    """Delay before retry ``attempt`` (0-based): ``min(cap, base * factor**attempt)``, jittered."""

    base_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 30.0
    jitter: float = 0.2  # +-20%, so many pods don't retry in lockstep

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        d = min(self.cap_s, self.base_s * self.factor ** min(attempt, 64))
        return max(0.0, d * (1.0 + self.jitter * (2.0 * rand() - 1.0)))


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; True when ``stop`` was set (and the caller should wind down)."""
    if stop.is_set():
        return True
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        return False
    return True


async def retry(
    fn: Callable[[], Awaitable[T]],
    stop: asyncio.Event,
    what: str,
    policy: Backoff = Backoff(),
    retry_on: tuple[type[BaseException], ...] = (ChainUnavailable,),
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """Call ``fn`` until it succeeds, backing off on ``retry_on`` errors; raise Stopped on stop."""
    attempt = 0
    while True:
        try:
            return await fn()
        except retry_on as e:
            delay = policy.delay(attempt)
            log.warning(
                "retrying",
                extra={
                    "what": what,
                    "attempt": attempt + 1,
                    "delay_s": round(delay, 3),
                    "error": str(e),
                },
            )
            if on_retry is not None:
                on_retry(e)
            attempt += 1
            if await sleep_or_stop(stop, delay):
                raise Stopped(what) from e
