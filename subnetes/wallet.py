"""``subnetes wallet import``: a btcli wallet directory as Kubernetes Secrets.

The Secret formats are the ones in docs/specs/interfaces.md ("Keys and Secrets"): a coldkey Secret
holds the btcli ``coldkey`` file (encrypted, with its ``password``; or unencrypted JSON in dev)
and each hotkey Secret holds the btcli hotkey file under ``hotkey``. A wrong password is
caught here, at import, not later in the operator. Key material is never printed.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bittensor_wallet.keyfile import (
    deserialize_keypair_from_keyfile_data,
    keyfile_data_is_encrypted,
)

from subnetes.chain.keys import decrypt

LABELS = {"app.kubernetes.io/part-of": "subnetes", "app.kubernetes.io/managed-by": "subnetes-cli"}
# The operator mounts a hotkey Secret only for the neuron it is claimed for (the same name as
# subnetes.operator.labels.HOTKEY_CLAIM_ANNOTATION; tests/cli checks they agree).
HOTKEY_CLAIM_ANNOTATION = "subnetes.io/hotkey-for"
# <Kind>/<name>: a Miner or Validator (a DNS subdomain name) in the Secret's namespace.
_CLAIM = re.compile(r"(Miner|Validator)/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


class WalletError(ValueError):
    """The wallet directory cannot be imported; the message says why."""


@dataclass(frozen=True)
class ImportedKey:
    """One Secret to create, and the address it holds (for the summary line)."""

    manifest: dict[str, Any]
    ss58: str
    claim: str | None = None  # hotkeys: the neuron the Secret is claimed for


def parse_hotkey(spec: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME=Kind/neuron`` (the ``--hotkey`` option) as (hotkey file, claim)."""
    name, sep, claim = spec.partition("=")
    if not sep:
        return name, None
    if not _CLAIM.fullmatch(claim):
        raise WalletError(
            f"--hotkey {spec!r}: the claim must be Miner/<name> or Validator/<name> "
            "(the neuron in the same namespace that will use this hotkey)"
        )
    return name, claim


def _secret(
    name: str, namespace: str, data: dict[str, bytes], role: str, claim: str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": LABELS | {"app.kubernetes.io/component": role},
    }
    if claim:
        meta["annotations"] = {HOTKEY_CLAIM_ANNOTATION: claim}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": meta,
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }


def _address(raw: bytes, password: str | None, what: str) -> str:
    if keyfile_data_is_encrypted(raw):
        if not password:
            raise WalletError(
                f"{what} is encrypted: give its password (--password-env VAR, or "
                "SUBNETES_KEY_PASSWORD, or a prompt on a terminal)"
            )
        try:
            # keys.decrypt keeps the library's "Decrypting..." off stdout (--dry-run's YAML)
            raw = decrypt(raw, password, what)
        except ValueError as exc:
            raise WalletError(str(exc)) from exc
    try:
        return deserialize_keypair_from_keyfile_data(raw).ss58_address
    except Exception as exc:
        raise WalletError(f"{what} is not a btcli keyfile") from exc


def wallet_secrets(
    wallet_dir: Path,
    namespace: str,
    coldkey_secret: str | None = None,
    hotkeys: tuple[str, ...] = (),
    password: str | None = None,
) -> list[ImportedKey]:
    """Secrets for the coldkey of ``wallet_dir`` and the named hotkeys (pure but for reads).

    Names: the coldkey Secret is ``coldkey_secret`` (default ``<wallet>-coldkey``); hotkey
    ``h`` becomes ``<wallet>-<h>-hotkey``. A hotkey given as ``h=Miner/miner-0`` is claimed
    for that neuron (annotation ``subnetes.io/hotkey-for``): the operator refuses a hotkey
    Secret that is not claimed for the neuron naming it.
    """
    wallet = wallet_dir.name.lower().replace("_", "-")
    coldkey_file = wallet_dir / "coldkey"
    if not coldkey_file.is_file():
        raise WalletError(f"{coldkey_file} not found: is {wallet_dir} a btcli wallet directory?")
    raw = coldkey_file.read_bytes()
    data = {"coldkey": raw}
    if keyfile_data_is_encrypted(raw) and password:
        data["password"] = password.encode()
    out = [
        ImportedKey(
            _secret(coldkey_secret or f"{wallet}-coldkey", namespace, data, "coldkey"),
            _address(raw, password, str(coldkey_file)),
        )
    ]
    for spec in hotkeys:
        hotkey, claim = parse_hotkey(spec)
        path = wallet_dir / "hotkeys" / hotkey
        if not path.is_file():
            raise WalletError(f"hotkey {hotkey!r} not found at {path}")
        hraw = path.read_bytes()
        if keyfile_data_is_encrypted(hraw):
            raise WalletError(f"hotkey {hotkey!r} is encrypted; workloads need a plain hotkey file")
        secret = _secret(f"{wallet}-{hotkey}-hotkey", namespace, {"hotkey": hraw}, "hotkey", claim)
        out.append(ImportedKey(secret, _address(hraw, None, str(path)), claim))
    return out
