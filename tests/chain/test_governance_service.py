"""Governance through the real chain service process and the ``subnetes governance`` CLI:
the senate forms -> a proposal -> votes -> it executes -> the changed parameter rules from the
vote's place in its block on; the events on the SSE stream; everything survives a restart."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from subnetes.chain.extrinsic import sign
from subnetes.chain.units import tao

from .conftest import ALICE, key
from .service import Service
from .test_cli import CLI, run

BOB, CAROL = key("Bob"), key("gsvc-carol")
VALS = [key(f"gsvc-v{i}") for i in range(3)]


class Chain:
    """Signs with local nonces and submits without waiting; blocks come from ``produce``."""

    def __init__(self, url: str) -> None:
        self.h = httpx.Client(base_url=url, timeout=30)
        self.genesis = self.h.get("/v1/chain").json()["genesis_hash"]
        self.nonces: dict[str, int] = {}

    def send(self, kp: Any, call: str, **args: Any) -> str:
        addr = kp.ss58_address
        n = self.nonces.get(addr)
        if n is None:
            n = self.h.get(f"/v1/accounts/{addr}").json()["nonce"]
        self.nonces[addr] = n + 1
        r = self.h.post(
            "/v1/extrinsics", params={"wait": "false"}, json=sign(kp, call, args, n, self.genesis)
        )
        assert r.status_code == 202, r.text
        return str(r.json()["hash"])

    def produce(self) -> int:
        return int(self.h.post("/v1/dev/produce").json()["head"])

    def outcome(self, xt_hash: str) -> dict[str, Any]:
        return dict(self.h.get(f"/v1/extrinsics/{xt_hash}").json())

    def queued(self) -> int:
        m = re.search(r"^subnetes_chain_queue_length (\S+)$", self.h.get("/metrics").text, re.M)
        return int(float(m.group(1))) if m else 0


def cli_while_producing(chain: Chain, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a CLI command that submits and waits for its block, producing blocks meanwhile."""
    proc = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 60
    while proc.poll() is None and time.time() < deadline:
        if chain.queued():
            chain.produce()
        time.sleep(0.1)
    out, err = proc.communicate(timeout=10)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def sse_events(url: str, from_block: int, until_block: int) -> list[tuple[str, dict[str, Any]]]:
    """(SSE event field, data) from ``from_block`` through the Block event of ``until_block``."""
    out: list[tuple[str, dict[str, Any]]] = []
    kind, data = "", ""
    with httpx.stream(
        "GET", url + "/v1/events", params={"from_block": from_block}, timeout=30
    ) as r:
        for line in r.iter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and data:
                ev = json.loads(data)
                out.append((kind, ev))
                kind, data = "", ""
                if ev["type"] == "Block" and ev["block"] >= until_block:
                    break
    return out


def test_senate_proposal_votes_execute_at_the_right_block(tmp_path: Path) -> None:
    svc = Service(tmp_path / "gov.db", extra_args=("--manual",), fake_consensus=True).start()
    e = ["--endpoint", svc.url]
    try:
        c = Chain(svc.url)
        for i, v in enumerate(VALS):  # three root validators: 30, 20, 10 TAO
            c.send(ALICE, "root_register", hotkey=v.ss58_address)
            c.send(ALICE, "add_stake", hotkey=v.ss58_address, amount=tao(30 - 10 * i))
        c.send(CAROL, "faucet", amount=tao(1000))
        start = c.produce()
        formed = c.produce()  # the senate forms at the start of the next block
        senate = json.loads(run("governance", "senate", "-o", "json", *e).stdout)
        assert [m["hotkey"] for m in senate["members"]] == [v.ss58_address for v in VALS]
        assert senate["parameters"]["subnet_limit"] == 8

        # v0 proposes through the CLI (signed by Alice, its coldkey): its own aye, 1 of 3
        r = cli_while_producing(
            c, "governance", "propose", "subnet_limit", "1", "--hotkey", "//gsvc-v0",
            "--key", "//Alice", *e,
        )  # fmt: skip
        assert r.returncode == 0 and "ProposalCreated" in r.stdout, r.stderr
        (p,) = json.loads(run("governance", "list", "--status", "open", "-o", "json", *e).stdout)
        assert (p["id"], p["name"], p["value"], len(p["ayes"])) == (0, "subnet_limit", 1, 1)
        r = cli_while_producing(  # refused when its block is built: the CLI waits for that
            c, "governance", "vote", "0", "aye", "--hotkey", "//gsvc-v0", "--key", "//Bob", *e
        )
        assert r.returncode == 1 and "NonAssociatedColdKey" in r.stderr  # Bob does not own v0

        # one block: Bob registers a subnet, v1's aye decides (2 of 3), Carol registers another.
        # Bob's registration saw the old limit (8); Carol's meets the new one (1): refused.
        before = c.h.get("/v1/network").json()
        assert (before["subnet_limit"], before["subnets"]) == (8, 0)
        bob_xt = c.send(BOB, "register_network", hotkey=key("gsvc-own1").ss58_address)
        voter = subprocess.Popen(
            [*CLI, "governance", "vote", "0", "aye", "--hotkey", "//gsvc-v1", "--key", "//Alice", *e],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.time() + 60
        while c.queued() < 2:  # the vote is queued behind Bob's registration
            assert voter.poll() is None and time.time() < deadline, voter.stderr
            time.sleep(0.05)
        carol_xt = c.send(CAROL, "register_network", hotkey=key("gsvc-own2").ss58_address)
        block = c.produce()
        out, err = voter.communicate(timeout=30)
        assert voter.returncode == 0 and "ProposalExecuted" in out, err
        assert c.outcome(bob_xt)["status"] == "in_block"
        refused = c.outcome(carol_xt)
        assert (refused["status"], refused["error"]) == ("rejected", "AllNetworksInImmunity")
        after = c.h.get("/v1/network").json()
        assert (after["subnet_limit"], after["subnets"]) == (1, 1)
        shown = json.loads(run("governance", "show", "0", "-o", "json", *e).stdout)
        assert (shown["status"], shown["closed_at"], len(shown["ayes"])) == ("executed", block, 2)
        r = cli_while_producing(
            c, "governance", "vote", "0", "nay", "--hotkey", "//gsvc-v2", "--key", "//Alice", *e
        )
        assert r.returncode == 1 and "ProposalNotOpen" in r.stderr

        # the stream told it all, in its blocks
        msgs = sse_events(svc.url, start, block)
        assert all(kind == ev["type"] for kind, ev in msgs)
        gov = [(ev["type"], ev["block"]) for _, ev in msgs if ev["type"] != "Block"]
        assert gov.count(("SenateJoined", formed)) == 3
        executed = [ev for _, ev in msgs if ev["type"] == "ProposalExecuted"]
        assert [(ev["block"], ev["value"], ev["ayes"]) for ev in executed] == [(block, 1, 2)]
        votes = [ev for _, ev in msgs if ev["type"] == "Voted"]
        assert [(ev["ayes"], ev["nays"]) for ev in votes] == [(1, 0), (2, 0)]

        # a restart keeps the senate, the proposal and the changed parameter
        svc.kill(signal.SIGTERM)
        svc.start()
        c = Chain(svc.url)
        assert c.h.get("/v1/network").json()["subnet_limit"] == 1
        assert c.h.get("/v1/governance/proposals/0").json()["status"] == "executed"
        assert len(c.h.get("/v1/governance/senate").json()["members"]) == 3
        assert c.h.get("/v1/governance/proposals/7").status_code == 404
    finally:
        svc.kill(signal.SIGTERM)
