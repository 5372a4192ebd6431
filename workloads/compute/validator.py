"""The compute validator: send matmul challenges, verify with Freivalds, score by latency.

``python -m subnetes.workloads.compute.validator``. Environment: the SDK's (see docs/sdk.md)
plus SUBNETES_COMPUTE_SIZE (``n`` or ``m,k,n``; default 256), SUBNETES_COMPUTE_DTYPE
(float32 | float16 | bfloat16), SUBNETES_COMPUTE_ROUNDS (Freivalds rounds, default 20: a wrong
product passes with probability <= 2^-20), SUBNETES_QUERY_TIMEOUT (seconds, default 10),
SUBNETES_SCORE_SHARPNESS (default 1: score = (fastest / latency) ** sharpness).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from subnetes.sdk.config import ConfigError, env_float, env_int
from subnetes.sdk.dendrite import QueryResult

from .challenge import DTYPES, MAX_DIM, Challenge, new_challenge, operands
from .freivalds import verify
from .protocol import ROUTE, VERSION_KEY, MatmulRequest, MatmulResponse
from .scoring import Outcome, round_scores

log = logging.getLogger("subnetes.workloads.compute.validator")


class ComputeLogic:
    """SubnetLogic for the compute subnet."""

    route = ROUTE
    response_model = MatmulResponse

    def __init__(
        self,
        shape: tuple[int, int, int] = (256, 256, 256),
        dtype: str = "float32",
        rounds: int = 20,
        timeout_s: float = 10.0,
        sharpness: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.shape = shape
        self.dtype = dtype
        self.rounds = rounds
        self.timeout_s = timeout_s
        self.sharpness = sharpness
        # Private randomness: seeds and Freivalds vectors must be unpredictable to miners.
        self.rng = rng or np.random.default_rng()

    def make_task(self) -> tuple[MatmulRequest, Challenge]:
        ch = new_challenge(self.rng, *self.shape, dtype=self.dtype)
        return MatmulRequest.of(ch), ch

    def check(self, ch: Challenge, a: np.ndarray, b: np.ndarray, r: QueryResult[Any]) -> bool:
        """Whether a miner's answer is the product (False for no or malformed answers)."""
        if r.response is None:
            return False
        try:
            c = r.response.array(ch)
        except ValueError:
            return False
        return bool(verify(a, b, c, self.rounds, self.rng))

    def score(self, ch: Challenge, results: Sequence[QueryResult[Any]]) -> dict[int, float]:
        a, b = operands(ch)
        outcomes = [Outcome(r.uid, self.check(ch, a, b, r), r.latency_s) for r in results]
        wrong = [o.uid for o in outcomes if o.latency_s is not None and not o.correct]
        if wrong:
            log.info("wrong answers", extra={"uids": wrong})
        return round_scores(outcomes, self.sharpness)


def parse_shape(raw: str) -> tuple[int, int, int]:
    """``"256"`` or ``"128,512,64"`` to (m, k, n); ConfigError otherwise."""
    try:
        dims = [int(x) for x in raw.split(",")]
    except ValueError:
        dims = []
    if len(dims) == 1:
        dims *= 3
    if len(dims) != 3 or not all(1 <= d <= MAX_DIM for d in dims):
        raise ConfigError(
            f"SUBNETES_COMPUTE_SIZE must be n or m,k,n with 1..{MAX_DIM}, got {raw!r}"
        )
    return dims[0], dims[1], dims[2]


def logic_from_env(env: Mapping[str, str]) -> ComputeLogic:
    dtype = env.get("SUBNETES_COMPUTE_DTYPE", "float32")
    if dtype not in DTYPES:
        raise ConfigError(f"SUBNETES_COMPUTE_DTYPE must be one of {sorted(DTYPES)}, got {dtype!r}")
    return ComputeLogic(
        shape=parse_shape(env.get("SUBNETES_COMPUTE_SIZE", "256")),
        dtype=dtype,
        rounds=env_int(env, "SUBNETES_COMPUTE_ROUNDS", 20, 1, 64),
        timeout_s=env_float(env, "SUBNETES_QUERY_TIMEOUT", 10.0, lo=0.01),
        sharpness=env_float(env, "SUBNETES_SCORE_SHARPNESS", 1.0),
    )


async def amain(env: Mapping[str, str]) -> int:
    from subnetes.sdk.pod import run_validator_pod

    logic = logic_from_env(env)
    started = {"shape": list(logic.shape), "dtype": logic.dtype, "rounds": logic.rounds}
    return await run_validator_pod(env, logic, VERSION_KEY, "subnetes-compute-validator", started)


def main(env: Mapping[str, str] | None = None) -> int:
    """Entry point of the pod: everything comes from the environment the operator sets."""
    from subnetes.sdk.lifecycle import run_workload

    return run_workload(amain, env, log.name)


if __name__ == "__main__":
    raise SystemExit(main())
