"""The linear-solve subnet's wire types: a challenge in, the solution out (raw bytes, base64)."""

from __future__ import annotations

import base64

import numpy as np
from pydantic import BaseModel, Field

from .challenge import MAX_K, MAX_N, MAX_SEED, Challenge

ROUTE = "linsolve"
#: Bumped when the wire format or scoring changes (validators' weights version key).
VERSION_KEY = 1


class SolveRequest(BaseModel):
    """Solve A X = B for the system drawn from (seed, n, k)."""

    seed: int = Field(ge=0, le=MAX_SEED)
    n: int = Field(ge=1, le=MAX_N)
    k: int = Field(default=1, ge=1, le=MAX_K)

    @classmethod
    def of(cls, ch: Challenge) -> SolveRequest:
        return cls(seed=ch.seed, n=ch.n, k=ch.k)

    def challenge(self) -> Challenge:
        return Challenge(seed=self.seed, n=self.n, k=self.k)


class SolveResponse(BaseModel):
    """X (n x k), float64, row-major, little-endian, base64-encoded."""

    shape: tuple[int, int]
    dtype: str = "float64"
    data: str

    @classmethod
    def of(cls, x: np.ndarray) -> SolveResponse:
        raw = np.ascontiguousarray(x, dtype="<f8").tobytes()
        return cls(
            shape=(int(x.shape[0]), int(x.shape[1])),
            dtype="float64",
            data=base64.b64encode(raw).decode(),
        )

    def array(self, expect: Challenge) -> np.ndarray:
        """Decode, insisting on the challenge's shape and float64; ValueError otherwise."""
        if tuple(self.shape) != expect.out_shape or self.dtype != "float64":
            raise ValueError(f"expected {expect.out_shape} float64, got {self.shape} {self.dtype}")
        raw = base64.b64decode(self.data, validate=True)
        if len(raw) != expect.n * expect.k * 8:
            raise ValueError("data length does not match the shape")
        return np.frombuffer(raw, dtype="<f8").reshape(expect.out_shape).astype(np.float64)
