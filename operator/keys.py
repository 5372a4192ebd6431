"""Hotkeys and coldkeys from Secrets (formats of docs/specs/interfaces.md, "Keys and Secrets").

Key material stays inside these functions and the Keypair objects they return: nothing here logs,
and errors name the Secret and data key, never the contents.
"""

from __future__ import annotations

import functools

from bittensor_wallet import Keypair
from bittensor_wallet.keyfile import (
    decrypt_keyfile_data,
    deserialize_keypair_from_keyfile_data,
    keyfile_data_is_encrypted,
    serialized_keypair_to_keyfile_data,
)

from .labels import HOTKEY_KEY

COLDKEY_KEY = "coldkey"
PASSWORD_KEY = "password"


class SecretKeyError(Exception):
    """A Secret is missing a data key or holds something that is not a usable key.

    ``reason`` is a CamelCase condition reason; the message never includes key material.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def new_hotkey() -> tuple[Keypair, bytes]:
    """A fresh sr25519 hotkey and its btcli hotkey-file bytes (to store in a Secret)."""
    kp = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    return kp, serialized_keypair_to_keyfile_data(kp)


def hotkey_from_secret(secret_name: str, data: dict[str, bytes]) -> Keypair:
    """The hotkey in a Secret's decoded ``data`` (key ``hotkey``: btcli hotkey file JSON)."""
    raw = data.get(HOTKEY_KEY)
    if not raw:
        raise SecretKeyError(
            "InvalidHotkeySecret", f"Secret {secret_name} has no data key {HOTKEY_KEY!r}"
        )
    kp, problem = _hotkey_keypair(bytes(raw))
    if problem == "format":
        raise SecretKeyError(
            "InvalidHotkeySecret",
            f"Secret {secret_name} key {HOTKEY_KEY!r} is not a btcli hotkey file",
        )
    if problem == "public":
        raise SecretKeyError(
            "InvalidHotkeySecret", f"Secret {secret_name} holds a public key only (no secret seed)"
        )
    assert kp is not None
    return kp


# Enough for every neuron of a 5,000-neuron fleet and its turnover (a few MB of key objects).
HOTKEY_CACHE_SIZE = 8192


@functools.lru_cache(maxsize=HOTKEY_CACHE_SIZE)
def _hotkey_keypair(raw: bytes) -> tuple[Keypair | None, str | None]:
    """(keypair, None) for a btcli hotkey file's bytes, or (None, "format" | "public").

    Cached by the Secret's bytes: every reconcile reads the hotkey, and deriving the sr25519
    keypair and test-signing with it took 5-6 % of the operator's CPU at 500 neurons (py-spy).
    A changed Secret is derived afresh."""
    try:
        kp = deserialize_keypair_from_keyfile_data(raw)
    except Exception:
        return None, "format"
    if not _has_private_key(kp):
        return None, "public"
    return kp, None


def coldkey_from_secret(secret_name: str, data: dict[str, bytes]) -> Keypair:
    """The coldkey in a Secret: encrypted btcli coldkey + ``password``, or unencrypted JSON (dev)."""
    raw = data.get(COLDKEY_KEY)
    if not raw:
        raise SecretKeyError(
            "InvalidColdkeySecret", f"Secret {secret_name} has no data key {COLDKEY_KEY!r}"
        )
    if keyfile_data_is_encrypted(raw):
        password = data.get(PASSWORD_KEY)
        if not password:
            raise SecretKeyError(
                "InvalidColdkeySecret",
                f"Secret {secret_name} holds an encrypted coldkey but no {PASSWORD_KEY!r}",
            )
        plain = _decrypted(raw, password.decode().strip())
        if plain is None:
            raise SecretKeyError(
                "InvalidColdkeySecret",
                f"Secret {secret_name}: the coldkey password does not decrypt it",
            )
        raw = plain
    try:
        kp = deserialize_keypair_from_keyfile_data(raw)
    except Exception:
        raise SecretKeyError(
            "InvalidColdkeySecret",
            f"Secret {secret_name} key {COLDKEY_KEY!r} is not a btcli keyfile",
        ) from None
    if not _has_private_key(kp):
        raise SecretKeyError(
            "InvalidColdkeySecret", f"Secret {secret_name} holds a public key only"
        )
    return kp


@functools.lru_cache(maxsize=64)
def _decrypted(raw: bytes, password: str) -> bytes | None:
    """The decrypted keyfile bytes, or None when ``password`` does not decrypt ``raw``.

    Cached (failures too): a btcli coldkey's Argon2 key derivation costs seconds and 512 MiB
    per call, the reconcilers read the coldkey on every pass, and they run on the operator's
    event loop, so an uncached decrypt stalled every handler (a walkthrough with btcli wallets
    registered no neuron in two minutes). The key is the Secret's bytes: a changed Secret
    decrypts afresh."""
    try:
        return bytes(decrypt_keyfile_data(raw, password))
    except Exception:
        return None


def _has_private_key(kp: Keypair) -> bool:
    try:
        kp.sign(b"subnetes")
    except Exception:
        return False
    return True
