"""The one units module: rao <-> TAO strings, u16 fractions, and that nobody redeclares them."""

from __future__ import annotations

import ast
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subnetes.chain import units
from subnetes.chain.units import (
    RAO_PER_TAO,
    U16_MAX,
    fmt_tao,
    parts_to_fraction,
    rao_to_tao,
    tao,
    tao_to_rao,
    u16_fraction,
    u16_to_float,
    u16_to_fraction,
)

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("chain", "operator", "sdk", "consensus", "workloads", "subnetes", "localnet", "wire")
# The numbers are declared in the wire contract, the conversions in the chain's units module.
DECLARING = {Path("wire/units.py"): "numbers", Path("chain/units.py"): "conversions"}
UNIT_NAMES = {"RAO_PER_TAO", "U16_MAX", "U64_MAX", "TOTAL_SUPPLY", "SHARE_ONE"}
UNIT_FUNCS = {"tao", "tao_to_rao", "rao_to_tao", "fmt_tao", "u16_to_fraction", "float_to_fraction"}


def test_constants() -> None:
    assert RAO_PER_TAO == 10**9 and U16_MAX == 2**16 - 1
    assert units.TOTAL_SUPPLY == 21_000_000 * RAO_PER_TAO


def test_units_is_a_leaf() -> None:
    """Importing units must not pull in the chain's state machine or any third-party package."""
    code = (
        "import sys; import subnetes.chain.units; "
        "print(sorted(m for m in sys.modules if m.startswith('subnetes')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (
        "['subnetes', 'subnetes.chain', 'subnetes.chain.units', 'subnetes.wire', "
        "'subnetes.wire.units']"
    )


def test_declared_once() -> None:
    """Only wire/units.py assigns a unit constant; only chain/units.py defines a conversion."""
    found = []
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            allowed = DECLARING.get(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                targets = node.targets if isinstance(node, ast.Assign) else []
                if isinstance(node, ast.AnnAssign):
                    targets = [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                # operator/crds/common.py has schema builders named tao(); they take a description.
                if (
                    isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    and node.name in UNIT_FUNCS
                    and not path.match("operator/crds/*.py")
                ):
                    names.add(node.name)
                if allowed == "numbers":
                    names -= UNIT_NAMES
                elif allowed == "conversions":
                    names -= UNIT_FUNCS
                found += [
                    f"{path.relative_to(ROOT)}: {n}" for n in names & (UNIT_NAMES | UNIT_FUNCS)
                ]
    assert found == []


@pytest.mark.parametrize(
    ("text", "rao"),
    [
        ("0", 0),
        ("1", RAO_PER_TAO),
        ("1.5", 1_500_000_000),
        ("0.000000001", 1),
        ("0.1", 100_000_000),
        ("21000000", units.TOTAL_SUPPLY),
        (" 2.25\n", 2_250_000_000),
    ],
)
def test_tao_to_rao_exact(text: str, rao: int) -> None:
    assert tao_to_rao(text) == rao
    assert tao(text) == rao


@pytest.mark.parametrize(
    "bad", ["-1", "+1", "1e3", "nan", "inf", "0.0000000001", "01", "", "1.", ".5", " abc", "1,5"]
)
def test_tao_to_rao_rejects_what_the_crd_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="not a TAO amount with at most 9 decimals"):
        tao_to_rao(bad)


def test_tao_is_lenient_for_the_command_line() -> None:
    # The CLI and tests pass ints, floats, signs and bare points; the spec parser refuses them.
    assert tao(5) == 5 * RAO_PER_TAO
    assert tao(0.1) == 100_000_000  # through str(0.1) == "0.1": exact, no float error
    assert tao("-2") == -2 * RAO_PER_TAO
    assert tao(".5") == tao("1.") // 2 == 500_000_000
    assert tao("007") == 7 * RAO_PER_TAO
    for bad in ("1e-05", 1e-05, "0.0000000001", "", "-", ".", "1.2.3", "--1"):
        with pytest.raises(ValueError, match="not a TAO amount"):
            tao(bad)


def test_rao_to_tao_nine_decimals() -> None:
    assert rao_to_tao(41_000_000) == "0.041000000"
    assert rao_to_tao(0) == "0.000000000"
    assert rao_to_tao(units.TOTAL_SUPPLY) == "21000000.000000000"
    with pytest.raises(ValueError, match="negative"):
        rao_to_tao(-1)
    # fmt_tao is the signed form the chain's messages and CLI print.
    assert fmt_tao(-1) == "-0.000000001"
    assert fmt_tao(-1_500_000_000) == "-1.500000000"


@given(st.integers(min_value=0, max_value=10**18))
def test_round_trip_rao(rao: int) -> None:
    assert tao_to_rao(rao_to_tao(rao)) == rao
    assert tao(fmt_tao(rao)) == rao


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_round_trip_signed(rao: int) -> None:
    assert tao(fmt_tao(rao)) == rao


@given(st.from_regex(r"(0|[1-9][0-9]{0,7})(\.[0-9]{1,9})?", fullmatch=True))
def test_canonical_strings_round_trip(text: str) -> None:
    printed = rao_to_tao(tao_to_rao(text))
    assert Decimal(printed) == Decimal(text) and len(printed.partition(".")[2]) == 9


def test_u16_fractions() -> None:
    assert u16_fraction(0.0) == 0 and u16_fraction(1.0) == U16_MAX
    assert u16_fraction(0.5) == 32767  # truncated, as the chain stores it
    assert u16_fraction(-0.2) == 0 and u16_fraction(1.7) == U16_MAX
    assert u16_to_float(U16_MAX) == 1.0
    assert u16_to_fraction(32767) == "0.499992"
    assert u16_to_fraction(U16_MAX) == "1.000000"
    assert u16_to_fraction(U16_MAX + 1) == "1.000000"  # clamped to the CRD pattern


@given(st.integers(min_value=0, max_value=U16_MAX))
def test_u16_round_trip(v: int) -> None:
    assert u16_fraction(u16_to_float(v) + 1e-12) == v
    assert abs(float(u16_to_fraction(v)) - v / U16_MAX) <= 5e-7


def test_parts_to_fraction_half_even() -> None:
    # Emission shares are parts per 1e9: 0.0000005 rounds to even (down), 0.0000015 up.
    assert parts_to_fraction(500, 10**9) == "0.000000"
    assert parts_to_fraction(1_500, 10**9) == "0.000002"
    assert parts_to_fraction(2 * 10**9, 10**9) == "1.000000"
    assert parts_to_fraction(-5, 10**9) == "0.000000"
