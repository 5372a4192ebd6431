"""The compute miner: answers matmul challenges with JAX. ``python -m subnetes.workloads.compute.miner``.

Environment: the SDK's (SUBNETES_CHAIN_ENDPOINT, SUBNETES_NETUID, SUBNETES_HOTKEY_PATH,
SUBNETES_AXON_PORT, SUBNETES_AXON_IP, ...; see docs/sdk.md) plus
- SUBNETES_COMPUTE_MAX_DIM: largest m, k or n this miner accepts (default 4096);
- SUBNETES_COMPUTE_FAULT: for tests and demos only: ``slow:<seconds>`` adds a delay,
  ``wrong`` returns a corrupted product.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from subnetes.sdk.axon import Axon, Caller, Refused
from subnetes.sdk.config import ConfigError, WorkloadConfig, env_int

from .protocol import ROUTE, MatmulRequest, MatmulResponse
from .solver import device_kind, solve

log = logging.getLogger("subnetes.workloads.compute.miner")


@dataclass(frozen=True)
class Fault:
    """A deliberate misbehaviour, for tests and demos of the incentive mechanism."""

    delay_s: float = 0.0
    wrong: bool = False

    @classmethod
    def parse(cls, spec: str, var: str = "SUBNETES_COMPUTE_FAULT") -> Fault:
        """``slow:<seconds>``, ``wrong`` or empty; ConfigError naming ``var`` otherwise."""
        spec = spec.strip()
        if not spec:
            return cls()
        if spec == "wrong":
            return cls(wrong=True)
        if spec.startswith("slow:"):
            try:
                return cls(delay_s=float(spec[5:]))
            except ValueError:
                pass
        raise ConfigError(f"{var} must be slow:<seconds> or wrong, got {spec!r}")


class ComputeMiner:
    """The request handler: regenerate the operands, multiply, answer."""

    def __init__(self, max_dim: int = 4096, fault: Fault = Fault()) -> None:
        self.max_dim = max_dim
        self.fault = fault

    async def handle(self, req: MatmulRequest, caller: Caller) -> MatmulResponse:
        if max(req.m, req.k, req.n) > self.max_dim:
            raise Refused(
                "TooLarge", f"challenge larger than this miner's max dim {self.max_dim}", 413
            )
        ch = req.challenge()
        c = await asyncio.to_thread(solve, ch)  # off the event loop: keep serving others
        if self.fault.delay_s:
            await asyncio.sleep(self.fault.delay_s)
        if self.fault.wrong:
            c = c.copy()
            c[np.arange(min(c.shape)), np.arange(min(c.shape))] += np.asarray(1, c.dtype)
        log.debug("answered", extra={"caller_uid": caller.uid, "shape": [ch.m, ch.k, ch.n]})
        return MatmulResponse.of(c)


def build_axon(config: WorkloadConfig, env: Mapping[str, str]) -> Axon:
    """The miner's axon on the chain service, from configuration."""
    from subnetes.sdk.pod import chain_axon

    miner = ComputeMiner(
        max_dim=env_int(env, "SUBNETES_COMPUTE_MAX_DIM", 4096, 1, 16384),
        fault=Fault.parse(env.get("SUBNETES_COMPUTE_FAULT", "")),
    )
    axon = chain_axon(config, env)
    axon.route(ROUTE, MatmulRequest, miner.handle)
    if miner.fault != Fault():
        log.warning("fault injection on (test/demo only)", extra={"fault": str(miner.fault)})
    return axon


async def amain(env: Mapping[str, str]) -> int:
    from subnetes.sdk.pod import run_miner_pod

    return await run_miner_pod(env, build_axon, "subnetes-compute-miner", {"device": device_kind()})


def main(env: Mapping[str, str] | None = None) -> int:
    """Entry point of the pod: everything comes from the environment the operator sets."""
    from subnetes.sdk.lifecycle import run_workload

    return run_workload(amain, env, log.name)


if __name__ == "__main__":
    raise SystemExit(main())
