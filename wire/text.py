"""Text the chain stores and the tools print: the one definition of an unsafe character.

The chain refuses control and formatting characters in every string argument it stores
(:func:`is_plain_text`), and every CLI prints text from the chain through :func:`printable`, so
a hostile string stored before that check (an old database) still cannot reach the terminal as
escape sequences, line breaks or bidirectional overrides.
"""

from __future__ import annotations

import unicodedata

# Cc: C0/C1 controls (ESC, CR, LF, BEL, DEL, CSI ...); Cf: format characters (bidi overrides,
# zero-width joiners); Cs/Co: surrogates and private use; Zl/Zp: line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def is_unsafe_char(c: str) -> bool:
    """True for a character that may move the cursor, recolour, or reorder what is shown."""
    return unicodedata.category(c) in _UNSAFE_CATEGORIES


def is_plain_text(value: str, max_len: int = 256) -> bool:
    """True for a string of at most ``max_len`` characters without any unsafe character."""
    return len(value) <= max_len and not any(is_unsafe_char(c) for c in value)


def printable(value: object) -> str:
    """``str(value)`` with every unsafe character shown as its escape (``\\x1b``, ``\\u202e``),
    so nothing it holds acts on the terminal and nothing is hidden."""
    s = str(value)
    if not any(is_unsafe_char(c) for c in s):
        return s
    return "".join(_escape(c) if is_unsafe_char(c) else c for c in s)


def _escape(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"
