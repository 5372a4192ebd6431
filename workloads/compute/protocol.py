"""The compute subnet's wire types: a challenge in, a product out (raw bytes, base64)."""

from __future__ import annotations

import base64
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from .challenge import DTYPES, MAX_DIM, MAX_SEED, Challenge

ROUTE = "matmul"
#: Bumped when the wire format or scoring changes; validators send it as set_weights' version
#: key, so a subnet owner can require upgraded validators (weights_version_key).
VERSION_KEY = 1

Dim = Field(ge=1, le=MAX_DIM)


class MatmulRequest(BaseModel):
    """Compute A @ B for the challenge's seed, shapes and dtype."""

    seed: int = Field(ge=0, le=MAX_SEED)
    m: int = Dim
    k: int = Dim
    n: int = Dim
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"

    @classmethod
    def of(cls, ch: Challenge) -> MatmulRequest:
        return cls(seed=ch.seed, m=ch.m, k=ch.k, n=ch.n, dtype=ch.dtype)  # type: ignore[arg-type]

    def challenge(self) -> Challenge:
        return Challenge(seed=self.seed, m=self.m, k=self.k, n=self.n, dtype=self.dtype)


class MatmulResponse(BaseModel):
    """The product, row-major, little-endian, base64-encoded."""

    shape: tuple[int, int]
    dtype: str
    data: str

    @classmethod
    def of(cls, c: np.ndarray) -> MatmulResponse:
        raw = np.ascontiguousarray(c).tobytes()
        return cls(
            shape=(int(c.shape[0]), int(c.shape[1])),
            dtype=str(c.dtype),
            data=base64.b64encode(raw).decode(),
        )

    def array(self, expect: Challenge) -> np.ndarray:
        """Decode, insisting on the challenge's shape and dtype; ValueError otherwise."""
        if tuple(self.shape) != expect.out_shape or self.dtype != expect.dtype:
            raise ValueError(
                f"expected {expect.out_shape} {expect.dtype}, got {self.shape} {self.dtype}"
            )
        dt = DTYPES[expect.dtype]
        raw = base64.b64decode(self.data, validate=True)
        if len(raw) != expect.m * expect.n * dt.itemsize:
            raise ValueError("data length does not match the shape")
        return np.frombuffer(raw, dtype=dt).reshape(expect.out_shape)
