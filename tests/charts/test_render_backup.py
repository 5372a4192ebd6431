"""Issue 18 #4: the platform chart's backup CronJob (off by default), rendered offline with the
pinned helm (``cluster``-marked only because helm is built with the control plane). The
rendered commands are run for real here: the SQLite variant's args through the CLI, the
PostgreSQL variant's shell script against a throwaway server; each backup restores and verifies.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from subnetes.chain.cli import chain_group
from subnetes.chain.ledger import Ledger
from subnetes.chain.params import dev_config

from .render import FULL, chain_container, find, one, render, template

pytestmark = pytest.mark.cluster


def _load_pg_module() -> Any:
    """tests/chain/pg.py (the chain suite's throwaway PostgreSQL server), by path: the two
    test folders are separate packages."""
    spec = importlib.util.spec_from_file_location(
        "subnetes_tests_pg", Path(__file__).parents[1] / "chain" / "pg.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pg_module = _load_pg_module()

PG = ["chain.storage.type=postgres", "chain.storage.postgres.urlSecretRef.name=chain-db"]


def _job_pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    cron = one(docs, "CronJob", f"{FULL}-chain-backup")
    return cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_no_backup_objects_by_default() -> None:
    docs = render()
    assert find(docs, "CronJob") == []
    assert find(docs, "PersistentVolumeClaim") == []


def test_sqlite_backup_runs_on_the_chain_node_with_its_volume() -> None:
    docs = render("chain.backup.enabled=true", "chain.backup.keep=3")
    cron = one(docs, "CronJob", f"{FULL}-chain-backup")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = _job_pod(docs)
    (c,) = pod["containers"]
    assert c["args"] == ["chain", "backup", "--db=/data/chain.db", "--out=/backups", "--keep=3"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts == {"backups": "/backups", "tmp": "/tmp", "data": "/data"}
    claims = {
        v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in pod["volumes"]
    }
    sts = one(docs, "StatefulSet")
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert claims["data"] == f"data-{sts['metadata']['name']}-0"  # the chain pod's own claim
    assert claims["backups"] == f"{FULL}-chain-backups"
    pvc = one(docs, "PersistentVolumeClaim", f"{FULL}-chain-backups")
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    # ReadWriteOnce volume, SQLite WAL shared memory: on the chain pod's node
    (term,) = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    chain_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= chain_labels.items()


def test_existing_claim_and_schema() -> None:
    docs = render("chain.backup.enabled=true", "chain.backup.persistence.existingClaim=mine")
    assert find(docs, "PersistentVolumeClaim") == []
    claims = [v for v in _job_pod(docs)["volumes"] if v["name"] == "backups"]
    assert claims[0]["persistentVolumeClaim"]["claimName"] == "mine"
    for bad in ("chain.backup.keep=0", "chain.backup.nope=1", "chain.backup.persistence.size=lots"):
        out = template("chain.backup.enabled=true", bad)
        assert out.returncode != 0 and "values don't meet the specifications" in out.stderr, bad


def test_postgres_backup_needs_the_url_secret() -> None:
    out = template("chain.backup.enabled=true", "chain.storage.type=postgres")
    assert out.returncode != 0 and "urlSecretRef.name is required" in out.stderr


def test_migrate_on_start_is_opt_in() -> None:
    """Issue 18 #3: the chain upgrades an older storage schema at start only when asked."""
    assert "--migrate" not in chain_container(render())["args"]
    for backend in ([], PG):
        args = chain_container(render("chain.storage.migrateOnStart=true", *backend))["args"]
        assert "--migrate" in args


@pytest.fixture(scope="module")
def pg() -> Iterator[Any]:
    yield from pg_module.pg_server()


def _chain(db: str, blocks: int = 12) -> str:
    ledger = Ledger.open(dev_config(), db)
    for _ in range(blocks):
        ledger.step()
    assert ledger.storage is not None
    ledger.storage.close()
    return ledger.head.hash


def _restores(backup: Path, db: str, head: str) -> None:
    run = CliRunner().invoke(chain_group, ["restore", "--from", str(backup), "--db", db])
    assert run.exit_code == 0, run.output
    assert f"head #12 {head}" in run.output


def test_rendered_sqlite_command_backs_up_and_restores(tmp_path: Path) -> None:
    """The CronJob's args, with its mount paths moved under tmp_path, run through the CLI."""
    (tmp_path / "data").mkdir()
    (tmp_path / "backups").mkdir()
    head = _chain(str(tmp_path / "data" / "chain.db"))
    (c,) = _job_pod(render("chain.backup.enabled=true"))["containers"]
    args = [a.replace("=/", f"={tmp_path}/") for a in c["args"]]
    assert args[:2] == ["chain", "backup"]
    run = CliRunner().invoke(chain_group, args[1:])
    assert run.exit_code == 0, run.output
    (backup,) = (tmp_path / "backups").glob("chain-*.db")
    _restores(backup, str(tmp_path / "fresh" / "chain.db"), head)


def test_rendered_postgres_script_backs_up_and_restores(pg: Any, tmp_path: Path) -> None:
    """The CronJob's shell script (pg_dump) runs against a real server, twice with keep=1;
    `subnetes chain restore` rebuilds a new database from what it wrote."""
    db = pg.create_database()
    head = _chain(db)
    (c,) = _job_pod(render("chain.backup.enabled=true", "chain.backup.keep=1", *PG))["containers"]
    assert c["command"] == ["/bin/sh", "-ec"]
    assert c["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "chain-db", "key": "url"}
    script = c["args"][0].replace("/backups/", f"{tmp_path}/")
    env = {
        **os.environ,
        "PATH": f"{pg.bindir}:{os.environ['PATH']}",
        "SUBNETES_DATABASE_URL": db,
    }
    for _ in range(2):
        r = subprocess.run(["/bin/sh", "-ec", script], env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"backup {tmp_path}/chain-")
        subprocess.run(["sleep", "1.1"], check=True)  # a new name each second
    (backup,) = tmp_path.glob("chain-*.pgdump")  # keep=1 deleted the first
    assert not list(tmp_path.glob("*.partial"))
    _restores(backup, pg.create_database(), head)
