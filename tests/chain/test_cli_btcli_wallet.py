"""Signing with a real btcli wallet (issue 14 #3): an encrypted coldkey made by bittensor-wallet
signs every coldkey command family, its password from --password-env, $SUBNETES_KEY_PASSWORD or a
terminal prompt; every way it cannot be decrypted is one line on stderr, never a traceback."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bittensor_wallet import Wallet

from subnetes.chain import keys

from .service import Service

CLI = [sys.executable, "-c", "import sys; from subnetes.cli import main; sys.exit(main())"]
PASSWORD = "correct horse battery"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != keys.PASSWORD_ENV}
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **env},
        stdin=subprocess.DEVNULL,  # not a terminal: no prompt
    )


def one_line_error(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    err = r.stderr.strip()
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("error:") and all(n in err for n in needles), err


@pytest.fixture(scope="module")
def coldkey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The encrypted coldkey file of a wallet made by the real bittensor-wallet package."""
    root = tmp_path_factory.mktemp("wallets")
    w = Wallet(name="owner", hotkey="default", path=str(root))
    w.create_new_coldkey(
        use_password=True, coldkey_password=PASSWORD, overwrite=True, suppress=True
    )
    w.create_new_hotkey(use_password=False, overwrite=True, suppress=True)
    return root / "owner" / "coldkey"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    svc = Service(tmp_path_factory.mktemp("chain") / "btcli.db").start()
    try:
        yield svc.url
    finally:
        svc.kill(signal.SIGTERM)


def test_an_encrypted_coldkey_signs_every_coldkey_command(coldkey: Path, chain: str) -> None:
    e = ["--endpoint", chain]
    address = json.loads(coldkey.with_name("coldkeypub.txt").read_text())["ss58Address"]
    r = run("faucet", "5000", "--key", "//Alice", "--dest", address, *e)
    assert r.returncode == 0, r.stderr
    pw = {"OWNER_PW": PASSWORD}
    key = ["--key", str(coldkey), "--password-env", "OWNER_PW"]
    r = run("subnet", "register", *key, "--hotkey", "//btcli-owner", *e, **pw)
    assert r.returncode == 0 and "SubnetRegistered" in r.stdout, r.stderr
    # the library's "Decrypting..." is kept off stdout
    assert "Decrypting" not in r.stdout
    netuid = str(json.loads(run("subnet", "list", "--output", "json", *e).stdout)[-1]["netuid"])
    r = run("neuron", "register", "--netuid", netuid, *key, "--hotkey", "//btcli-m1", *e, **pw)
    assert r.returncode == 0 and "NeuronRegistered" in r.stdout, r.stderr
    # the documented default variable, without --password-env
    r = run(
        "stake", "add", "--hotkey", "//btcli-m1", "2", "--key", str(coldkey), *e,
        **{keys.PASSWORD_ENV: PASSWORD},
    )  # fmt: skip
    assert r.returncode == 0 and "StakeChanged" in r.stdout, r.stderr
    r = run("transfer", "//btcli-dest", "1", *key, *e, **pw)
    assert r.returncode == 0 and "Transfer" in r.stdout, r.stderr
    # the coldkey path names its address without a password (coldkeypub.txt beside it)
    r = run("account", str(coldkey), "--output", "json", *e)
    assert json.loads(r.stdout)["total_stake"] >= 2_000_000_000, r.stderr
    # the wallet's hotkey file (plain, as btcli makes it) registers and signs hotkey calls
    hotkey = str(coldkey.with_name("hotkeys") / "default")
    r = run("neuron", "register", "--netuid", netuid, *key, "--hotkey", hotkey, *e, **pw)
    assert r.returncode == 0 and "NeuronRegistered" in r.stdout, r.stderr
    r = run("axon", "serve", "--netuid", netuid, "--ip", "127.0.0.1", "--port", "8091",
            "--key", hotkey, *e)  # fmt: skip
    assert r.returncode == 0 and "AxonServed" in r.stdout, r.stderr


def test_every_undecryptable_coldkey_is_one_line(coldkey: Path, chain: str) -> None:
    e = ["--endpoint", chain]
    base = ["transfer", "//x", "1", "--key", str(coldkey)]
    # the variable --password-env names is unset: the message names it
    one_line_error(run(*base, "--password-env", "NO_SUCH_PW", *e), "NO_SUCH_PW", "not set")
    one_line_error(
        run(*base, "--password-env", "OWNER_PW", *e, OWNER_PW="wrong"), "does not decrypt"
    )
    # no password anywhere and no terminal to ask on
    one_line_error(run(*base, *e), "encrypted", "--password-env", keys.PASSWORD_ENV)
    # a file that is no keyfile at all (once a KeyFileError traceback too)
    junk = coldkey.parent / "not-a-key"
    junk.write_text("{}")
    one_line_error(run("transfer", "//x", "1", "--key", str(junk), *e), "not a btcli keyfile")


def test_a_terminal_is_asked_for_the_password(
    coldkey: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv(keys.PASSWORD_ENV, raising=False)
    monkeypatch.setattr(sys, "stdin", Tty())
    asked: list[str] = []
    assert keys.key_password(str(coldkey), prompt=lambda what: asked.append(what) or PASSWORD)
    assert asked == [str(coldkey)]
    monkeypatch.setattr(keys, "_prompt", lambda what: PASSWORD)
    kp = keys.load_keypair(str(coldkey))
    pub = json.loads(coldkey.with_name("coldkeypub.txt").read_text())["ss58Address"]
    assert kp.ss58_address == pub
