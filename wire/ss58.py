"""SS58 addresses: the one check of what the chain accepts as an account or hotkey address.

One key is one account: the chain accepts an address only in its own network format (42,
Substrate's generic format, what Bittensor uses) and only in its canonical spelling. An
address of the same public key in another format (Polkadot's 0, Kusama's 2, ...) is refused,
not normalised, so every account, stake and UID is keyed by exactly one string per key
(docs/specs/interfaces.md, "Addresses").
"""

from __future__ import annotations

import hashlib

SS58_FORMAT = 42  # Substrate's generic format, what Bittensor uses
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_PREFIX = b"SS58PRE"
MAX_SS58_CHARS = 64  # a 35-byte address is 47 or 48 characters; bounds the decoding work


def _b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _ALPHABET[r] + out
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + out


def _b58decode(text: str) -> bytes:
    n = 0
    for c in text:
        i = _INDEX.get(c)
        if i is None:
            raise ValueError(f"{c!r} is not a base58 character")
        n = n * 58 + i
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * pad + body


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(_PREFIX + payload, digest_size=64).digest()[:2]


def encode_ss58(public_key: bytes, ss58_format: int = SS58_FORMAT) -> str:
    """The SS58 address of a 32-byte public key in ``ss58_format`` (0..63, one prefix byte)."""
    if len(public_key) != 32 or not 0 <= ss58_format < 64:
        raise ValueError("need a 32-byte public key and a format in [0, 63]")
    payload = bytes([ss58_format]) + public_key
    return _b58encode(payload + _checksum(payload))


def format_of(value: str) -> int | None:
    """The network format of a well-formed single-byte-prefix SS58 address of a 32-byte key
    (any network), or None: lets tools say "another network's address" instead of "unknown"."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_SS58_CHARS:
        return None
    try:
        raw = _b58decode(value)
    except ValueError:
        return None
    if len(raw) != 35 or raw[0] >= 64 or _checksum(raw[:33]) != raw[33:]:
        return None
    return raw[0]


def decode_ss58(value: str) -> bytes:
    """The 32-byte public key of a format-42 address in canonical spelling; ValueError else."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_SS58_CHARS:
        raise ValueError("not an SS58 address")
    raw = _b58decode(value)
    if len(raw) != 35:
        raise ValueError("not a 32-byte account address")
    payload, check = raw[:33], raw[33:]
    if _checksum(payload) != check:
        raise ValueError("bad SS58 checksum")
    if payload[0] != SS58_FORMAT:
        raise ValueError(f"SS58 format {payload[0]}, this chain accepts only {SS58_FORMAT}")
    if encode_ss58(payload[1:]) != value:  # one spelling per key (no padded variants)
        raise ValueError("not the canonical spelling of the address")
    return payload[1:]


def is_ss58(value: str) -> bool:
    """True for a valid SS58 address of a 32-byte key in format 42, canonically spelt."""
    try:
        decode_ss58(value)
    except ValueError:
        return False
    return True
