"""The ``subnetes`` CLI: keys, extrinsic commands against a real service, one-line errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from .service import Service

CLI = [sys.executable, "-c", "import sys; from subnetes.cli import main; sys.exit(main())"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env=env)


def test_keys_new_and_list(tmp_path: Path, monkeypatch) -> None:
    import os

    env = dict(os.environ, SUBNETES_KEYS=str(tmp_path / "keys"))
    r = run("keys", "new", "miner1", env=env)
    assert r.returncode == 0 and "miner1.json" in r.stdout
    r = run("keys", "list", env=env)
    assert "miner1" in r.stdout
    r = run("keys", "list", "--output", "json", env=env)
    assert [k["name"] for k in json.loads(r.stdout)] == ["miner1"]
    r = run("keys", "new", "miner1", env=env)
    assert (
        r.returncode == 1
        and r.stderr.strip().startswith("error:")
        and len(r.stderr.strip().splitlines()) == 1
    )


def test_cli_against_service(tmp_path: Path) -> None:
    svc = Service(tmp_path / "cli.db").start()
    e = ["--endpoint", svc.url]
    try:
        r = run("subnet", "register", "--key", "//Alice", "--hotkey", "//cli-owner", *e)
        assert r.returncode == 0 and "SubnetRegistered" in r.stdout, r.stderr
        r = run(
            "neuron", "register", "--netuid", "1", "--key", "//Alice", "--hotkey", "//cli-m1", *e
        )
        assert r.returncode == 0, r.stderr
        r = run("stake", "add", "--hotkey", "//cli-m1", "2.5", "--key", "//Alice", *e)
        assert r.returncode == 0, r.stderr
        r = run("metagraph", "1", "--json", *e)
        assert r.returncode == 0 and json.loads(r.stdout)["neurons"][1]["stake"] >= 2_500_000_000
        r = run("metagraph", "1", *e)
        assert r.returncode == 0 and "UID" in r.stdout
        # piped at 80 columns: no cell cut to "0.…", the stake whole, what did not fit named
        # on stderr (issue 14 #4)
        r = run("metagraph", "1", *e, env={**os.environ, "COLUMNS": "80"})
        lines = r.stdout.splitlines()
        assert r.returncode == 0 and "…" not in r.stdout and max(map(len, lines)) <= 80
        # every row's stake and emission whole (9 decimals), its shares whole (5 decimals)
        assert len(re.findall(r"\b\d+\.\d{9}\b", r.stdout)) == 2 * 2, r.stdout
        assert len(re.findall(r"\b[01]\.\d{5}\b", r.stdout)) == 2 * 2, r.stdout
        assert "DIVIDENDS" in r.stdout
        assert "left out to fit 80 columns: AXON" in r.stderr
        doc = yaml.safe_load(run("metagraph", "1", "--output", "yaml", *e).stdout)
        assert doc["neurons"][1]["stake"] >= 2_500_000_000
        # every read command prints only its document when one is asked for
        for cmd in (["chain", "info"], ["subnet", "hyperparameters", "1"], ["subnet", "lock-cost"]):
            for fmt, parse in (("json", json.loads), ("yaml", yaml.safe_load)):
                r = run(*cmd, "--output", fmt, *e)
                assert r.returncode == 0 and isinstance(parse(r.stdout), dict), (cmd, r.stderr)
        r = run("subnet", "list", *e, env={**os.environ, "COLUMNS": "80"})
        assert r.returncode == 0 and "…" not in r.stdout and "netuid" in r.stdout
        r = run("subnet", "register", "--key", "//poor-cli", "--hotkey", "//x", *e)
        assert r.returncode == 1
        assert (
            r.stderr.strip().startswith("error: CannotAffordLockCost:")
            and len(r.stderr.strip().splitlines()) == 1
        )
        r = run("chain", "info", "--endpoint", "http://127.0.0.1:1")
        assert r.returncode == 1 and "cannot reach the chain" in r.stderr
    finally:
        svc.kill(signal.SIGTERM)
