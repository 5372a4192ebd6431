"""The linear-solve miner: answers linsolve challenges with LAPACK.
``python -m subnetes.workloads.linsolve.miner`` (or ``subnetes workload miner --subnet linsolve``).

Environment: the SDK's (SUBNETES_CHAIN_ENDPOINT, SUBNETES_NETUID, SUBNETES_HOTKEY_PATH,
SUBNETES_AXON_PORT, SUBNETES_AXON_IP, ...; see docs/sdk.md) plus
- SUBNETES_LINSOLVE_MAX_N: largest n this miner accepts (default 2048);
- SUBNETES_LINSOLVE_FAULT: for tests and demos only: ``slow:<seconds>`` adds a delay,
  ``wrong`` returns a perturbed solution.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from subnetes.sdk.axon import Axon, Caller, Refused
from subnetes.sdk.config import WorkloadConfig, env_int
from subnetes.workloads.compute.miner import Fault

from .protocol import ROUTE, SolveRequest, SolveResponse
from .solver import solve

log = logging.getLogger("subnetes.workloads.linsolve.miner")


class LinsolveMiner:
    """The request handler: regenerate the system, solve it, answer."""

    def __init__(self, max_n: int = 2048, fault: Fault | None = None) -> None:
        self.max_n = max_n
        self.fault = fault or Fault()

    async def handle(self, req: SolveRequest, caller: Caller) -> SolveResponse:
        if req.n > self.max_n:
            raise Refused("TooLarge", f"system larger than this miner's max n {self.max_n}", 413)
        ch = req.challenge()
        x = await asyncio.to_thread(solve, ch)  # off the event loop: keep serving others
        if self.fault.delay_s:
            await asyncio.sleep(self.fault.delay_s)
        if self.fault.wrong:
            x = x.copy()
            x[0, :] += 1e-3  # far above rounding, small enough to look plausible
        log.debug("answered", extra={"caller_uid": caller.uid, "shape": [ch.n, ch.k]})
        return SolveResponse.of(x)


def build_axon(config: WorkloadConfig, env: Mapping[str, str]) -> Axon:
    """The miner's axon on the chain service, from configuration."""
    from subnetes.sdk.pod import chain_axon

    miner = LinsolveMiner(
        max_n=env_int(env, "SUBNETES_LINSOLVE_MAX_N", 2048, 1, 4096),
        fault=Fault.parse(env.get("SUBNETES_LINSOLVE_FAULT", ""), "SUBNETES_LINSOLVE_FAULT"),
    )
    axon = chain_axon(config, env)
    axon.route(ROUTE, SolveRequest, miner.handle)
    if miner.fault != Fault():
        log.warning("fault injection on (test/demo only)", extra={"fault": str(miner.fault)})
    return axon


async def amain(env: Mapping[str, str]) -> int:
    from subnetes.sdk.pod import run_miner_pod

    return await run_miner_pod(env, build_axon, "subnetes-linsolve-miner")


def main(env: Mapping[str, str] | None = None) -> int:
    """Entry point of the pod: everything comes from the environment the operator sets."""
    from subnetes.sdk.lifecycle import run_workload

    return run_workload(amain, env, log.name)


if __name__ == "__main__":
    raise SystemExit(main())
