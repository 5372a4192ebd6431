"""Hotkeys from btcli hotkey files; errors never contain key material."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bittensor_wallet import Keypair

from subnetes.sdk.keys import HotkeyError, load_hotkey, write_hotkey


def test_roundtrip_btcli_file(tmp_path: Path) -> None:
    k = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    p = write_hotkey(tmp_path / "hotkeys" / "default", k)
    assert oct(p.stat().st_mode)[-3:] == "600"
    loaded = load_hotkey(p)
    assert loaded.ss58_address == k.ss58_address
    assert Keypair(ss58_address=k.ss58_address).verify(b"m", loaded.sign(b"m"))


def test_mnemonic_only_file(tmp_path: Path) -> None:
    m = Keypair.generate_mnemonic()
    p = tmp_path / "hk"
    p.write_text(json.dumps({"secretPhrase": m}))
    assert load_hotkey(p).ss58_address == Keypair.create_from_mnemonic(m).ss58_address


def test_errors_name_file_but_not_secret(tmp_path: Path) -> None:
    secret = "0x" + "ab" * 32
    cases = {
        "missing": None,
        "notjson": "not json " + secret,
        "list": "[1]",
        "nokey": json.dumps({"foo": secret}),
        "publiconly": json.dumps(
            {
                "ss58Address": Keypair.create_from_uri("//x").ss58_address,
                "publicKey": "0x" + Keypair.create_from_uri("//x").public_key.hex(),
            }
        ),
        "mismatch": json.dumps(
            {"secretSeed": secret, "ss58Address": Keypair.create_from_uri("//y").ss58_address}
        ),
    }
    for name, content in cases.items():
        p = tmp_path / name
        if content is not None:
            p.write_text(content)
        with pytest.raises(HotkeyError) as e:
            load_hotkey(p)
        assert str(p) in str(e.value) and "ab" * 8 not in str(e.value), name
