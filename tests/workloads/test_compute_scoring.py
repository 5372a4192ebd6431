"""Scoring: wrong answers score 0, faster correct answers score more; weights as u16."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subnetes.sdk.weights import U16_MAX, ema_update, normalized, to_u16_weights
from subnetes.workloads.compute.scoring import MIN_LATENCY_S, Outcome, round_scores


def test_wrong_and_missing_score_zero_faster_scores_more() -> None:
    s = round_scores(
        [
            Outcome(0, True, 0.1),
            Outcome(1, True, 0.2),
            Outcome(2, False, 0.01),  # fastest but wrong
            Outcome(3, True, None),  # no answer
            Outcome(4, False, None),
        ]
    )
    assert s == {0: 1.0, 1: 0.5, 2: 0.0, 3: 0.0, 4: 0.0}


def test_sharpness_and_latency_floor() -> None:
    s = round_scores([Outcome(0, True, 0.0), Outcome(1, True, MIN_LATENCY_S * 4)], sharpness=2)
    assert s == {0: 1.0, 1: pytest.approx(1 / 16)}


def test_nobody_correct() -> None:
    assert round_scores([Outcome(0, False, 0.1)]) == {0: 0.0}
    assert round_scores([]) == {}


@given(
    st.lists(
        st.tuples(st.booleans(), st.one_of(st.none(), st.floats(0, 100))),
        min_size=1,
        max_size=20,
    )
)
def test_scores_properties(rows: list[tuple[bool, float | None]]) -> None:
    outs = [Outcome(i, ok, lat) for i, (ok, lat) in enumerate(rows)]
    s = round_scores(outs)
    assert set(s) == {o.uid for o in outs}
    for o in outs:
        assert 0.0 <= s[o.uid] <= 1.0
        if not o.correct or o.latency_s is None:
            assert s[o.uid] == 0.0
    for x in outs:  # monotone: among correct answers, slower never scores more
        for y in outs:
            if s[x.uid] > 0 and s[y.uid] > 0 and x.latency_s < y.latency_s:
                assert s[x.uid] >= s[y.uid]


def test_ema() -> None:
    e = ema_update({}, {1: 1.0, 2: 0.0}, alpha=0.5)
    assert e == {1: 1.0, 2: 0.0}
    e = ema_update(e, {1: 0.0, 3: 0.4}, alpha=0.5)
    assert e == {1: 0.5, 2: 0.0, 3: 0.4}
    with pytest.raises(ValueError):
        ema_update({}, {}, alpha=0)


def test_u16_weights() -> None:
    uids, values = to_u16_weights({5: 0.5, 1: 1.0, 2: 0.0, 3: -1.0, 4: float("nan"), 6: 1e-9})
    assert uids == [1, 5] and values == [U16_MAX, 32768]
    assert to_u16_weights({1: 0.0}) == ([], [])
    assert normalized([1, 3]) == [0.25, 0.75] and normalized([]) == []


@given(st.dictionaries(st.integers(0, 4095), st.floats(0, 1e6), max_size=64))
def test_u16_weights_properties(scores: dict[int, float]) -> None:
    uids, values = to_u16_weights(scores)
    assert uids == sorted(uids) and len(uids) == len(values)
    assert all(0 < v <= U16_MAX for v in values)
    if values:
        assert max(values) == U16_MAX
