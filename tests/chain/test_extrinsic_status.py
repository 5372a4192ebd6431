"""Extrinsic status is what the blocks say, and survives restarts (issue 13 #3).

The same signed body submitted twice answers the original's status (202 queued while it waits,
the original's 200 once committed) instead of a second attempt that fails ``StaleNonce`` and
overwrote the status; ``GET /v1/extrinsics/{hash}`` finds a committed extrinsic through the
extrinsic index kept with the blocks (one transaction), so it answers ``in_block`` after a
restart too, and databases written before the index are indexed when opened.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from subnetes.chain.errors import ChainError, ErrorName
from subnetes.chain.extrinsic import parse, sign, verify_signature
from subnetes.chain.ledger import Ledger
from subnetes.chain.node import Node
from subnetes.chain.params import dev_config
from subnetes.chain.storage import XT_INDEX_META, Storage, meta, xt_index
from subnetes.chain.units import tao

from .conftest import ALICE, key
from .service import Service

BOB = key("status-dest")  # no genesis balance: what it holds was sent here


def transfer(genesis: str, nonce: int, amount: int = 1) -> dict[str, Any]:
    return sign(ALICE, "transfer", {"dest": BOB.ss58_address, "amount": amount}, nonce, genesis)


def test_duplicate_into_one_block_keeps_the_original_status(consensus_fn: Any) -> None:
    async def run() -> None:
        node = Node(Ledger.open(dev_config(), None, consensus_fn), 1.0, manual=True)
        body = transfer(node.ledger.genesis_hash, 0)
        xt, out = await node.submit(body, wait=False)
        assert out is None and node.status(xt.hash) == {"status": "queued"}
        xt2, out2 = await node.submit(dict(body), wait=True)  # the same body, while queued
        assert xt2.hash == xt.hash and out2 is None
        assert len(node.queue) == 1  # not a second attempt
        rec = await node.produce_async()
        assert [x["hash"] for x in rec.extrinsics] == [xt.hash]
        first = node.status(xt.hash)
        assert first is not None and first["status"] == "in_block" and first["block"] == 1
        _, again = await node.submit(body, wait=True)  # the same body, once committed
        assert again is not None and again.error is None and again.index == first["index"]
        assert again.events == first["events"] and again.events
        await node.produce_async()
        assert node.status(xt.hash) == first  # never overwritten (was rejected/StaleNonce)
        assert node.ledger.state.balance(BOB.ss58_address) == 1  # applied once

    asyncio.run(run())


def test_a_rejected_body_may_be_submitted_again(consensus_fn: Any) -> None:
    """A rejection is not final (it is in no block): the same body is a new attempt later."""

    async def run() -> None:
        node = Node(Ledger.open(dev_config(), None, consensus_fn), 1.0, manual=True)
        g = node.ledger.genesis_hash
        stranger = key("status-stranger")

        def fund(nonce: int) -> dict[str, Any]:
            args = {"dest": stranger.ss58_address, "amount": tao(1)}
            return sign(ALICE, "transfer", args, nonce, g)

        await node.submit(fund(0), wait=False)
        await node.produce_async()
        body = sign(stranger, "transfer", {"dest": BOB.ss58_address, "amount": tao(2)}, 0, g)
        xt, _ = await node.submit(body, wait=False)
        await node.produce_async()
        res = node.status(xt.hash)
        assert res is not None and res["status"] == "rejected"
        await node.submit(fund(1), wait=False)
        await node.submit(fund(2), wait=False)
        await node.produce_async()
        _, out = await node.submit(body, wait=False)  # funded now: a new attempt, queued
        assert out is None and node.status(xt.hash) == {"status": "queued"}
        await node.produce_async()
        res = node.status(xt.hash)
        assert res is not None and res["status"] == "in_block", res

    asyncio.run(run())


def test_the_index_is_durable_and_backfilled(new_db: Callable[[], str], consensus_fn: Any) -> None:
    db = new_db()  # SQLite and PostgreSQL
    ledger = Ledger.open(dev_config(), db, consensus_fn)
    g = ledger.genesis_hash
    xts = [parse(transfer(g, n)) for n in range(3)]
    ledger.step([(x, False) for x in xts[:2]])
    ledger.step([(xts[2], False)])
    many = [parse(transfer(g, n)) for n in range(3, 603)]  # more than one IN list of the backfill
    ledger.step([(x, False) for x in many])
    want = {xts[0].hash: (1, 0), xts[1].hash: (1, 1), xts[2].hash: (2, 0)}
    want |= {x.hash: (3, i) for i, x in enumerate(many)}
    assert {h: ledger.find_extrinsic(h) for h in want} == want
    assert ledger.storage is not None
    ledger.storage.close()

    reopened = Ledger.open(dev_config(), db, consensus_fn)
    assert {h: reopened.find_extrinsic(h) for h in want} == want
    assert reopened.find_extrinsic("0x" + "00" * 32) is None
    assert reopened.storage is not None
    # a database written before the index existed: no rows, no marker
    with reopened.storage.engine.begin() as c:
        c.execute(xt_index.delete())
        c.execute(meta.delete().where(meta.c.key == XT_INDEX_META))
    reopened.storage.close()
    storage = Storage(db)
    try:
        assert {h: storage.extrinsic(h) for h in want} == want
        with storage.engine.connect() as c:
            assert c.execute(sa.select(sa.func.count()).select_from(xt_index)).scalar() == 603
    finally:
        storage.close()


def test_status_and_duplicates_across_a_restart_of_the_real_chain(tmp_path: Path) -> None:
    """The real process: wait=false, committed, killed (-9), restarted: the status is still
    in_block, and the same body again answers the original's 200, not 409."""
    db = tmp_path / "restart.db"
    svc = Service(db, extra_args=("--manual",), fake_consensus=True).start()
    try:
        with httpx.Client(base_url=svc.url, timeout=30) as h:
            g = h.get("/v1/chain").json()["genesis_hash"]
            body = transfer(g, 0)
            r = h.post("/v1/extrinsics", params={"wait": "false"}, json=body)
            assert r.status_code == 202, r.text
            xt_hash = r.json()["hash"]
            dup = h.post("/v1/extrinsics", params={"wait": "false"}, json=body)
            assert dup.status_code == 202 and dup.json()["hash"] == xt_hash
            assert h.post("/v1/dev/produce").status_code == 200
            status = h.get(f"/v1/extrinsics/{xt_hash}").json()
            assert status["status"] == "in_block" and status["block"] == 1, status
            assert len(h.get("/v1/blocks/1").json()["extrinsics"]) == 1
            first = h.post("/v1/extrinsics", json=body)  # committed: the original's answer
            assert first.status_code == 200, first.text
            assert first.json() == {
                "hash": xt_hash,
                "block": 1,
                "index": status["index"],
                "events": status["events"],
            }
    finally:
        svc.kill(signal.SIGKILL)

    svc2 = Service(db, extra_args=("--manual",), fake_consensus=True).start()
    try:
        with httpx.Client(base_url=svc2.url, timeout=30) as h:
            assert h.get(f"/v1/extrinsics/{xt_hash}").json() == status
            again = h.post("/v1/extrinsics", json=body)
            assert again.status_code == 200 and again.json() == first.json()
            assert h.post("/v1/dev/produce").status_code == 200
            assert h.get(f"/v1/extrinsics/{xt_hash}").json() == status
            bob = h.get(f"/v1/accounts/{BOB.ss58_address}").json()["balance"]
            assert bob == 1
    finally:
        svc2.kill(signal.SIGTERM)


def test_a_signature_has_one_spelling(consensus_fn: Any) -> None:
    """A respelled signature (upper case, whitespace, no 0x) verified before, making another
    body and hash for the same extrinsic: it slipped past duplicate detection, and its text was
    stored in the block as sent. Now only what ``sign`` writes is accepted."""
    g = Ledger.open(dev_config(), None, consensus_fn).genesis_hash
    body = transfer(g, 0)
    verify_signature(parse(body), g)
    sig = body["signature"]
    for variant in (
        sig.upper().replace("0X", "0x"),
        sig[2:],
        "0x" + " ".join(sig[i : i + 2] for i in range(2, len(sig), 2)),
        sig + "\n",
        "0x" + sig[2:66] + "\n" + sig[66:],
    ):
        with pytest.raises(ChainError) as info:
            verify_signature(parse({**body, "signature": variant}), g)
        assert info.value.name == ErrorName.BAD_SIGNATURE, variant


def test_a_new_body_is_admitted_without_a_ledger_lookup(consensus_fn: Any) -> None:
    """Only a used nonce can be a committed duplicate: fresh submissions ask the ledger's
    extrinsic index nothing (a database query on the event loop per submission before)."""

    async def run() -> None:
        node = Node(Ledger.open(dev_config(), None, consensus_fn), 1.0, manual=True)
        lookups: list[str] = []
        find = node.ledger.find_extrinsic

        def counted(xt_hash: str) -> tuple[int, int] | None:
            lookups.append(xt_hash)
            return find(xt_hash)

        node.ledger.find_extrinsic = counted  # type: ignore[method-assign]
        g = node.ledger.genesis_hash
        bodies = [transfer(g, nonce) for nonce in range(3)]
        for body in bodies:
            await node.submit(body, wait=False)
        await node.produce_async()
        assert lookups == []  # three new bodies
        _, again = await node.submit(bodies[1], wait=True)  # committed: found in the ledger
        assert again is not None and again.error is None and len(lookups) == 1
        stale = transfer(g, 1, amount=2)  # a used nonce, another body: looked up, then refused
        with pytest.raises(ChainError) as e:
            await node.submit(stale, wait=False)
        assert e.value.name == ErrorName.STALE_NONCE and len(lookups) == 2
        assert node.ledger.state.balance(BOB.ss58_address) == 3  # each transfer applied once

    asyncio.run(run())
