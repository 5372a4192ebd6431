"""Wire types and the miner's handler."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from subnetes.sdk.axon import Caller, Refused
from subnetes.sdk.config import ConfigError
from subnetes.workloads.compute.challenge import Challenge, operands
from subnetes.workloads.compute.freivalds import verify
from subnetes.workloads.compute.miner import ComputeMiner, Fault
from subnetes.workloads.compute.protocol import MatmulRequest, MatmulResponse
from subnetes.workloads.compute.validator import parse_shape

CALLER = Caller("5x", 1, 0)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_response_roundtrip(dtype: str) -> None:
    ch = Challenge(seed=1, m=3, k=4, n=5, dtype=dtype)
    a, b = operands(ch)
    c = (a.astype(np.float32) @ b.astype(np.float32)).astype(a.dtype)
    wire = MatmulResponse.of(c).model_dump_json()
    back = MatmulResponse.model_validate_json(wire).array(ch)
    assert back.dtype == c.dtype and back.tobytes() == c.tobytes()


def test_response_must_match_challenge() -> None:
    ch = Challenge(seed=1, m=2, k=2, n=2)
    good = MatmulResponse.of(np.zeros((2, 2), np.float32))
    for bad in [
        good.model_copy(update={"shape": (2, 3)}),
        good.model_copy(update={"dtype": "float16"}),
        good.model_copy(update={"data": "AAAA"}),
        good.model_copy(update={"data": "!!"}),
    ]:
        with pytest.raises(ValueError):
            bad.array(ch)


def test_request_validation() -> None:
    req = MatmulRequest.of(Challenge(seed=2**64 - 1, m=1, k=2, n=3, dtype="bfloat16"))
    assert req.challenge() == Challenge(seed=2**64 - 1, m=1, k=2, n=3, dtype="bfloat16")
    for bad in [
        {"seed": -1, "m": 1, "k": 1, "n": 1},
        {"seed": 1, "m": 0, "k": 1, "n": 1},
        {"seed": 1, "m": 1, "k": 1, "n": 1, "dtype": "int8"},
    ]:
        with pytest.raises(ValidationError):
            MatmulRequest(**bad)


async def test_honest_slow_and_wrong_handlers() -> None:
    ch = Challenge(seed=5, m=16, k=32, n=8)
    a, b = operands(ch)
    req = MatmulRequest.of(ch)
    rng = np.random.default_rng(0)
    honest = (await ComputeMiner().handle(req, CALLER)).array(ch)
    assert verify(a, b, honest, 20, rng)
    wrong = (await ComputeMiner(fault=Fault(wrong=True)).handle(req, CALLER)).array(ch)
    assert not verify(a, b, wrong, 20, rng)
    with pytest.raises(Refused, match="max dim"):
        await ComputeMiner(max_dim=8).handle(req, CALLER)


def test_fault_and_shape_parsing() -> None:
    assert Fault.parse("") == Fault() and Fault.parse("wrong") == Fault(wrong=True)
    assert Fault.parse("slow:0.5") == Fault(delay_s=0.5)
    with pytest.raises(ConfigError, match="SUBNETES_COMPUTE_FAULT"):
        Fault.parse("slow:x")
    assert parse_shape("64") == (64, 64, 64) and parse_shape("1,2,3") == (1, 2, 3)
    for bad in ("", "1,2", "0", "a,b,c"):
        with pytest.raises(ConfigError, match="SUBNETES_COMPUTE_SIZE"):
            parse_shape(bad)
