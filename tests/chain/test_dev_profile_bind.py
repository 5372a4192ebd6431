"""Issue 13 #7: ``subnetes chain run`` says which profile runs, and refuses the dev profile
(faucet, the well-known //Alice sudo key) on a non-loopback address unless
``--allow-dev-on-network`` says so.

Nothing here binds a non-loopback address: the refusal is tested on the pure check, and on the
real CLI with 192.0.2.1 (TEST-NET-1, on no interface of this machine: binding it would fail).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from subnetes.chain.params import profile_config
from subnetes.chain.server import DevProfileOnNetwork, check_bind, is_loopback, profile_line

from .service import Service

NETWORK = ["0.0.0.0", "::", "10.1.2.3", "192.0.2.1", "[2001:db8::1]", "chain.example.com", ""]
LOOPBACK = ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"]


@pytest.mark.parametrize("host", NETWORK)
def test_dev_profile_is_refused_on_a_network_address(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(DevProfileOnNetwork, match="--allow-dev-on-network"):
        check_bind(profile_config("dev"), host)
    check_bind(profile_config("dev"), host, allow_dev_on_network=True)  # explicitly allowed
    check_bind(profile_config("default"), host)  # no faucet, no well-known sudo: fine


@pytest.mark.parametrize("host", LOOPBACK)
def test_dev_profile_on_loopback_is_fine(host: str) -> None:
    assert is_loopback(host)
    check_bind(profile_config("dev"), host)


def test_a_dev_feature_alone_counts() -> None:
    """The check is about what is exposed, not the profile's name."""
    with pytest.raises(DevProfileOnNetwork, match="faucet"):
        check_bind(profile_config("default", faucet_enabled=True), "0.0.0.0")
    assert "DEVELOPMENT ONLY" in profile_line(profile_config("dev"))
    assert profile_line(profile_config("default")) == "profile default"


def chain_run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "subnetes.chain", "chain", "run", "--manual", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_refuses_before_creating_anything(tmp_path: Path) -> None:
    db = tmp_path / "chain.db"
    r = chain_run("--db", str(db), "--host", "192.0.2.1", "--port", "9")
    assert r.returncode == 1
    assert "refusing to serve the 'dev' profile" in r.stderr, r.stderr
    assert "--allow-dev-on-network" in r.stderr
    assert not db.exists()  # refused before the database (a dev genesis) was created


def test_cli_refuses_an_existing_dev_database_whatever_profile_is_asked(tmp_path: Path) -> None:
    """The profile applies only to a new database: an existing dev chain stays dev."""
    db = tmp_path / "chain.db"
    svc = Service(db, extra_args=("--manual",), fake_consensus=True).start()
    svc.kill(signal.SIGTERM)
    r = chain_run("--db", str(db), "--profile", "default", "--host", "192.0.2.1", "--port", "9")
    assert r.returncode == 1
    assert "refusing to serve the 'dev' profile" in r.stderr, r.stderr


def test_the_profile_is_logged_at_start(tmp_path: Path) -> None:
    svc = Service(tmp_path / "chain.db", extra_args=("--manual",), fake_consensus=True).start()
    svc.kill(signal.SIGTERM)
    assert svc.proc is not None and svc.proc.stderr is not None
    err = svc.proc.stderr.read().decode()
    lines = [ln for ln in err.splitlines() if "profile dev" in ln]
    assert len(lines) == 1, err
    assert "DEVELOPMENT ONLY" in lines[0] and "faucet" in lines[0] and "//Alice" in lines[0]
