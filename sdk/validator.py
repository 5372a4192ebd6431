"""The validator loop: discover miners, query them, score, and set weights on the chain.

Subnet-specific logic comes in through ``SubnetLogic`` (what to ask, how to score the answers);
this module owns the schedule, the moving average, the weights rules (permit, version key, rate
limit), retries when the chain is unreachable, and shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bittensor_wallet import Keypair
from pydantic import BaseModel

from .backoff import Backoff, Stopped, retry, sleep_or_stop
from .chain import ChainAPI, ChainRejected, ChainUnavailable, Metagraph, NeuronInfo
from .config import ConfigError, env_float, env_int
from .dendrite import Dendrite, QueryResult
from .telemetry import ValidatorMetrics, tracer
from .weights import ema_update, normalized, to_u16_weights

log = logging.getLogger("subnetes.sdk.validator")


class SubnetLogic(Protocol):
    """What a subnet's validator asks miners and how it scores the answers."""

    # Read-only members, so a plain class attribute (``response_model = MyResponse``, a
    # subclass of BaseModel) satisfies them.
    @property
    def route(self) -> str:
        """The miners' route that tasks are sent to."""
        ...

    @property
    def response_model(self) -> type[BaseModel]:
        """The pydantic model of a miner's answer."""
        ...

    @property
    def timeout_s(self) -> float:
        """How long to wait for each miner's answer."""
        ...

    def make_task(self) -> tuple[BaseModel, Any]:
        """A fresh request and the private context needed to score answers to it."""
        ...

    def score(self, context: Any, results: Sequence[QueryResult[Any]]) -> dict[int, float]:
        """Scores in [0, 1] by UID for every result (0 for failures). May be CPU-heavy."""
        ...


@dataclass(frozen=True)
class ValidatorSettings:
    """Schedule and weighting knobs (see docs/sdk.md for the matching env variables)."""

    step_interval_s: float = 12.0
    ema_alpha: float = 0.3
    version_key: int = 0
    weights_interval_blocks: int = 0  # 0: as often as the subnet's rate limit allows
    set_weights_attempts: int = 5
    backoff: Backoff = field(default_factory=Backoff)

    @classmethod
    def from_env(cls, env: Mapping[str, str], version_key: int = 0) -> ValidatorSettings:
        """SUBNETES_STEP_INTERVAL (s), SUBNETES_EMA_ALPHA, SUBNETES_WEIGHTS_INTERVAL (blocks),
        SUBNETES_WEIGHTS_VERSION_KEY (default: ``version_key``, the code's own)."""
        alpha = env_float(env, "SUBNETES_EMA_ALPHA", cls.ema_alpha)
        if not 0 < alpha <= 1:
            raise ConfigError(f"SUBNETES_EMA_ALPHA must be in (0, 1], got {alpha}")
        return cls(
            step_interval_s=env_float(env, "SUBNETES_STEP_INTERVAL", cls.step_interval_s),
            ema_alpha=alpha,
            version_key=env_int(env, "SUBNETES_WEIGHTS_VERSION_KEY", version_key, 0, 2**63 - 1),
            weights_interval_blocks=env_int(env, "SUBNETES_WEIGHTS_INTERVAL", 0, 0, 10**9),
        )


@dataclass
class StepReport:
    """What one step did, for tests and logs."""

    block: int = -1
    registered: bool = False
    queried: int = 0
    answered: int = 0
    round_scores: dict[int, float] | None = None
    weights_result: str = "skipped"


class Validator:
    """Runs ``logic`` on ``netuid`` as ``keypair``'s hotkey."""

    def __init__(
        self,
        keypair: Keypair,
        netuid: int,
        chain: ChainAPI,
        logic: SubnetLogic,
        *,
        settings: ValidatorSettings = ValidatorSettings(),
        dendrite: Dendrite | None = None,
        metrics: ValidatorMetrics | None = None,
    ) -> None:
        self.hotkey = keypair.ss58_address
        self.netuid = netuid
        self.chain = chain
        self.logic = logic
        self.settings = settings
        self.dendrite = dendrite or Dendrite(keypair, netuid)
        self.metrics = metrics or ValidatorMetrics()
        self.scores: dict[int, float] = {}
        self._hotkey_of: dict[int, str] = {}  # uid -> hotkey the score belongs to
        self.last_weights_block = -1
        self.chain_block = -1  # last block read from the chain; -1 until it answered once
        self._stop = asyncio.Event()
        self._warned: set[str] = set()

    # -- one step ---------------------------------------------------------------------------

    async def read_metagraph(self) -> Metagraph:
        """The metagraph, retrying with backoff while the chain is unreachable."""

        def _count(_e: BaseException) -> None:
            self.metrics.chain_errors.labels("unavailable").inc()

        mg = await retry(
            lambda: self.chain.metagraph(self.netuid),
            self._stop,
            "metagraph",
            self.settings.backoff,
            on_retry=_count,
        )
        self.metrics.block.set(mg.block)
        self.chain_block = mg.block
        return mg

    def ready(self) -> bool:
        """Ready once the chain answered (readiness probe); scoring starts from there."""
        return self.chain_block >= 0

    def health(self) -> dict[str, Any]:
        """What /readyz reports next to ``ready``."""
        return {
            "hotkey": self.hotkey,
            "netuid": self.netuid,
            "block": self.chain_block,
            "last_weights_block": self.last_weights_block,
        }

    def _forget_replaced(self, mg: Metagraph) -> None:
        """Drop scores of UIDs that left or now belong to another hotkey (re-registration)."""
        current = {n.uid: n.hotkey for n in mg.neurons}
        for uid in list(self.scores):
            if current.get(uid) != self._hotkey_of.get(uid):
                self.scores.pop(uid, None)
                self._hotkey_of.pop(uid, None)
                with contextlib.suppress(KeyError):
                    self.metrics.score.remove(str(uid))

    async def step(self) -> StepReport:
        """Query every serving miner once, update scores, and set weights when due."""
        report = StepReport()
        with tracer.start_as_current_span("validator step") as span:
            mg = await self.read_metagraph()
            report.block = mg.block
            span.set_attribute("subnetes.block", mg.block)
            me = mg.by_hotkey(self.hotkey)
            if me is None:
                self._warn_once(
                    "unregistered",
                    "hotkey not registered on the subnet; waiting",
                    hotkey=self.hotkey,
                    netuid=self.netuid,
                )
                return report
            self._warned.discard("unregistered")
            report.registered = True
            self._forget_replaced(mg)
            targets = mg.serving(exclude_hotkey=self.hotkey)
            request, ctx = self.logic.make_task()
            results = await self.dendrite.query_many(
                targets, self.logic.route, request, self.logic.response_model, self.logic.timeout_s
            )
            for r in results:
                self.metrics.queries.labels(
                    "answered" if r.ok else (r.error or "error").split(":")[0]
                ).inc()
                if r.ok and r.latency_s is not None:
                    self.metrics.query_latency.observe(r.latency_s)
            # Scoring may verify big products: keep the event loop (and SIGTERM) responsive.
            rs = await asyncio.to_thread(self.logic.score, ctx, results)
            self.scores = ema_update(self.scores, rs, self.settings.ema_alpha)
            for n in targets:
                self._hotkey_of[n.uid] = n.hotkey
            for uid, s in self.scores.items():
                self.metrics.score.labels(str(uid)).set(s)
            report.queried, report.answered = len(results), sum(r.ok for r in results)
            report.round_scores = rs
            self.metrics.steps.inc()
            log.info(
                "step",
                extra={
                    "block": mg.block,
                    "queried": report.queried,
                    "answered": report.answered,
                    "scores": {u: round(s, 4) for u, s in sorted(rs.items())},
                },
            )
            report.weights_result = await self.maybe_set_weights(mg, me)
        return report

    # -- weights ----------------------------------------------------------------------------

    def weights_due(self, mg: Metagraph, me: NeuronInfo) -> bool:
        """Whether the rate limit (and our own interval) allow setting weights at ``mg.block``."""
        last = max(me.weights_block, self.last_weights_block)
        interval = max(mg.policy.weights_rate_limit, self.settings.weights_interval_blocks)
        return last < 0 or mg.block - last >= interval

    async def maybe_set_weights(self, mg: Metagraph, me: NeuronInfo) -> str:
        """Set weights from the current scores if allowed and due; returns what happened."""
        if not me.validator_permit:
            self._warn_once("permit", "no validator permit yet; not setting weights", uid=me.uid)
            return self._weights_result("no_permit")
        self._warned.discard("permit")
        if mg.policy.weights_version_key > self.settings.version_key:
            self._warn_once(
                "version",
                "subnet requires a newer weights version key: upgrade",
                ours=self.settings.version_key,
                required=mg.policy.weights_version_key,
            )
            return self._weights_result("outdated")
        if not self.weights_due(mg, me):
            return "not_due"
        known = {n.uid for n in mg.neurons}
        uids, values = to_u16_weights({u: s for u, s in self.scores.items() if u in known})
        if len(uids) < max(1, min(mg.policy.min_allowed_weights, len(mg.neurons))):
            return self._weights_result("no_scores")
        try:
            with tracer.start_as_current_span("set_weights"):
                block = await retry(
                    lambda: self.chain.set_weights(
                        self.netuid, uids, values, self.settings.version_key
                    ),
                    self._stop,
                    "set_weights",
                    self.settings.backoff,
                    on_retry=self._give_up_after(self.settings.set_weights_attempts),
                )
        except ChainRejected as e:
            self.metrics.chain_errors.labels("rejected").inc()
            log.warning("set_weights refused", extra={"error": e.name, "reason": e.message})
            return self._weights_result(e.name)
        except _GaveUp:
            return self._weights_result("unavailable")
        self.last_weights_block = block
        self.metrics.last_weights_block.set(block)
        log.info(
            "weights set",
            extra={
                "block": block,
                "uids": uids,
                "weights": [round(w, 4) for w in normalized(values)],
            },
        )
        return self._weights_result("ok")

    def _give_up_after(self, attempts: int) -> Callable[[BaseException], None]:
        count = [0]

        def on_retry(_e: BaseException) -> None:
            self.metrics.chain_errors.labels("unavailable").inc()
            count[0] += 1
            if count[0] >= attempts:
                raise _GaveUp

        return on_retry

    def _weights_result(self, result: str) -> str:
        self.metrics.weights_set.labels(result).inc()
        return result

    def _warn_once(self, key: str, msg: str, **fields: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, extra=fields)

    # -- loop -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, grace_s: float | None = None) -> None:
        """Step every ``step_interval_s`` until ``stop`` is set; then finish or cancel the step."""
        self._stop = stop
        grace = self.logic.timeout_s + 5.0 if grace_s is None else grace_s
        log.info("validator started", extra={"hotkey": self.hotkey, "netuid": self.netuid})
        try:
            while not stop.is_set():
                t0 = time.monotonic()
                task = asyncio.create_task(self.step())
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not task.done():  # stop requested mid-step: let it finish briefly
                    await asyncio.wait({task}, timeout=grace)
                    task.cancel()
                try:
                    await task
                except (Stopped, asyncio.CancelledError):
                    break
                except ChainUnavailable:
                    continue
                except Exception:  # a bug in a step must not kill the validator; back off
                    log.exception("step failed")
                    if await sleep_or_stop(stop, self.settings.backoff.cap_s):
                        break
                    continue
                if await sleep_or_stop(
                    stop, self.settings.step_interval_s - (time.monotonic() - t0)
                ):
                    break
        finally:
            await self.dendrite.close()
            await self.chain.close()
            log.info("validator stopped", extra={"hotkey": self.hotkey})


class _GaveUp(Exception):
    """Too many failed set_weights attempts this step; try again next step."""
