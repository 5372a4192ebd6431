"""Units used in chain state: rao amounts and u16 fractions (integers only)."""

from __future__ import annotations

RAO_PER_TAO = 1_000_000_000
U16_MAX = 65_535
U64_MAX = 2**64 - 1
TOTAL_SUPPLY = 21_000_000 * RAO_PER_TAO


def tao(amount: int | float | str) -> int:
    """Whole/decimal TAO to rao (exact for decimal strings with at most 9 decimals)."""
    if isinstance(amount, int):
        return amount * RAO_PER_TAO
    text = str(amount).strip()
    neg = text.startswith("-")
    if neg:
        text = text[1:]
    whole, _, frac = text.partition(".")
    if len(frac) > 9 or not (whole or frac) or not (whole + frac).isdigit():
        raise ValueError(f"not a TAO amount with at most 9 decimals: {amount!r}")
    rao = int(whole or "0") * RAO_PER_TAO + int(frac.ljust(9, "0") or "0")
    return -rao if neg else rao


def fmt_tao(rao: int) -> str:
    """rao to a decimal TAO string with 9 decimals, e.g. ``0.041000000``."""
    sign = "-" if rao < 0 else ""
    rao = abs(rao)
    return f"{sign}{rao // RAO_PER_TAO}.{rao % RAO_PER_TAO:09d}"


def u16_fraction(x: float) -> int:
    """A fraction in [0, 1] as the u16 integer Subtensor stores."""
    return max(0, min(U16_MAX, int(x * U16_MAX)))


def u16_to_float(v: int) -> float:
    """A stored u16 fraction back to a float."""
    return v / U16_MAX
