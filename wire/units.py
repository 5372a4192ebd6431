"""The numbers of the units every part of Subnetes speaks, declared once.

rao amounts (1 TAO = 10^9 rao), u16 fractions (65535 = 1.0), u64 fractions and the emission-share
denominator. They live in the leaf package so that contract tables such as
``subnetes.wire.hyperparams`` can state ranges in them; the conversions (TAO strings, fraction
strings) are in ``subnetes.chain.units``, which re-exports these names.
"""

from __future__ import annotations

RAO_PER_TAO = 1_000_000_000
TAO_DECIMALS = 9
U16_MAX = 65_535
U64_MAX = 2**64 - 1
TOTAL_SUPPLY = 21_000_000 * RAO_PER_TAO
# A subnet's emission share of each block, in parts per SHARE_ONE (not rao: same number, other unit).
SHARE_ONE = 1_000_000_000
FRACTION_DECIMALS = 6
