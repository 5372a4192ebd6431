"""The headless demo's story lines (pure): each line says what happened and why (issue 14 #5)."""

from __future__ import annotations

import socket
from typing import Any

from rich.console import Console

from subnetes.chain.units import RAO_PER_TAO, U16_MAX
from subnetes.localnet.demo import DEMO_FAULTS, http_ready, load_example, render, with_faults
from subnetes.localnet.demo_story import Story, miners_earned

TAO = RAO_PER_TAO


def row(uid: int, hotkey: str, **kw: Any) -> dict[str, Any]:
    base = {
        "uid": uid, "hotkey": hotkey, "stake": 0, "incentive": 0, "dividends": 0,
        "emission": 0, "total_emission": 0, "weights_block": -1, "registered_at": 10,
    }  # fmt: skip
    return {**base, **kw}


PHASES = {
    "m0": ("Miner", "miner-0", "Registered"),
    "m3": ("Miner", "miner-3", "Registered"),
    "va": ("Validator", "validator-a", "Registered"),
    "vb": ("Validator", "validator-b", "Registered"),
}


def snap(block: int, m0: dict[str, Any], va: dict[str, Any], vb: dict[str, Any]) -> dict:
    return {
        "block": block,
        "netuid": 1,
        "phases": PHASES,
        "faults": {"miner-3": "wrong"},
        "neurons": [
            row(0, "owner"),
            row(1, "m0", **m0),
            row(2, "m3"),
            row(3, "va", stake=137 * TAO, **va),
            row(4, "vb", stake=58 * TAO, **vb),
        ],
    }


def test_wrong_miner_is_named_with_its_reason() -> None:
    lines = Story().observe(
        snap(65, {"incentive": U16_MAX, "total_emission": TAO}, {"total_emission": TAO}, {})
    )
    (m3,) = [line for line in lines if "miner-3" in line]
    assert "wrong by design" in m3 and "SUBNETES_COMPUTE_FAULT=wrong" in m3
    assert "Freivalds" in m3 and "earns nothing" in m3
    (m0,) = [line for line in lines if "miner-0" in line]
    assert "by design" not in m0 and "1.0000 τ so far" in m0


def test_earned_is_cumulative_and_does_not_flip_between_epochs() -> None:
    # The old demo judged the last epoch's `emission`: 0 in the second snapshot, so False.
    story = Story()
    first = story.observe(snap(65, {"emission": TAO, "total_emission": TAO}, {}, {}))
    second = story.observe(snap(76, {"emission": 0, "total_emission": 2 * TAO}, {}, {}))
    for lines, epoch in ((first, 1), (second, 2)):
        (summary,) = [line for line in lines if line.startswith("block ")]
        assert f"epoch {epoch}" in summary and "miners earned: True" in summary
    s = snap(76, {"emission": 0, "total_emission": 2 * TAO}, {}, {})
    assert miners_earned(s)
    # The wrong-by-design miner never counts as an earning (honest) miner.
    assert "1 of 1 honest miners" in second[0]


def test_no_epoch_without_new_emission_and_legend_once() -> None:
    story = Story()
    s = snap(65, {"total_emission": TAO}, {}, {})
    first = story.observe(s)
    assert first[0].startswith("how to read this") and "cumulative emission" in first[0]
    assert story.observe(s) == []  # nothing new paid: no epoch line
    later = story.observe(snap(76, {"total_emission": 2 * TAO}, {}, {}))
    assert not any(line.startswith("how to read this") for line in later)


def test_honest_miner_without_emission_says_why() -> None:
    lines = Story().observe(snap(65, {"registered_at": 40}, {"total_emission": TAO}, {}))
    (m0,) = [line for line in lines if "miner-0" in line]
    assert "no validator weight yet" in m0 and "block 40" in m0
    assert "miners earned: False" in lines[1]
    (why,) = [line for line in lines if "0% dividends" in line]
    assert "no miner has consensus weight yet" in why and "in proportion to stake" in why


def test_early_weight_setter_dividends_are_explained() -> None:
    story = Story()
    story.observe(snap(30, {}, {"weights_block": 22}, {}))  # no emission yet: remembered
    lines = story.observe(
        snap(
            65,
            {"total_emission": TAO},
            {"weights_block": 60, "dividends": int(0.93 * U16_MAX), "total_emission": TAO},
            {"weights_block": 61, "dividends": int(0.07 * U16_MAX), "total_emission": TAO // 14},
        )
    )
    (va,) = [line for line in lines if "validator-a" in line and "UID" in line]
    assert "first set weights at block 22" in va and "dividends 93%" in va
    (why,) = [line for line in lines if "why validator-a's dividends exceed" in line]
    assert "bonds" in why and "first (block 22)" in why and "early weight setters" in why


def test_late_weight_setter_with_more_dividends_is_not_called_early() -> None:
    story = Story()
    story.observe(snap(30, {}, {"weights_block": 22}, {"weights_block": 20}))
    lines = story.observe(
        snap(
            65,
            {"total_emission": TAO},
            {"dividends": int(0.93 * U16_MAX), "total_emission": TAO},
            {"dividends": int(0.07 * U16_MAX), "total_emission": TAO // 14},
        )
    )
    (why,) = [line for line in lines if "why validator-a's dividends exceed" in line]
    assert "first" not in why and "consensus" in why
    # Dividends in line with stake: nothing to explain.
    even = Story().observe(
        snap(
            65,
            {"total_emission": TAO},
            {"dividends": int(0.7 * U16_MAX), "total_emission": TAO},
            {"dividends": int(0.3 * U16_MAX), "total_emission": TAO},
        )
    )
    assert not any("why" in line for line in even)


def test_demo_applies_the_example_with_its_faults_only() -> None:
    docs = load_example()
    listed = with_faults(docs, DEMO_FAULTS)
    assert [d["metadata"]["name"] for d in listed["items"]] == [d["metadata"]["name"] for d in docs]
    for d in listed["items"]:
        env = [
            e
            for c in (d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []))
            for e in c.get("env") or []
            if e["name"] == "SUBNETES_COMPUTE_FAULT"
        ]
        expected = DEMO_FAULTS.get(d["metadata"]["name"]) if d["kind"] == "Miner" else None
        assert env == ([{"name": "SUBNETES_COMPUTE_FAULT", "value": expected}] if expected else [])
    assert not any("env" in str(d) for d in docs)  # the files as read stay untouched


def test_chain_readiness_needs_an_answer_not_just_the_ready_file() -> None:
    # The chain writes its ready file before it listens: a closed port is not ready.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert http_ready(f"http://127.0.0.1:{port}") is False


def test_live_view_names_the_wrong_miner_and_shows_cumulative_earnings() -> None:
    console = Console(width=200, record=True)
    console.print(render(snap(65, {"total_emission": 3 * TAO}, {}, {})))
    text = console.export_text()
    assert "miner-3: wrong by design" in text and "EARNED" in text and "3.000000" in text
