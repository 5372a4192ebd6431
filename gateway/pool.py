"""The routing pool: which miners a gateway may send work to, and how likely each one is.

Pure: no I/O, no clock of its own (callers pass ``now``), no global randomness (callers pass a
``random.Random``), so every rule here is unit-tested directly.

- Miners come from metagraph rows (UID, hotkey, axon, incentive, trust, last update). A UID
  whose hotkey changed (the old one was pruned and replaced) starts from scratch; a UID that
  left the metagraph, or that a ``NeuronDeregistered`` event names, leaves the pool at once.
- Choice is random, weighted by the miner's incentive (the subnet's validators' verdict) times
  its observed health: ``(fastest latency EWMA / its latency EWMA) ** latency_power`` times its
  success EWMA. Miners with incentive are preferred: a zero-incentive miner gets traffic only
  while no miner with incentive is available (a new subnet before its first epoch).
- Each miner has a circuit breaker: ``failure_threshold`` failures in a row open it for
  ``open_s`` (doubling up to ``max_open_s`` while probes keep failing); once that passes, one
  probe request may go through (half-open); its success closes the breaker. A wrong answer opens
  it at once for ``wrong_open_s`` (doubling for each further wrong answer).
- Organic quality per miner (EWMA of verified answers; failures and wrong answers count 0) is
  kept for the subnet's validators (see ``subnetes.sdk.organic``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from subnetes.sdk.chain import AxonInfo, NeuronInfo

U16_MAX = 65535


class Outcome(StrEnum):
    """What became of one request sent to one miner."""

    OK = "ok"  # answered and the answer verified
    WRONG = "wrong"  # answered, and the answer failed the subnet's check
    TIMEOUT = "timeout"  # no answer in time
    ERROR = "error"  # refused, unreachable, malformed answer
    CANCELLED = "cancelled"  # another miner answered first (a hedge won); no verdict


class Breaker(StrEnum):
    """Circuit-breaker states."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class RoutingPolicy:
    """How the pool weighs miners and when it stops sending to one."""

    mode: str = "incentive"  # "incentive": incentive x health; "health": health only
    latency_alpha: float = 0.3  # weight of a new latency sample in the EWMA
    latency_power: float = 2.0  # twice as slow: 1/4 of the traffic (power 2)
    success_alpha: float = 0.2  # weight of a new outcome in the success EWMA
    failure_threshold: int = 3
    open_s: float = 5.0
    max_open_s: float = 60.0
    wrong_open_s: float = 60.0
    quality_alpha: float = 0.1  # organic quality EWMA

    def __post_init__(self) -> None:
        if self.mode not in ("incentive", "health"):
            raise ValueError(f"routing mode must be incentive or health, got {self.mode!r}")
        for name in ("latency_alpha", "success_alpha", "quality_alpha"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1]")
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")


@dataclass
class Miner:
    """One UID in the pool: what the chain says about it and what the gateway observed."""

    neuron: NeuronInfo
    trust: int = 0
    latency_ewma: float | None = None
    success_ewma: float = 1.0
    quality: float | None = None  # organic quality EWMA; None until a verdict
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    consecutive_failures: int = 0
    breaker: Breaker = Breaker.CLOSED
    open_until: float = 0.0
    opened: int = 0  # how many times it opened since it last closed (sets the next period)
    wrong_streak: int = 0
    probing: bool = False  # a half-open probe is in flight

    @property
    def uid(self) -> int:
        return self.neuron.uid

    @property
    def hotkey(self) -> str:
        return self.neuron.hotkey

    @property
    def incentive(self) -> int:
        return self.neuron.incentive

    def available(self, now: float) -> bool:
        """Whether a request may go to this miner now (a closed breaker, or a free probe)."""
        if self.neuron.axon is None:
            return False
        if self.breaker is Breaker.CLOSED:
            return True
        return now >= self.open_until and not self.probing


def miner_from_row(row: Mapping[str, Any]) -> tuple[NeuronInfo, int]:
    """A metagraph row (``subnetes.wire.rows.NeuronRow``) as a NeuronInfo and its trust."""
    ax = row.get("axon")
    axon = AxonInfo(str(ax["ip"]), int(ax["port"])) if ax and int(ax.get("port", 0)) > 0 else None
    neuron = NeuronInfo(
        uid=int(row["uid"]),
        hotkey=str(row["hotkey"]),
        stake=int(row.get("stake", 0)),
        validator_permit=bool(row.get("validator_permit", False)),
        axon=axon,
        last_update=int(row.get("last_update", 0)),
        weights_block=int(row.get("weights_block", -1)),
        incentive=int(row.get("incentive", 0)),
        dividends=int(row.get("dividends", 0)),
        emission=int(row.get("emission", 0)),
    )
    return neuron, int(row.get("trust", 0))


class Pool:
    """The miners of one subnet and the gateway's view of their health."""

    def __init__(self, policy: RoutingPolicy = RoutingPolicy(), exclude_hotkey: str = "") -> None:
        self.policy = policy
        self.exclude_hotkey = exclude_hotkey  # the gateway's own hotkey is never a target
        self.miners: dict[int, Miner] = {}
        self.block = -1

    # -- membership ---------------------------------------------------------------------------

    def update(self, rows: Iterable[Mapping[str, Any]], block: int) -> set[int]:
        """Replace membership with a metagraph's rows (as of ``block``); returns the UIDs that
        left or changed hotkey. Health of miners that stay (same UID, same hotkey) is kept."""
        if block < self.block:
            return set()  # an older metagraph than one already applied: ignore it
        self.block = block
        seen: dict[int, tuple[NeuronInfo, int]] = {}
        for row in rows:
            neuron, trust = miner_from_row(row)
            if neuron.hotkey != self.exclude_hotkey:
                seen[neuron.uid] = (neuron, trust)
        gone = set()
        for uid, m in list(self.miners.items()):
            if uid not in seen or seen[uid][0].hotkey != m.hotkey:
                gone.add(uid)
                del self.miners[uid]
        for uid, (neuron, trust) in seen.items():
            kept = self.miners.get(uid)
            if kept is None:
                self.miners[uid] = Miner(neuron, trust)
            else:
                kept.neuron, kept.trust = neuron, trust
        return gone

    def remove(self, uid: int, hotkey: str | None = None) -> bool:
        """Drop ``uid`` (only while it still belongs to ``hotkey``, when given)."""
        m = self.miners.get(uid)
        if m is None or (hotkey is not None and m.hotkey != hotkey):
            return False
        del self.miners[uid]
        return True

    def apply_scores(self, rows: Iterable[Mapping[str, Any]], block: int) -> None:
        """An epoch's result (``EpochResult`` event rows): new incentive and trust of the UIDs
        the pool knows under the same hotkey; unknown UIDs wait for the next metagraph read.
        An epoch older than the metagraph already applied changes nothing (a replayed event)."""
        if block < self.block:
            return
        for row in rows:
            m = self.miners.get(int(row["uid"]))
            if m is not None and m.hotkey == row.get("hotkey"):
                m.neuron = _replace_incentive(m.neuron, int(row.get("incentive", 0)))
                m.trust = int(row.get("trust", m.trust))
        self.block = max(self.block, block)

    def clear(self) -> None:
        """Forget every miner (the subnet is gone)."""
        self.miners.clear()

    # -- choice -------------------------------------------------------------------------------

    def candidates(self, now: float, exclude: Iterable[int] = ()) -> list[Miner]:
        """The miners a request may go to now: those with incentive when any is available
        (mode ``incentive``), else every available one."""
        skip = set(exclude)
        avail = [
            m for uid, m in sorted(self.miners.items()) if uid not in skip and m.available(now)
        ]
        if self.policy.mode == "incentive":
            earning = [m for m in avail if m.incentive > 0]
            if earning:
                return earning
        return avail

    def weights(self, miners: list[Miner]) -> list[float]:
        """Each candidate's relative weight (see the module docstring)."""
        lats = [m.latency_ewma for m in miners if m.latency_ewma is not None]
        fastest = min(lats, default=None)
        out = []
        for m in miners:
            w = m.incentive / U16_MAX if self.policy.mode == "incentive" and m.incentive else 1.0
            if fastest is not None and m.latency_ewma is not None:
                # Latencies below 1 ms count as 1 ms: loopback noise must not decide.
                ratio = max(fastest, 1e-3) / max(m.latency_ewma, 1e-3)
                w *= ratio**self.policy.latency_power
            w *= max(m.success_ewma, 1e-3)
            out.append(w)
        return out

    def choose(self, now: float, rng: random.Random, exclude: Iterable[int] = ()) -> Miner | None:
        """Pick a miner for one request (None when none is available). A half-open miner
        picked here carries the probe: no other request goes to it until the probe's outcome."""
        cands = self.candidates(now, exclude)
        if not cands:
            return None
        weights = self.weights(cands)
        total = sum(weights)
        x = rng.random() * total
        chosen = cands[-1]
        for m, w in zip(cands, weights, strict=True):
            x -= w
            if x < 0:
                chosen = m
                break
        if chosen.breaker is not Breaker.CLOSED:
            chosen.breaker, chosen.probing = Breaker.HALF_OPEN, True
        return chosen

    def shares(self, now: float) -> dict[int, float]:
        """Each UID's chance of getting the next request (for /v1/pool and tests)."""
        cands = self.candidates(now)
        weights = self.weights(cands)
        total = sum(weights) or 1.0
        return {m.uid: w / total for m, w in zip(cands, weights, strict=True)}

    # -- outcomes -----------------------------------------------------------------------------

    def record(
        self, uid: int, hotkey: str, outcome: Outcome, latency_s: float | None, now: float
    ) -> None:
        """Fold one request's outcome into ``uid``'s health (ignored when the UID changed)."""
        m = self.miners.get(uid)
        if m is None or m.hotkey != hotkey:
            return
        p = self.policy
        m.counts[outcome.value] += 1
        was_probe, m.probing = m.probing, False
        if outcome is Outcome.CANCELLED:
            # Slower than the hedge that won: its latency is at least this (a lower bound).
            if latency_s is not None and (m.latency_ewma is None or latency_s > m.latency_ewma):
                m.latency_ewma = _ewma(m.latency_ewma, latency_s, p.latency_alpha)
            if was_probe:  # no verdict: let another probe through
                m.breaker = Breaker.OPEN
            return
        good = outcome is Outcome.OK
        m.success_ewma = _ewma(m.success_ewma, 1.0 if good else 0.0, p.success_alpha)
        m.quality = _ewma(m.quality, 1.0 if good else 0.0, p.quality_alpha)
        # Errors (refused, unreachable) say nothing about speed; answers and timeouts do.
        if latency_s is not None and outcome is not Outcome.ERROR:
            m.latency_ewma = _ewma(m.latency_ewma, latency_s, p.latency_alpha)
        if good:
            m.consecutive_failures, m.wrong_streak = 0, 0
            m.breaker, m.opened = Breaker.CLOSED, 0
            return
        m.consecutive_failures += 1
        if outcome is Outcome.WRONG:
            # A wrong answer is never noise: out of the pool at once, longer each time.
            m.wrong_streak += 1
            period = min(p.wrong_open_s * 2 ** (m.wrong_streak - 1), 16 * p.wrong_open_s)
            self._open(m, now, period)
        elif was_probe or m.consecutive_failures >= p.failure_threshold:
            self._open(m, now, min(p.open_s * 2**m.opened, p.max_open_s))

    @staticmethod
    def _open(m: Miner, now: float, period: float) -> None:
        m.breaker, m.open_until = Breaker.OPEN, now + period
        m.opened += 1

    # -- reports ------------------------------------------------------------------------------

    def organic_quality(self) -> dict[int, float]:
        """Organic quality by UID, for miners with at least one verdict."""
        return {uid: m.quality for uid, m in self.miners.items() if m.quality is not None}

    def snapshot(self, now: float) -> list[dict[str, Any]]:
        """Every miner's chain facts and observed health, by UID (JSON-ready)."""
        shares = self.shares(now)
        return [
            {
                "uid": m.uid,
                "hotkey": m.hotkey,
                "axon": m.neuron.axon.url if m.neuron.axon else None,
                "incentive": m.incentive,
                "trust": m.trust,
                "last_update": m.neuron.last_update,
                "latency_ewma_s": m.latency_ewma,
                "success_ewma": round(m.success_ewma, 6),
                "quality": m.quality,
                "breaker": m.breaker.value,
                "share": round(shares.get(m.uid, 0.0), 6),
                "counts": dict(m.counts),
            }
            for m in sorted(self.miners.values(), key=lambda m: m.uid)
        ]


def _ewma(prev: float | None, x: float, alpha: float) -> float:
    return x if prev is None else alpha * x + (1 - alpha) * prev


def _replace_incentive(n: NeuronInfo, incentive: int) -> NeuronInfo:
    from dataclasses import replace

    return replace(n, incentive=incentive)
