"""Key handling for the CLI and tools: btcli keyfiles, dev URIs, a local key store."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bittensor_wallet import Keypair
from bittensor_wallet.keyfile import (
    deserialize_keypair_from_keyfile_data,
    serialized_keypair_to_keyfile_data,
)


def keystore_dir() -> Path:
    """Where ``subnetes keys new`` stores keys (``$SUBNETES_KEYS`` or ~/.subnetes/keys)."""
    return Path(os.environ.get("SUBNETES_KEYS", Path.home() / ".subnetes" / "keys"))


def load_keypair(spec: str) -> Keypair:
    """A keypair from a dev URI (``//Alice``), a keyfile path (btcli hotkey / unencrypted
    coldkey JSON), or a key name in the key store."""
    if spec.startswith("//"):
        return Keypair.create_from_uri(spec)
    path = Path(spec)
    if not path.is_file():
        path = keystore_dir() / f"{spec}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no key {spec!r} (not a //URI, a keyfile, or a name in {keystore_dir()})"
        )
    return deserialize_keypair_from_keyfile_data(path.read_bytes())


def new_key(name: str, overwrite: bool = False) -> tuple[Keypair, Path, str]:
    """Create a key in the store (btcli keyfile format, mode 0600); returns (keypair, path, mnemonic)."""
    d = keystore_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}.json"
    if path.exists() and not overwrite:
        raise FileExistsError(f"key {name!r} exists at {path}")
    mnemonic = Keypair.generate_mnemonic()
    kp = Keypair.create_from_mnemonic(mnemonic)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(serialized_keypair_to_keyfile_data(kp))
    return kp, path, mnemonic


def list_keys() -> list[tuple[str, str]]:
    """(name, ss58) of every key in the store."""
    out = []
    for p in sorted(keystore_dir().glob("*.json")):
        try:
            out.append((p.stem, json.loads(p.read_text())["ss58Address"]))
        except (ValueError, KeyError):
            continue
    return out


def resolve_address(spec: str) -> str:
    """An SS58 address as is, else the address of a key spec."""
    from subnetes.wire.ss58 import SS58_FORMAT, format_of, is_ss58

    if is_ss58(spec):
        return spec
    fmt = format_of(spec)
    if fmt is not None and fmt != SS58_FORMAT:
        raise ValueError(
            f"{spec} is an SS58 address of network format {fmt}; this chain accepts only "
            f"format {SS58_FORMAT} (one key, one account): convert it first"
        )
    return load_keypair(spec).ss58_address
