"""`subnetes wallet import`: btcli wallets become the Secrets the operator reads."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from bittensor_wallet import Wallet

from subnetes import wallet
from subnetes.localnet.cluster import LocalCluster
from subnetes.operator.hotkey_claims import claim_problem
from subnetes.operator.keys import coldkey_from_secret, hotkey_from_secret
from subnetes.operator.labels import HOTKEY_CLAIM_ANNOTATION
from subnetes.wallet import WalletError, wallet_secrets

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def wallet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wallets")
    wallet = Wallet(name="team_a", hotkey="miner1", path=str(root))
    wallet.create_new_coldkey(
        use_password=True, coldkey_password=PASSWORD, overwrite=True, suppress=True
    )
    wallet.create_new_hotkey(use_password=False, overwrite=True, suppress=True)
    return root / "team_a"


def decoded(manifest: dict) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in manifest["data"].items()}


def test_secrets_hold_btcli_files_the_operator_can_read(wallet_dir: Path) -> None:
    keys = wallet_secrets(wallet_dir, "ns", hotkeys=("miner1",), password=PASSWORD)
    cold, hot = keys
    assert cold.manifest["metadata"]["name"] == "team-a-coldkey"
    assert hot.manifest["metadata"]["name"] == "team-a-miner1-hotkey"
    assert coldkey_from_secret("c", decoded(cold.manifest)).ss58_address == cold.ss58
    assert hotkey_from_secret("h", decoded(hot.manifest)).ss58_address == hot.ss58


def test_a_hotkey_given_its_neuron_is_claimed_for_it(wallet_dir: Path) -> None:
    """``--hotkey miner1=Miner/miner-0``: the Secret carries the claim the operator requires
    (issue 13 #8); without ``=...`` it carries none (the operator refuses it until annotated)."""
    _cold, hot = wallet_secrets(
        wallet_dir, "ns", hotkeys=("miner1=Miner/miner-0",), password=PASSWORD
    )
    meta = hot.manifest["metadata"]
    assert meta["name"] == "team-a-miner1-hotkey" and hot.claim == "Miner/miner-0"
    assert meta["annotations"] == {HOTKEY_CLAIM_ANNOTATION: "Miner/miner-0"}
    assert claim_problem("Miner", "miner-0", "uid", meta["name"], meta) is None
    assert claim_problem("Miner", "miner-1", "uid", meta["name"], meta) is not None
    _cold, bare = wallet_secrets(wallet_dir, "ns", hotkeys=("miner1",), password=PASSWORD)
    assert "annotations" not in bare.manifest["metadata"] and bare.claim is None
    for bad in ("miner1=Subnet/s", "miner1=Miner/", "miner1=Miner/Bad_Name", "miner1=miner-0"):
        with pytest.raises(WalletError, match="Miner/<name> or Validator/<name>"):
            wallet_secrets(wallet_dir, "ns", hotkeys=(bad,), password=PASSWORD)


def test_claim_annotation_is_the_operators() -> None:
    assert wallet.HOTKEY_CLAIM_ANNOTATION == HOTKEY_CLAIM_ANNOTATION


def test_wrong_or_missing_password_is_refused_at_import(wallet_dir: Path) -> None:
    with pytest.raises(WalletError, match="password does not decrypt"):
        wallet_secrets(wallet_dir, "ns", password="wrong")
    with pytest.raises(WalletError, match="encrypted"):
        wallet_secrets(wallet_dir, "ns")
    with pytest.raises(WalletError, match="not found"):
        wallet_secrets(wallet_dir, "ns", hotkeys=("nope",), password=PASSWORD)


def test_cli_import_creates_secrets_and_prints_no_key_material(
    cluster: LocalCluster, namespace: str, wallet_dir: Path
) -> None:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "WALLET_PW": PASSWORD}
    proc = subprocess.run(
        [
            sys.executable, "-m", "subnetes", "wallet", "import", str(wallet_dir),
            "-n", namespace, "--hotkey", "miner1", "--password-env", "WALLET_PW",
            "--coldkey-secret", "owner-coldkey",
        ],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "secret/owner-coldkey" in proc.stdout
    # The hotkey was imported without a neuron: the output says the operator refuses it as is.
    assert "not claimed" in proc.stdout and "--hotkey NAME=Miner/<name>" in proc.stdout
    hotkey_json = json.loads((wallet_dir / "hotkeys" / "miner1").read_text())
    assert hotkey_json["secretPhrase"] not in proc.stdout + proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    secret = json.loads(
        cluster.kubectl(
            "get", "secret", "team-a-miner1-hotkey", "-n", namespace, "-o", "json"
        ).stdout
    )
    assert (
        base64.b64decode(secret["data"]["hotkey"])
        == (wallet_dir / "hotkeys" / "miner1").read_bytes()
    )


def import_cli(wallet_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``subnetes wallet import --dry-run`` with no terminal on stdin (so no prompt)."""
    base = {k: v for k, v in os.environ.items() if k != "SUBNETES_KEY_PASSWORD"}
    return subprocess.run(
        [sys.executable, "-m", "subnetes", "wallet", "import", str(wallet_dir), "--dry-run",
         "--hotkey", "miner1", *args],
        capture_output=True, text=True, env={**base, **env}, timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_dry_run_prints_only_the_yaml_document(wallet_dir: Path) -> None:
    """``--dry-run | kubectl apply -f -``: stdout is the Secrets and nothing else (the library's
    "Decrypting..." once came first, issue 14 #4)."""
    proc = import_cli(wallet_dir, "--password-env", "WALLET_PW", WALLET_PW=PASSWORD)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("apiVersion: v1\n"), proc.stdout[:80]
    docs = list(yaml.safe_load_all(proc.stdout))
    assert [d["kind"] for d in docs] == ["Secret", "Secret"]
    assert docs[0]["metadata"]["name"] == "team-a-coldkey"
    # the documented default variable works the same without --password-env
    proc = import_cli(wallet_dir, SUBNETES_KEY_PASSWORD=PASSWORD)
    assert proc.returncode == 0 and proc.stdout.startswith("apiVersion: v1\n"), proc.stderr


def test_an_unset_password_variable_is_named(wallet_dir: Path) -> None:
    proc = import_cli(wallet_dir, "--password-env", "TEAM_PW_UNSET")
    err = proc.stderr.strip()
    assert proc.returncode == 1 and proc.stdout == "" and len(err.splitlines()) == 1, err
    assert "TEAM_PW_UNSET" in err and "not set" in err
    # nothing names a variable and no terminal can be asked: say every way to give it
    proc = import_cli(wallet_dir)
    err = proc.stderr.strip()
    assert proc.returncode == 1 and len(err.splitlines()) == 1, err
    assert "--password-env" in err and "SUBNETES_KEY_PASSWORD" in err and "terminal" in err
    proc = import_cli(wallet_dir, "--password-env", "WALLET_PW", WALLET_PW="wrong")
    assert proc.returncode == 1 and "does not decrypt" in proc.stderr
    assert "Decrypting" not in proc.stdout + proc.stderr
