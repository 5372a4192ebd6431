"""The linear-solve subnet, pure: challenges, the residual check (hypothesis: a right answer is
always accepted, a wrong one always rejected), the wire types, the miner's handler, the
validator's scoring and the gateway capability."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subnetes.gateway.capabilities import LinsolveCapability, builtin
from subnetes.sdk.axon import Caller, Refused
from subnetes.sdk.config import ConfigError
from subnetes.sdk.dendrite import QueryResult
from subnetes.workloads.compute.miner import Fault
from subnetes.workloads.linsolve.challenge import Challenge, ChallengeError, system
from subnetes.workloads.linsolve.miner import LinsolveMiner
from subnetes.workloads.linsolve.protocol import SolveRequest, SolveResponse
from subnetes.workloads.linsolve.residual import projections, verify
from subnetes.workloads.linsolve.solver import solve
from subnetes.workloads.linsolve.validator import LinsolveLogic, logic_from_env, parse_size

seeds = st.integers(0, 2**64 - 1)
sizes = st.integers(1, 96)
rhs = st.integers(1, 40)


def test_challenges_are_deterministic_well_conditioned_and_checked() -> None:
    a1, b1 = system(Challenge(7, 50, 3))
    a2, b2 = system(Challenge(7, 50, 3))
    assert np.array_equal(a1, a2) and np.array_equal(b1, b2)
    assert not np.array_equal(a1, system(Challenge(8, 50, 3))[0])
    assert b1.shape == (50, 3) and a1.dtype == np.float64
    for n in (1, 2, 64, 512):
        assert np.linalg.cond(system(Challenge(n, n))[0]) < 4.0
    for bad in ((-1, 4, 1), (1, 0, 1), (1, 4097, 1), (1, 4, 0), (1, 4, 65), (2**64, 4, 1)):
        with pytest.raises(ChallengeError):
            Challenge(*bad)


@settings(max_examples=60, deadline=None)
@given(seeds, sizes, rhs, st.integers(1, 2**32))
def test_a_right_answer_is_always_accepted(seed: int, n: int, k: int, check_seed: int) -> None:
    ch = Challenge(seed, n, k)
    a, b = system(ch)
    rng = np.random.default_rng(check_seed)
    # Three honest solvers with different rounding: LU (the miner's), least squares, inverse.
    for x in (solve(ch), np.linalg.lstsq(a, b, rcond=None)[0], np.linalg.inv(a) @ b):
        assert verify(a, b, x, 8, rng), (n, k)


@settings(max_examples=80, deadline=None)
@given(
    seeds,
    sizes,
    rhs,
    st.integers(0, 10**6),
    st.floats(1e-7, 1e6),
    st.booleans(),
)
def test_a_wrong_answer_is_always_rejected(
    seed: int, n: int, k: int, where: int, size: float, negative: bool
) -> None:
    ch = Challenge(seed, n, k)
    a, b = system(ch)
    x = solve(ch)
    i, j = divmod(where % (n * k), k)
    wrong = x.copy()
    wrong[i, j] += -size if negative else size  # one entry off by >= 1e-7 (answers are ~0.1)
    # 64 projections: a miss has probability <= 2^-64 (exact when k <= 64, as here).
    assert not verify(a, b, wrong, 64, np.random.default_rng(seed % 1000))


@settings(max_examples=60, deadline=None)
@given(seeds, sizes, rhs, st.sampled_from(["scaled", "noise", "zero", "other-seed"]), st.integers())
def test_other_kinds_of_wrong_answers_are_rejected(
    seed: int, n: int, k: int, kind: str, noise_seed: int
) -> None:
    ch = Challenge(seed, n, k)
    a, b = system(ch)
    x = solve(ch)
    noise = np.random.default_rng(noise_seed % 2**32).standard_normal(x.shape)
    wrong = {
        "scaled": x * (1 + 1e-6),  # every entry off by a millionth
        "noise": x + 1e-6 * noise,
        "zero": np.zeros_like(x),
        "other-seed": solve(
            Challenge((seed + 1) % 2**64, n, k)
        ),  # a right answer to another system
    }[kind]
    assert not verify(a, b, wrong, 64, np.random.default_rng(noise_seed % 2**32))


def test_sign_projections_catch_a_single_wrong_column_with_probability_one_half_per_round() -> None:
    ch = Challenge(3, 40, 40)
    a, b = system(ch)
    wrong = solve(ch)
    wrong[5, 17] += 1e-3
    misses = sum(bool(verify(a, b, wrong, 1, np.random.default_rng(s))) for s in range(400))
    assert misses == 0  # one wrong entry: every sign vector moves row 5 by +-A[5,5] 1e-3
    assert projections(3, 4, np.random.default_rng(0)).tolist() == np.eye(3).tolist()
    r = projections(10, 4, np.random.default_rng(0))
    assert r.shape == (10, 4) and set(np.unique(r)) == {-1.0, 1.0}
    with pytest.raises(ValueError):
        projections(3, 0, np.random.default_rng(0))


def test_malformed_claims_are_rejected_with_a_reason() -> None:
    ch = Challenge(1, 6, 2)
    a, b = system(ch)
    x = solve(ch)
    rng = np.random.default_rng(0)
    assert "shape" in verify(a, b, x[:, :1], 4, rng).reason
    assert "dtype" in verify(a, b, x.astype(np.float32), 4, rng).reason
    nan = x.copy()
    nan[0, 0] = np.nan
    assert "non-finite" in verify(a, b, nan, 4, rng).reason


def test_wire_round_trip_and_bad_payloads() -> None:
    ch = Challenge(11, 5, 2)
    x = solve(ch)
    resp = SolveResponse.model_validate_json(SolveResponse.of(x).model_dump_json())
    assert np.array_equal(resp.array(ch), x)
    assert SolveRequest.of(ch).challenge() == ch
    assert SolveRequest.model_validate({"seed": 1, "n": 3}).k == 1
    for bad in (
        SolveResponse(shape=(5, 1), data=resp.data),
        SolveResponse(shape=(5, 2), dtype="float32", data=resp.data),
        SolveResponse(shape=(5, 2), data=resp.data[:-8]),
        SolveResponse(shape=(5, 2), data="not base64!"),
    ):
        with pytest.raises(ValueError):
            bad.array(ch)


def _result(
    uid: int, resp: SolveResponse | None, latency: float | None
) -> QueryResult[SolveResponse]:
    err = None if resp else "timeout"
    return QueryResult(uid=uid, hotkey=f"hk{uid}", response=resp, latency_s=latency, error=err)


def test_miner_handler_answers_refuses_and_injects_faults() -> None:
    req = SolveRequest(seed=4, n=16, k=2)
    caller = Caller("5abc", 0, 0)
    ch = req.challenge()
    a, b = system(ch)
    rng = np.random.default_rng(0)
    good = asyncio.run(LinsolveMiner().handle(req, caller))
    assert verify(a, b, good.array(ch), 8, rng)
    bad = asyncio.run(LinsolveMiner(fault=Fault(wrong=True)).handle(req, caller))
    assert not verify(a, b, bad.array(ch), 8, rng)
    with pytest.raises(Refused):
        asyncio.run(LinsolveMiner(max_n=8).handle(req, caller))
    with pytest.raises(ConfigError, match="SUBNETES_LINSOLVE_FAULT"):
        Fault.parse("broken", "SUBNETES_LINSOLVE_FAULT")


def test_validator_scores_right_fast_answers_and_zeroes_wrong_ones() -> None:
    logic = LinsolveLogic(n=12, k=3, rounds=8, rng=np.random.default_rng(5))
    req, ch = logic.make_task()
    assert (req.n, req.k) == (12, 3) and req.challenge() == ch
    x = solve(ch)
    wrong = x.copy()
    wrong[3, 1] -= 0.01
    scores = logic.score(
        ch,
        [
            _result(0, SolveResponse.of(x), 0.01),
            _result(1, SolveResponse.of(x), 0.02),
            _result(2, SolveResponse.of(wrong), 0.005),
            _result(3, None, None),
        ],
    )
    assert scores == pytest.approx({0: 1.0, 1: 0.5, 2: 0.0, 3: 0.0})
    assert parse_size("64") == (64, 1) and parse_size("64,4") == (64, 4)
    for bad in ("", "0", "64,65", "a,b", "1,2,3"):
        with pytest.raises(ConfigError):
            parse_size(bad)
    env_logic = logic_from_env({"SUBNETES_LINSOLVE_SIZE": "32,2", "SUBNETES_LINSOLVE_ROUNDS": "4"})
    assert (env_logic.n, env_logic.k, env_logic.rounds) == (32, 2, 4)


def test_gateway_capability_verifies_with_the_subnets_check() -> None:
    cap = builtin(["linsolve"], linsolve_max_n=64)["linsolve"]
    assert isinstance(cap, LinsolveCapability) and cap.route == "linsolve"
    req = SolveRequest(seed=9, n=20, k=1)
    x = solve(req.challenge())
    assert cap.verify(req, SolveResponse.of(x))
    assert not cap.verify(req, SolveResponse.of(x + 1e-6))
    assert not cap.verify(req, SolveResponse(shape=(19, 1), data=SolveResponse.of(x).data))
    assert cap.too_large(SolveRequest(seed=1, n=65)) == "n must be <= 64 on this gateway"
    assert cap.too_large(req) is None
    assert sorted(builtin(["matmul", "linsolve"])) == ["linsolve", "matmul"]


def test_bench_measures_tiny_sizes_and_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    from subnetes.workloads.linsolve.bench import main, measure

    row = measure(16, 2, rounds=4, repeat=1)
    assert row.solve_ms > 0 and row.check_ms > 0 and row.ratio > 0
    assert main(["--sizes", "8,16", "--k", "1", "--repeat", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["n", "k", "solve", "ms", "check", "ms", "gen", "ms", "solve/check"]
    assert [ln.split()[:2] for ln in lines[1:]] == [["8", "1"], ["16", "1"]]
    with pytest.raises(SystemExit):
        main(["--sizes", "0"])
