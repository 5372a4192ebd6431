"""SS58 addresses: the one check of what the chain accepts as an account or hotkey address."""

from __future__ import annotations

from bittensor_wallet import Keypair

SS58_FORMAT = 42  # Substrate's generic format, what Bittensor uses


def is_ss58(value: str) -> bool:
    """True for a valid SS58 address (format 42)."""
    try:
        return Keypair(ss58_address=value).ss58_format == SS58_FORMAT
    except Exception:
        return False
