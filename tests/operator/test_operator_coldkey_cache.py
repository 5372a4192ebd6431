"""An encrypted coldkey Secret is decrypted once, not on every reconcile (issue 14, the README's
walkthrough with btcli wallets): bittensor-wallet's Argon2 costs seconds and 512 MiB per call, and
the reconcilers run on the operator's event loop, so decrypting on every pass stalled them all."""

from __future__ import annotations

import pytest
from bittensor_wallet import Keypair
from bittensor_wallet.keyfile import serialized_keypair_to_keyfile_data

from subnetes.operator import keys
from subnetes.operator.keys import SecretKeyError, coldkey_from_secret

# keyfile_data_is_encrypted recognises NaCl keyfiles by this prefix; the decryption itself is
# stubbed (a real one costs seconds), so the test counts calls, not time.
ENCRYPTED = b"$NACL" + b"\x00" * 48


@pytest.fixture
def decrypts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    plain = serialized_keypair_to_keyfile_data(Keypair.create_from_uri("//cache-test"))
    calls: list[str] = []

    def fake_decrypt(raw: bytes, password: str) -> bytes:
        calls.append(password)
        if password != "right":
            raise ValueError("bad password")
        return plain

    monkeypatch.setattr(keys, "decrypt_keyfile_data", fake_decrypt)
    cache_clear = getattr(getattr(keys, "_decrypted", None), "cache_clear", None)
    if cache_clear:
        cache_clear()
    yield calls
    if cache_clear:
        cache_clear()


def test_an_encrypted_coldkey_is_decrypted_once_per_secret_content(decrypts: list[str]) -> None:
    data = {"coldkey": ENCRYPTED, "password": b"right\n"}
    addresses = {coldkey_from_secret("neuron-coldkey", data).ss58_address for _ in range(5)}
    assert addresses == {Keypair.create_from_uri("//cache-test").ss58_address}
    assert decrypts == ["right"]
    # A changed Secret (another password, other bytes) is decrypted afresh.
    with pytest.raises(SecretKeyError, match="does not decrypt"):
        coldkey_from_secret("neuron-coldkey", {"coldkey": ENCRYPTED, "password": b"wrong"})
    coldkey_from_secret("other", {"coldkey": ENCRYPTED + b"\x01", "password": b"right"})
    assert decrypts == ["right", "wrong", "right"]


def test_a_wrong_password_is_not_retried_on_every_pass(decrypts: list[str]) -> None:
    for _ in range(3):
        with pytest.raises(SecretKeyError, match="does not decrypt"):
            coldkey_from_secret("c", {"coldkey": ENCRYPTED, "password": b"wrong"})
    assert decrypts == ["wrong"]
