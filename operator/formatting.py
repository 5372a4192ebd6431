"""Number formats between chain integers and CRD strings (specs/interfaces.md, "Units").

The chain speaks integers only: rao (1 TAO = 10^9 rao) and u16 fractions (65535 = 1.0).
Spec and status carry decimal strings so that no float ever enters a manifest.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

RAO_PER_TAO = 1_000_000_000
U16_MAX = 65_535

_TAO_RE = re.compile(r"^(0|[1-9][0-9]*)(\.([0-9]{1,9}))?$")


def tao_to_rao(text: str) -> int:
    """Parse a spec TAO string (``"1.5"``, at most 9 decimals) into rao, exactly.

    Raises ValueError on anything the CRD pattern would reject (sign, exponent, >9 decimals).
    """
    m = _TAO_RE.match(text.strip())
    if m is None:
        raise ValueError(f"not a TAO amount with at most 9 decimals: {text!r}")
    whole = int(m.group(1))
    frac = (m.group(3) or "").ljust(9, "0")
    return whole * RAO_PER_TAO + int(frac)


def rao_to_tao(rao: int) -> str:
    """Format rao as a TAO string with exactly 9 decimals, e.g. 41_000_000 → ``"0.041000000"``."""
    if rao < 0:
        raise ValueError("negative amounts never appear in status")
    whole, frac = divmod(int(rao), RAO_PER_TAO)
    return f"{whole}.{frac:09d}"


def u16_to_fraction(value: int) -> str:
    """Format a u16 fraction as a 6-decimal string in [0, 1], e.g. 2761 → ``"0.042130"``."""
    return _fraction(Decimal(int(value)) / Decimal(U16_MAX))


def float_to_fraction(value: float) -> str:
    """Format a float fraction (some chain outputs are floats) as a 6-decimal string."""
    return _fraction(Decimal(repr(float(value))))


def _fraction(x: Decimal) -> str:
    # Clamp so the CRD's pattern (0.xxxxxx or 1.000000) always holds.
    x = min(max(x, Decimal(0)), Decimal(1))
    return str(x.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))
