"""``subnetes chain run --genesis-balances FILE``: the default profile funds the listed keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from bittensor_wallet import Keypair

from subnetes.chain.genesis import load_balances, parse_balances, with_balances
from subnetes.chain.units import TOTAL_SUPPLY, tao

from .service import Service

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"


def test_parse_accepts_integers_and_digit_strings() -> None:
    got = parse_balances([{"address": ALICE, "rao": 5}, {"address": ALICE, "rao": "9" * 17}])
    assert got == ((ALICE, 5), (ALICE, int("9" * 17)))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"address": ALICE, "rao": 1}, "JSON list"),
        ([{"address": "nope", "rao": 1}], "not an SS58 address"),
        ([{"address": ALICE, "rao": 0}], "positive integer"),
        ([{"address": ALICE, "rao": 1.5}], "positive integer"),
        ([{"address": ALICE, "rao": True}], "integer"),
        ([{"address": ALICE}], "exactly the keys"),
        ([{"address": ALICE, "rao": 1, "tao": 1}], "exactly the keys"),
    ],
)
def test_parse_rejects_bad_entries(doc: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_balances(doc)


def test_total_within_supply() -> None:
    with pytest.raises(ValueError, match="above the supply"):
        with_balances(((ALICE, TOTAL_SUPPLY),), ((ALICE, 1),))


def test_load_reports_bad_json(tmp_path: Path) -> None:
    f = tmp_path / "b.json"
    f.write_text("{")
    with pytest.raises(ValueError, match="not JSON"):
        load_balances(f)


def test_default_profile_with_genesis_balances_registers_a_subnet(tmp_path: Path) -> None:
    """Without the file nobody holds TAO on the default profile; with it the listed coldkey
    pays the lock and a subnet registers."""
    from subnetes.chain.extrinsic import sign

    owner = Keypair.create_from_uri("//genesis-owner")
    balances = tmp_path / "balances.json"
    balances.write_text(json.dumps([{"address": owner.ss58_address, "rao": str(tao(1000))}]))
    svc = Service(
        tmp_path / "g.db",
        extra_args=("--profile", "default", "--genesis-balances", str(balances)),
        fake_consensus=True,
    ).start()
    try:
        h = httpx.Client(base_url=svc.url, timeout=30)
        assert h.get("/v1/chain").json()["profile"] == "default"
        assert h.get(f"/v1/accounts/{owner.ss58_address}").json()["balance"] == tao(1000)
        g = h.get("/v1/chain").json()["genesis_hash"]
        xt = sign(owner, "register_network", {"hotkey": owner.ss58_address}, 0, g)
        r = h.post("/v1/extrinsics", json=xt)
        assert r.status_code == 200, r.text
        assert [s["netuid"] for s in h.get("/v1/subnets").json()] == [0, 1]
    finally:
        svc.kill()


def test_bad_genesis_file_fails_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"address": "x", "rao": 1}]))
    r = subprocess.run(
        [sys.executable, "-m", "subnetes.chain", "chain", "run", "--db", ":memory:",
         "--profile", "default", "--genesis-balances", str(bad)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1
    assert r.stderr.strip().startswith("error:") and "not an SS58 address" in r.stderr
