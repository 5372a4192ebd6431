"""Key handling for the CLI and tools: btcli keyfiles, dev URIs, a local key store."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from bittensor_wallet import Keypair
from bittensor_wallet.keyfile import (
    decrypt_keyfile_data,
    deserialize_keypair_from_keyfile_data,
    keyfile_data_is_encrypted,
    serialized_keypair_to_keyfile_data,
)

# The password of an encrypted coldkey when no --password-env names another variable.
PASSWORD_ENV = "SUBNETES_KEY_PASSWORD"


@contextlib.contextmanager
def native_stdout_silenced() -> Iterator[None]:
    """Discard what is written to file descriptor 1 for the duration.

    bittensor-wallet prints "Decrypting..." from native code straight to fd 1, where it would
    corrupt a document on stdout (``wallet import --dry-run | kubectl apply -f -``); on stderr
    it would make a one-line error two lines. Its errors come as exceptions, not prints.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no fd 1 (embedded): nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _prompt(what: str) -> str:
    import click

    return str(click.prompt(f"password for {what}", hide_input=True, err=True))


def key_password(
    what: str, password_env: str | None = None, prompt: Callable[[str], str] | None = None
) -> str:
    """The password of the encrypted key ``what``: from ``$password_env`` (named by
    --password-env; an unset one is an error naming it), else ``$SUBNETES_KEY_PASSWORD``, else a
    prompt when stdin is a terminal; else a ValueError saying how to give it."""
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            raise ValueError(
                f"{what} is encrypted and the environment variable {password_env} "
                "(named by --password-env) is not set"
            )
        return value
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV]
    if sys.stdin is not None and sys.stdin.isatty():
        return (prompt or _prompt)(what)
    raise ValueError(
        f"{what} is encrypted: put its password in an environment variable and pass "
        f"--password-env VAR (or set {PASSWORD_ENV}), or run on a terminal to be prompted"
    )


def decrypt(raw: bytes, password: str, what: str) -> bytes:
    """Decrypted btcli keyfile data; a wrong password is a ValueError, nothing on stdout."""
    try:
        with native_stdout_silenced():
            return bytes(decrypt_keyfile_data(raw, password))
    except Exception as exc:  # the library raises several types (KeyFileError) for this
        raise ValueError(f"{what}: the password does not decrypt it") from exc


def keypair_from_keyfile(raw: bytes, what: str, password_env: str | None = None) -> Keypair:
    """The keypair of btcli keyfile data, decrypting an encrypted one (see key_password)."""
    if keyfile_data_is_encrypted(raw):
        raw = decrypt(raw, key_password(what, password_env), what)
    try:
        return deserialize_keypair_from_keyfile_data(raw)
    except Exception as exc:  # KeyFileError, which is not a ValueError
        raise ValueError(f"{what} is not a btcli keyfile") from exc


def keystore_dir() -> Path:
    """Where ``subnetes keys new`` stores keys (``$SUBNETES_KEYS`` or ~/.subnetes/keys)."""
    return Path(os.environ.get("SUBNETES_KEYS", Path.home() / ".subnetes" / "keys"))


def load_keypair(spec: str, password_env: str | None = None) -> Keypair:
    """A keypair from a dev URI (``//Alice``), a keyfile path (a btcli hotkey or coldkey;
    an encrypted one is decrypted with the password from ``key_password``), or a key name in
    the key store."""
    if spec.startswith("//"):
        return Keypair.create_from_uri(spec)
    path = Path(spec)
    if not path.is_file():
        path = keystore_dir() / f"{spec}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no key {spec!r} (not a //URI, a keyfile, or a name in {keystore_dir()})"
        )
    return keypair_from_keyfile(path.read_bytes(), str(path), password_env)


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
    pub = _coldkeypub(Path(spec))
    return pub or load_keypair(spec).ss58_address


def _coldkeypub(path: Path) -> str | None:
    """The address of an encrypted btcli coldkey from the ``coldkeypub.txt`` beside it (an
    address needs no password), else None."""
    pub = path.with_name("coldkeypub.txt")
    if not (path.is_file() and pub.is_file() and keyfile_data_is_encrypted(path.read_bytes())):
        return None
    try:
        return str(json.loads(pub.read_text())["ss58Address"])
    except (ValueError, KeyError):
        return None
