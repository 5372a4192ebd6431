"""The workload's hotkey, from the btcli hotkey JSON file mounted from its Secret.

Errors say which file and what is wrong, never what is inside it.
"""

from __future__ import annotations

import json
from pathlib import Path

from bittensor_wallet import Keypair
from bittensor_wallet.keyfile import deserialize_keypair_from_keyfile_data


class HotkeyError(ValueError):
    """The hotkey file is missing, unreadable, encrypted or not a keypair."""


def load_hotkey(path: str | Path) -> Keypair:
    """Load an sr25519 keypair from a btcli hotkey file (secretPhrase / secretSeed / privateKey)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise HotkeyError(f"cannot read hotkey file {p}: {e.strerror}") from None
    try:
        doc = json.loads(data)
    except ValueError:
        raise HotkeyError(
            f"hotkey file {p} is not JSON (encrypted hotkeys are not supported)"
        ) from None
    if not isinstance(doc, dict):
        raise HotkeyError(f"hotkey file {p} is not a JSON object")
    try:
        kp = deserialize_keypair_from_keyfile_data(data)
    except Exception:  # the library's message is generic; never echo the data
        raise HotkeyError(f"hotkey file {p} holds no usable secret key") from None
    try:
        kp.sign(b"subnetes: can this key sign?")
    except Exception:
        raise HotkeyError(f"hotkey file {p} holds only a public key") from None
    claimed = doc.get("ss58Address")
    if claimed and claimed != kp.ss58_address:
        raise HotkeyError(f"hotkey file {p}: ss58Address does not match its secret key")
    return kp


def write_hotkey(path: str | Path, keypair: Keypair) -> Path:
    """Write ``keypair`` as a btcli hotkey file (mode 0600); used by tests and dev tooling."""
    from bittensor_wallet.keyfile import serialized_keypair_to_keyfile_data

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.touch(mode=0o600)
    p.write_bytes(serialized_keypair_to_keyfile_data(keypair))
    return p
