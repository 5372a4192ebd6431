"""The linear-solve validator: send seeded systems, check the residual, score by latency.

``python -m subnetes.workloads.linsolve.validator`` (or ``subnetes workload validator --subnet
linsolve``). Environment: the SDK's (see docs/sdk.md) plus SUBNETES_LINSOLVE_SIZE (``n`` or
``n,k``; default 256,1), SUBNETES_LINSOLVE_ROUNDS (projections per check, default 20: a wrong
solution passes with probability <= 2^-20; exact when k <= rounds), SUBNETES_QUERY_TIMEOUT
(seconds, default 10), SUBNETES_SCORE_SHARPNESS (default 1).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from subnetes.sdk.config import ConfigError, env_float, env_int
from subnetes.sdk.dendrite import QueryResult
from subnetes.workloads.compute.scoring import Outcome, round_scores

from .challenge import MAX_K, MAX_N, Challenge, new_challenge, system
from .protocol import ROUTE, VERSION_KEY, SolveRequest, SolveResponse
from .residual import verify

log = logging.getLogger("subnetes.workloads.linsolve.validator")


class LinsolveLogic:
    """SubnetLogic for the linear-solve subnet."""

    route = ROUTE
    response_model = SolveResponse

    def __init__(
        self,
        n: int = 256,
        k: int = 1,
        rounds: int = 20,
        timeout_s: float = 10.0,
        sharpness: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.n, self.k = n, k
        self.rounds = rounds
        self.timeout_s = timeout_s
        self.sharpness = sharpness
        # Private randomness: seeds and sign vectors must be unpredictable to miners.
        self.rng = rng or np.random.default_rng()

    def make_task(self) -> tuple[SolveRequest, Challenge]:
        ch = new_challenge(self.rng, self.n, self.k)
        return SolveRequest.of(ch), ch

    def check(self, ch: Challenge, a: np.ndarray, b: np.ndarray, r: QueryResult[Any]) -> bool:
        """Whether a miner's answer solves the system (False for no or malformed answers)."""
        if r.response is None:
            return False
        try:
            x = r.response.array(ch)
        except ValueError:
            return False
        return bool(verify(a, b, x, self.rounds, self.rng))

    def score(self, ch: Challenge, results: Sequence[QueryResult[Any]]) -> dict[int, float]:
        a, b = system(ch)
        outcomes = [Outcome(r.uid, self.check(ch, a, b, r), r.latency_s) for r in results]
        wrong = [o.uid for o in outcomes if o.latency_s is not None and not o.correct]
        if wrong:
            log.info("wrong answers", extra={"uids": wrong})
        return round_scores(outcomes, self.sharpness)


def parse_size(raw: str) -> tuple[int, int]:
    """``"256"`` or ``"256,4"`` to (n, k); ConfigError otherwise."""
    try:
        dims = [int(x) for x in raw.split(",")]
    except ValueError:
        dims = []
    if len(dims) == 1:
        dims.append(1)
    if len(dims) != 2 or not (1 <= dims[0] <= MAX_N and 1 <= dims[1] <= MAX_K):
        raise ConfigError(
            f"SUBNETES_LINSOLVE_SIZE must be n or n,k with n in 1..{MAX_N}, k in 1..{MAX_K}, "
            f"got {raw!r}"
        )
    return dims[0], dims[1]


def logic_from_env(env: Mapping[str, str]) -> LinsolveLogic:
    n, k = parse_size(env.get("SUBNETES_LINSOLVE_SIZE", "256"))
    return LinsolveLogic(
        n=n,
        k=k,
        rounds=env_int(env, "SUBNETES_LINSOLVE_ROUNDS", 20, 1, 64),
        timeout_s=env_float(env, "SUBNETES_QUERY_TIMEOUT", 10.0, lo=0.01),
        sharpness=env_float(env, "SUBNETES_SCORE_SHARPNESS", 1.0),
    )


async def amain(env: Mapping[str, str]) -> int:
    from subnetes.sdk.pod import run_validator_pod

    logic = logic_from_env(env)
    started = {"size": [logic.n, logic.k], "rounds": logic.rounds}
    return await run_validator_pod(env, logic, VERSION_KEY, "subnetes-linsolve-validator", started)


def main(env: Mapping[str, str] | None = None) -> int:
    """Entry point of the pod: everything comes from the environment the operator sets."""
    from subnetes.sdk.lifecycle import run_workload

    return run_workload(amain, env, log.name)


if __name__ == "__main__":
    raise SystemExit(main())
