"""Units, declared once: rao amounts, TAO decimal strings and u16 fractions.

A leaf module (the standard library and ``subnetes.wire.units``, where the numbers are
declared) so that the chain, the operator, the SDK, consensus and the
workloads share one definition without importing the chain's state machine
(docs/specs/interfaces.md, "Units and number formats"):

* amounts are integers in rao, 1 TAO = 10^9 rao; text carries TAO as a decimal string with at
  most 9 decimals, written with exactly 9 (``"0.041000000"``);
* fractions are u16 integers, 65535 = 1.0; status carries them as 6-decimal strings in [0, 1].

Parsing is exact (digits, never floats or ``Decimal`` exponents), so ``"1e3"``, ``"nan"`` or a
tenth decimal are errors rather than rounded amounts.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

# The numbers are declared in the wire contract (a leaf too); this module adds the conversions.
from subnetes.wire.units import (
    FRACTION_DECIMALS,
    RAO_PER_TAO,
    SHARE_ONE,
    TAO_DECIMALS,
    TOTAL_SUPPLY,
    U16_MAX,
    U64_MAX,
)

__all__ = [
    "FRACTION_DECIMALS",
    "RAO_PER_TAO",
    "SHARE_ONE",
    "TAO_DECIMALS",
    "TOTAL_SUPPLY",
    "U16_MAX",
    "U64_MAX",
    "float_to_fraction",
    "fmt_tao",
    "parts_to_fraction",
    "rao_to_tao",
    "tao",
    "tao_to_rao",
    "u16_fraction",
    "u16_to_float",
    "u16_to_fraction",
]

# The canonical TAO string of spec and status (the CRD pattern without its length cap):
# no sign, no leading zeros, no exponent, 1 to 9 decimals after a point.
_TAO_RE = re.compile(r"^(0|[1-9][0-9]*)(\.([0-9]{1,9}))?$")
_FRACTION_QUANTUM = Decimal("0.000001")


def _bad_tao(amount: object) -> ValueError:
    return ValueError(f"not a TAO amount with at most 9 decimals: {amount!r}")


def tao(amount: int | float | str) -> int:
    """TAO to rao, leniently (command line, tests): ``5``, ``"1.5"``, ``"-2"``, ``".5"``, ``"1."``.

    An int is whole TAO; a float goes through its ``str`` (so ``0.1`` is exact, ``1e-05`` is
    rejected). Raises ValueError on more than 9 decimals or anything but digits and a point.
    """
    if isinstance(amount, int):
        return amount * RAO_PER_TAO
    text = str(amount).strip()
    neg = text.startswith("-")
    if neg:
        text = text[1:]
    whole, _, frac = text.partition(".")
    if len(frac) > TAO_DECIMALS or not (whole or frac) or not (whole + frac).isdigit():
        raise _bad_tao(amount)
    rao = int(whole or "0") * RAO_PER_TAO + int(frac.ljust(TAO_DECIMALS, "0") or "0")
    return -rao if neg else rao


def tao_to_rao(text: str) -> int:
    """Parse a spec/status TAO string (``"1.5"``, at most 9 decimals) into rao, exactly.

    Strict: raises ValueError on anything the CRD pattern rejects (sign, exponent, leading
    zero, a bare point, more than 9 decimals). Surrounding whitespace is ignored.
    """
    if _TAO_RE.match(text.strip()) is None:
        raise _bad_tao(text)
    return tao(text)


def fmt_tao(rao: int) -> str:
    """rao to a decimal TAO string with 9 decimals, e.g. ``0.041000000``; negatives keep a sign."""
    sign = "-" if rao < 0 else ""
    rao = abs(rao)
    return f"{sign}{rao // RAO_PER_TAO}.{rao % RAO_PER_TAO:09d}"


def rao_to_tao(rao: int) -> str:
    """rao as a status TAO string with exactly 9 decimals, e.g. 41_000_000 → ``"0.041000000"``.

    Raises ValueError on a negative amount: status never carries one (the CRD pattern has no sign).
    """
    if rao < 0:
        raise ValueError("negative amounts never appear in status")
    return fmt_tao(int(rao))


def u16_fraction(x: float) -> int:
    """A fraction in [0, 1] as the u16 integer Subtensor stores (truncated, clamped)."""
    return max(0, min(U16_MAX, int(x * U16_MAX)))


def u16_to_float(v: int) -> float:
    """A stored u16 fraction back to a float."""
    return v / U16_MAX


def parts_to_fraction(value: int, whole: int) -> str:
    """``value / whole`` as a status fraction: 6 decimals, clamped to [0, 1], half-even."""
    return _fraction(Decimal(int(value)) / Decimal(int(whole)))


def u16_to_fraction(value: int) -> str:
    """A u16 fraction as a 6-decimal string in [0, 1], e.g. 2761 → ``"0.042130"``."""
    return parts_to_fraction(value, U16_MAX)


def float_to_fraction(value: float) -> str:
    """A float fraction (some chain outputs are floats) as a 6-decimal string in [0, 1]."""
    return _fraction(Decimal(repr(float(value))))


def _fraction(x: Decimal) -> str:
    # Clamp so the CRD's pattern (0.xxxxxx or 1.000000) always holds.
    x = min(max(x, Decimal(0)), Decimal(1))
    return str(x.quantize(_FRACTION_QUANTUM, rounding=ROUND_HALF_EVEN))
