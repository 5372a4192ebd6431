"""Number formats of docs/specs/interfaces.md: rao <-> TAO strings, u16 fractions."""

import pytest

from subnetes.chain.units import (
    float_to_fraction,
    rao_to_tao,
    tao_to_rao,
    u16_to_fraction,
)


@pytest.mark.parametrize(
    ("text", "rao"),
    [("0", 0), ("1", 10**9), ("1.5", 1_500_000_000), ("0.000000001", 1), ("21000000", 21 * 10**15)],
)
def test_tao_to_rao_exact(text: str, rao: int) -> None:
    assert tao_to_rao(text) == rao


@pytest.mark.parametrize("bad", ["-1", "1e3", "0.0000000001", "01", "", "1.", " abc"])
def test_tao_to_rao_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        tao_to_rao(bad)


def test_rao_to_tao_has_nine_decimals() -> None:
    assert rao_to_tao(41_000_000) == "0.041000000"
    assert rao_to_tao(0) == "0.000000000"
    assert rao_to_tao(1_500_000_000) == "1.500000000"
    assert tao_to_rao(rao_to_tao(123_456_789_012)) == 123_456_789_012


def test_u16_fraction_six_decimals() -> None:
    assert u16_to_fraction(0) == "0.000000"
    assert u16_to_fraction(65535) == "1.000000"
    assert u16_to_fraction(32767) == "0.499992"
    assert u16_to_fraction(2761) == "0.042130"


def test_float_fraction_clamped() -> None:
    assert float_to_fraction(0.0421371) == "0.042137"
    assert float_to_fraction(1.2) == "1.000000"
    assert float_to_fraction(-0.1) == "0.000000"
