"""What a gateway serves: each capability names the miners' route, the wire types, the size
limit, and the subnet's own check of an answer (the same one its validators use).

The compute subnet's capability is ``matmul``: a user sends a challenge (seed, shapes, dtype),
a miner answers the product, and the gateway returns it only when Freivalds' check accepts it.
The linear-solve subnet's is ``linsolve``: a user sends (seed, n, k), a miner answers X with
A X = B, and the gateway returns it only when the projected residual check accepts it.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel

from subnetes.workloads.compute.challenge import operands
from subnetes.workloads.compute.freivalds import verify as freivalds
from subnetes.workloads.compute.protocol import ROUTE, MatmulRequest, MatmulResponse
from subnetes.workloads.linsolve import protocol as linsolve_protocol
from subnetes.workloads.linsolve.challenge import system
from subnetes.workloads.linsolve.residual import verify as residual_check

_SYSRAND = random.SystemRandom()


class Capability(Protocol):
    """One kind of work a gateway accepts at ``POST /v1/<name>``."""

    @property
    def name(self) -> str:
        """The capability's name (the gateway's URL path)."""
        ...

    @property
    def route(self) -> str:
        """The miners' axon route that serves it."""
        ...

    @property
    def request_model(self) -> type[BaseModel]: ...

    @property
    def response_model(self) -> type[BaseModel]: ...

    def too_large(self, request: Any) -> str | None:
        """Why a (parsed) request is larger than this gateway serves, or None."""
        ...

    def verify(self, request: Any, response: Any) -> bool:
        """Whether ``response`` is a correct answer to ``request`` (CPU work; runs in a thread)."""
        ...


class MatmulCapability:
    """The compute subnet: ``A @ B`` of a challenge, checked with Freivalds."""

    name = "matmul"
    route = ROUTE
    request_model = MatmulRequest
    response_model = MatmulResponse

    def __init__(self, max_dim: int = 1024, rounds: int = 20) -> None:
        self.max_dim = max_dim
        self.rounds = rounds

    def too_large(self, request: MatmulRequest) -> str | None:
        if max(request.m, request.k, request.n) > self.max_dim:
            return f"m, k and n must be <= {self.max_dim} on this gateway"
        return None

    def verify(self, request: MatmulRequest, response: MatmulResponse) -> bool:
        ch = request.challenge()
        try:
            c = response.array(ch)
        except ValueError:
            return False
        a, b = operands(ch)
        # Private randomness, fresh per check (checks run concurrently in threads): a miner
        # that could predict the check vectors could forge a product that passes.
        rng = np.random.default_rng(_SYSRAND.getrandbits(128))
        return bool(freivalds(a, b, c, self.rounds, rng))


class LinsolveCapability:
    """The linear-solve subnet: X with ``A X = B``, checked by the projected residual."""

    name = "linsolve"
    route = linsolve_protocol.ROUTE
    request_model = linsolve_protocol.SolveRequest
    response_model = linsolve_protocol.SolveResponse

    def __init__(self, max_n: int = 1024, rounds: int = 20) -> None:
        self.max_n = max_n
        self.rounds = rounds

    def too_large(self, request: linsolve_protocol.SolveRequest) -> str | None:
        if request.n > self.max_n:
            return f"n must be <= {self.max_n} on this gateway"
        return None

    def verify(
        self, request: linsolve_protocol.SolveRequest, response: linsolve_protocol.SolveResponse
    ) -> bool:
        ch = request.challenge()
        try:
            x = response.array(ch)
        except ValueError:
            return False
        a, b = system(ch)
        # Private, fresh randomness per check, as for matmul: predictable sign vectors would
        # let a miner hide an error in their null space.
        rng = np.random.default_rng(_SYSRAND.getrandbits(128))
        return bool(residual_check(a, b, x, self.rounds, rng))


def builtin(
    names: list[str],
    max_dim: int = 1024,
    rounds: int = 20,
    linsolve_max_n: int = 1024,
    linsolve_rounds: int = 20,
) -> dict[str, Capability]:
    """The capabilities called ``names`` (ValueError for one this gateway does not know)."""
    known: dict[str, Capability] = {
        "matmul": MatmulCapability(max_dim, rounds),
        "linsolve": LinsolveCapability(linsolve_max_n, linsolve_rounds),
    }
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown capabilities {unknown}; this gateway serves {sorted(known)}")
    return {n: known[n] for n in names}
