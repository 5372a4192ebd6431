"""Helpers shared by the SDK tests (a uniquely named module, imported by basename)."""

from __future__ import annotations

from bittensor_wallet import Keypair

NETUID = 3


def kp(name: str) -> Keypair:
    """A deterministic test keypair."""
    return Keypair.create_from_uri(f"//sdk-{name}")
