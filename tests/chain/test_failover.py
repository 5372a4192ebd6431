"""Failover (issue 18 #5): two real chain processes on one real PostgreSQL database, one leading
(producing blocks), one standing by (chain/failover.py).

Under a load of submitted extrinsics the leader is killed (-9) three times, each time the
standby takes over and the killed one comes back as the standby; a leader paused (SIGSTOP) past
the takeover bound is replaced and, resumed, commits nothing more. From the database: the hash
chain is whole and the state root is the head's, every extrinsic acknowledged as in a block is
in that block, the balances and the issuance agree with the blocks' events, and each leader
epoch committed one contiguous run of blocks. Readers are answered by every running replica
throughout. Takeover times are printed (``-s``); SUBNETES_FAILOVER_REPS sets how many kills.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from bittensor_wallet import Keypair

from subnetes.chain.extrinsic import sign

from .chain_data import check_chain
from .ledger_audit import audit
from .service import Service

BLOCK_TIME = 0.1
TAKEOVER_AFTER = 1.0  # seconds without a heartbeat before the standby ends the leader's session
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/chain"  # nothing listens on port 1
REPS = int(os.environ.get("SUBNETES_FAILOVER_REPS", "3"))


def replica(db: str, tmp_path: Path, name: str) -> Service:
    return Service(
        db,
        block_time=BLOCK_TIME,
        ready=tmp_path / f"{name}.ready",
        extra_args=("--failover", "--takeover-after", str(TAKEOVER_AFTER)),
        fake_consensus=True,
        log=tmp_path / f"{name}.log",
    )


def role(svc: Service) -> str:
    return str(httpx.get(svc.url + "/v1/replica", timeout=10).json()["role"])


def leader_epochs(db: str) -> dict[int, dict[str, Any]]:
    """epoch -> {node, url, first_block, last_block} as the leaders wrote them."""
    with psycopg.connect(db) as c:
        rows = c.execute("SELECT key, value FROM chain_meta WHERE key LIKE 'leader/%'").fetchall()
    return {int(k.split("/")[1]): json.loads(v) for k, v in rows}


def current_epoch(db: str) -> int:
    """The leader row's epoch (the fencing token)."""
    with psycopg.connect(db) as c:
        row = c.execute("SELECT value FROM chain_meta WHERE key = 'leader'").fetchone()
    assert row is not None
    return int(json.loads(row[0])["epoch"])


def wait_new_epoch_block(db: str, old_epoch: int, timeout: float = 30) -> int:
    """Wait until a later epoch than ``old_epoch`` committed its first block; returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        epoch = current_epoch(db)
        if epoch > old_epoch:
            e = leader_epochs(db)[epoch]
            if e["last_block"] is not None and e["last_block"] >= e["first_block"]:
                return epoch
        time.sleep(0.02)
    raise AssertionError(f"no block from a new leader within {timeout} s")


class Traffic:
    """A submitting client (faucet calls from fresh keys, wait=true, to the replicas in
    ``targets`` in turn) and a reader polling every replica in ``up``."""

    def __init__(self, genesis: str) -> None:
        self.genesis = genesis
        self.lock = threading.Lock()
        self.targets: list[str] = []
        self.up: set[str] = set()
        self.acked: dict[str, tuple[str, int]] = {}  # hash -> (address, block)
        self.addresses: list[str] = []
        self.reads: dict[str, int] = {}
        self.read_failures: list[str] = []
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._submit, daemon=True),
            threading.Thread(target=self._read, daemon=True),
        ]

    def set(self, targets: list[Service], up: list[Service]) -> None:
        with self.lock:
            self.targets = [s.url for s in targets]
            self.up = {s.url for s in up}

    def _submit(self) -> None:
        i = 0
        with httpx.Client(timeout=15) as h:
            while not self.stop.is_set():
                i += 1
                with self.lock:
                    target = self.targets[i % len(self.targets)] if self.targets else None
                if target is None:
                    time.sleep(0.05)
                    continue
                kp = Keypair.create_from_uri(f"//failover-load-{i}")
                body = sign(kp, "faucet", {"amount": 1000 + i}, 0, self.genesis)
                self.addresses.append(kp.ss58_address)
                try:
                    r = h.post(target + "/v1/extrinsics", json=body)
                except httpx.HTTPError:
                    continue  # its replica died: not acknowledged
                if r.status_code == 200:
                    self.acked[r.json()["hash"]] = (kp.ss58_address, r.json()["block"])

    def _read(self) -> None:
        with httpx.Client(timeout=10) as h:
            while not self.stop.is_set():
                with self.lock:
                    up = sorted(self.up)
                for url in up:
                    try:
                        r = h.get(url + "/v1/blocks/latest")
                        r.raise_for_status()
                        h.get(url + "/v1/network").raise_for_status()
                        self.reads[url] = self.reads.get(url, 0) + 1
                    except httpx.HTTPError as e:
                        with self.lock:
                            if url in self.up:  # not taken down meanwhile by the test
                                self.read_failures.append(f"{url}: {e!r}")
                time.sleep(0.02)

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


@pytest.fixture
def pair(pg: Any, tmp_path: Path) -> Iterator[tuple[str, Service, Service]]:
    """A fresh database and two replicas started at once: (db, the leader, the standby)."""
    db = pg.create_database("failover")
    a, b = replica(db, tmp_path, "a"), replica(db, tmp_path, "b")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for started in [pool.submit(a.start), pool.submit(b.start)]:
            started.result()
    roles = {role(a), role(b)}
    assert roles == {"leader", "standby"}, roles  # exactly one took the lock
    try:
        yield (db, a, b) if role(a) == "leader" else (db, b, a)
    finally:
        for s in (a, b):
            if s.proc and s.proc.poll() is None:
                s.proc.send_signal(signal.SIGCONT)
                s.kill()


def stop(a: Service, b: Service) -> None:
    """Stop both replicas, the standby first (a leader stopped first hands over: one more epoch)."""
    first, second = (b, a) if role(a) == "leader" else (a, b)
    first.kill(signal.SIGTERM)
    second.kill(signal.SIGTERM)


def check_db(db: str, traffic: Traffic) -> dict[int, dict[str, Any]]:
    """Everything the database must say after failovers (replicas stopped)."""
    blocks, _, _ = check_chain(db)  # hash chain links, no gap, state root is the head's
    with psycopg.connect(db) as c:
        index = dict(c.execute("SELECT hash, block FROM chain_xt_index").fetchall())
        records = [
            json.loads(r[0])
            for r in c.execute("SELECT record FROM chain_blocks ORDER BY number").fetchall()
        ]
    for xt_hash, (_addr, block) in traffic.acked.items():
        assert index.get(xt_hash) == block, f"acknowledged {xt_hash} in block {block}: not there"
    from subnetes.chain.ledger import Ledger
    from subnetes.chain.params import dev_config

    ledger = Ledger.open(dev_config(), db)
    try:
        st = ledger.state
        audit(
            records,
            st.g.issuance,
            lambda a: st.accounts[a].balance if a in st.accounts else 0,
            traffic.addresses,
        )
    finally:
        assert ledger.storage is not None
        ledger.storage.close()
    epochs = leader_epochs(db)
    runs = sorted((e["first_block"], e["last_block"], n) for n, e in epochs.items())
    expected = 1
    for first, last, _n in runs:  # each epoch: one run, right after the previous one
        if last is None or last < first:
            continue  # an epoch that committed nothing (claimed, then lost)
        assert first == expected, runs
        expected = last + 1
    assert expected == blocks, (runs, blocks)
    return epochs


def summary(name: str, times: list[float]) -> str:
    return (
        f"{name}: n={len(times)} min {min(times):.2f} s, median {statistics.median(times):.2f} s,"
        f" max {max(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)})"
    )


def test_kill_the_leader_repeatedly_under_load(pair: tuple[str, Service, Service]) -> None:
    db, a, b = pair
    genesis = httpx.get(a.url + "/v1/chain").json()["genesis_hash"]
    # the standby forwards a submission to the leader and answers with its block
    body = sign(
        Keypair.create_from_uri("//failover-forwarded"), "faucet", {"amount": 7}, 0, genesis
    )
    r = httpx.post(b.url + "/v1/extrinsics", json=body, timeout=30)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 10
    while httpx.get(f"{b.url}/v1/extrinsics/{r.json()['hash']}").json()["status"] != "in_block":
        assert time.monotonic() < deadline, "the standby does not find the committed extrinsic"
        time.sleep(0.05)
    times = []
    with Traffic(genesis) as traffic:
        traffic.set([a, b], [a, b])
        for _ in range(REPS):
            leader, standby = (a, b) if role(a) == "leader" else (b, a)
            assert role(standby) == "standby"
            time.sleep(1.0)  # load lands on the leader (and through the standby)
            epoch = current_epoch(db)
            traffic.set([standby], [standby])
            t0 = time.monotonic()
            leader.kill(signal.SIGKILL)
            wait_new_epoch_block(db, epoch)
            times.append(time.monotonic() - t0)
            assert role(standby) == "leader"
            leader.start()  # back, as the standby
            assert role(leader) == "standby"
            traffic.set([a, b], [a, b])
        time.sleep(0.5)
    stop(a, b)
    print("\n" + summary("takeover after kill -9 (kill -> first block of the new leader)", times))
    assert len(traffic.acked) > 20, "the load was not acknowledged"
    assert not traffic.read_failures, traffic.read_failures[:5]
    assert traffic.reads.get(a.url, 0) > 10 and traffic.reads.get(b.url, 0) > 10
    epochs = check_db(db, traffic)
    assert len(epochs) == REPS + 1


def test_a_paused_leader_never_commits_after_the_takeover(
    pair: tuple[str, Service, Service],
) -> None:
    """SIGSTOP the leader past the takeover bound (REPS times, the leader of the moment): the
    standby takes over; resumed, the old leader commits nothing (its epoch's last block, which
    every commit of it rewrites in the block's transaction, never moves) and stands by."""
    db, a, b = pair
    genesis = httpx.get(a.url + "/v1/chain").json()["genesis_hash"]
    times: list[float] = []
    frozen: dict[int, int] = {}  # a paused leader's epoch -> its last block at the takeover
    with Traffic(genesis) as traffic:
        traffic.set([a, b], [a, b])
        for _ in range(REPS):
            leader, standby = (a, b) if role(a) == "leader" else (b, a)
            assert leader.proc is not None and leader.log is not None
            time.sleep(0.5)
            old_epoch = current_epoch(db)
            lost_before = leader.log.read_text().count("lost leadership")
            traffic.set([standby], [standby])
            t0 = time.monotonic()
            leader.proc.send_signal(signal.SIGSTOP)
            new_epoch = wait_new_epoch_block(db, old_epoch)
            times.append(time.monotonic() - t0)
            assert new_epoch == old_epoch + 1 and role(standby) == "leader"
            frozen[old_epoch] = leader_epochs(db)[old_epoch]["last_block"]
            time.sleep(TAKEOVER_AFTER / 2)  # still paused, further past the bound
            leader.proc.send_signal(signal.SIGCONT)
            deadline = time.monotonic() + 20
            while leader.log.read_text().count("lost leadership") == lost_before:
                assert time.monotonic() < deadline, leader.log.read_text()[-3000:]
                time.sleep(0.05)
            assert role(leader) == "standby"
            traffic.set([a, b], [a, b])
        time.sleep(0.5)
    stop(a, b)
    print("\n" + summary("takeover after SIGSTOP (stop -> first block of the new leader)", times))
    assert all(TAKEOVER_AFTER < t < TAKEOVER_AFTER + 5 for t in times), times
    epochs = check_db(db, traffic)  # one contiguous run of blocks per epoch, in epoch order
    for epoch, last in frozen.items():
        assert epochs[epoch]["last_block"] == last, (epoch, epochs[epoch], last)
        assert epochs[epoch + 1]["first_block"] == last + 1
    assert len(epochs) == REPS + 1
    assert not traffic.read_failures, traffic.read_failures[:5]
    assert len(traffic.acked) > 10, "the load was not acknowledged"


def test_run_with_an_unreachable_database_says_so_in_one_line(tmp_path: Path) -> None:
    """`chain run` against a PostgreSQL server that does not answer: one error line, exit 1
    (it printed SQLAlchemy's traceback)."""
    r = subprocess.run(
        [sys.executable, "-m", "subnetes.chain", "chain", "run", "--db", UNREACHABLE],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: cannot use the database: connection failed"), lines
