"""The metagraph answer at a whole network's size (chain/read_cache.py): rows kept encoded
across blocks and re-encoded only when their chunks change, ETag / If-None-Match -> 304, gzip,
and the client asking with the ETag (chain/client.py)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from subnetes.chain import read_cache, views
from subnetes.chain.api import create_app
from subnetes.chain.client import AsyncChainClient
from subnetes.chain.read_cache import ReadCache, accepts_gzip, encode_json, etag_matches

from .conftest import ALICE, Net, key, slow_epoch_node, subnet_node


def _same_as_full_encode(reads: ReadCache, net: Net) -> None:
    """Every subnet's answer is byte for byte the JSON of the view at this block, and its lite
    answer the same without each row's weights."""
    st = net.st
    for s in st.subnets.values():
        view = views.metagraph(st, s)
        assert reads.encoded(st, net.ledger.head.hash, s).body == encode_json(view), s.netuid
        for row in view["neurons"]:
            del row["weights"]
        lite = reads.encoded(st, net.ledger.head.hash, s, lite=True).body
        assert lite == encode_json(view), s.netuid


def test_rows_kept_across_blocks_match_a_full_encode_at_every_block(dev: Net) -> None:
    """Registrations, stake, weights, an epoch, immunity running out (a row that changes with
    the block alone), a new immunity period and a UID taken by a new hotkey: after each block
    the joined rows are the full encoding's bytes."""
    reads = ReadCache()
    hot = [key(f"mc-{i}") for i in range(4)]
    dev.ok(ALICE, "register_network", hotkey=hot[0].ss58_address)
    _same_as_full_encode(reads, dev)
    for h in hot[1:3]:
        dev.ok(ALICE, "burned_register", netuid=1, hotkey=h.ss58_address)
        _same_as_full_encode(reads, dev)
    dev.ok(ALICE, "add_stake", hotkey=hot[2].ss58_address, amount=10**12)  # hotkey chunk only
    _same_as_full_encode(reads, dev)
    uid = dev.st.subnets[1].uid_of[hot[2].ss58_address]
    for _ in range(25):  # past an epoch (tempo 10) and the immunity period (20)
        dev.step()
        _same_as_full_encode(reads, dev)
    assert not any(
        views.metagraph(dev.st, dev.st.subnets[1])["neurons"][u]["immune"] for u in (0, 1)
    )
    dev.ok(hot[2], "set_weights", netuid=1, uids=[0, 1], values=[1, 2])
    _same_as_full_encode(reads, dev)
    assert views.metagraph(dev.st, dev.st.subnets[1])["neurons"][uid]["weights"]
    while (dev.block + 1 + 2) % 11 == 0:  # not in an epoch block (it rewrites every row)
        dev.step()
    _same_as_full_encode(reads, dev)
    dev.ok(ALICE, "sudo_set_hyperparameter", netuid=1, name="immunity_period", value=21)
    # immune_until of every row moved, no row's immune flag nor chunk changed
    _same_as_full_encode(reads, dev)
    dev.ok(ALICE, "sudo_set_hyperparameter", netuid=1, name="max_allowed_uids", value=3)
    dev.ok(ALICE, "burned_register", netuid=1, hotkey=hot[3].ss58_address)
    _same_as_full_encode(reads, dev)


def test_a_block_re_encodes_only_the_rows_it_changed(
    dev: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a block with one set_weights (no epoch, no immunity change) a read encodes that
    one row again, not the subnet's every row."""
    reads = ReadCache()
    vals = [key(f"mr-{i}") for i in range(5)]
    dev.ok(ALICE, "register_network", hotkey=vals[0].ss58_address)
    for v in vals[1:]:
        dev.ok(ALICE, "burned_register", netuid=1, hotkey=v.ss58_address)
    dev.ok(ALICE, "add_stake", hotkey=vals[1].ss58_address, amount=10**12)
    # immunity over, the next block is not an epoch block: (b + netuid + 1) % (tempo + 1) != 0
    dev.run_to(25)
    while (dev.block + 1 + 2) % 11 in (0, 1):
        dev.step()
    s = dev.st.subnets[1]
    reads.encoded(dev.st, dev.ledger.head.hash, s)
    calls: list[int] = []
    real = views.neuron
    monkeypatch.setattr(views, "neuron", lambda st, s, uid: calls.append(uid) or real(st, s, uid))
    dev.ok(vals[1], "set_weights", netuid=1, uids=[0, 2], values=[5, 6])
    body = reads.encoded(dev.st, dev.ledger.head.hash, dev.st.subnets[1]).body
    assert calls == [s.uid_of[vals[1].ss58_address]]
    assert body == encode_json(views.metagraph(dev.st, dev.st.subnets[1]))


def test_accept_encoding_and_if_none_match_parsing() -> None:
    assert accepts_gzip("gzip, deflate") and accepts_gzip("br;q=1.0, GZIP;q=0.5")
    assert accepts_gzip("*")
    assert not accepts_gzip(None) and not accepts_gzip("identity")
    assert not accepts_gzip("gzip;q=0") and not accepts_gzip("deflate, gzip;q=0.0")
    assert etag_matches('"a.1"', '"a.1"') and etag_matches('W/"a.1"', '"a.1"')
    assert etag_matches('"x.2", "a.1"', '"a.1"') and etag_matches("*", '"a.1"')
    assert not etag_matches('"a.1.gz"', '"a.1"') and not etag_matches(None, '"a.1"')
    assert not etag_matches("", '"a.1"')


async def test_gzip_is_off_unless_enabled(consensus_fn: Callable[..., Any]) -> None:
    """Without SUBNETES_CHAIN_GZIP=1 a reader accepting gzip gets the identity body."""
    node = subnet_node(consensus_fn)
    transport = httpx.ASGITransport(app=create_app(node))
    async with httpx.AsyncClient(transport=transport, base_url="http://chain") as client:
        r = await client.get("/v1/subnets/1/metagraph", headers={"accept-encoding": "gzip"})
        assert r.status_code == 200 and "content-encoding" not in r.headers
        assert not r.headers["etag"].endswith('.gz"')


async def test_etag_304_and_gzip_over_http(
    consensus_fn: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 with an ETag naming the block; the same ETag back -> 304 with no body; gzip (its own
    ETag) decodes to the identity bytes; after a block the old ETag gets the new answer."""
    monkeypatch.setenv("SUBNETES_CHAIN_GZIP", "1")
    node = subnet_node(consensus_fn)
    node.produce()
    app = create_app(node)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chain") as client:
        plain = await client.get("/v1/subnets/1/metagraph", headers={"accept-encoding": "identity"})
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        st = node.ledger.state
        assert plain.content == encode_json(views.metagraph(st, st.subnets[1]))
        tag = plain.headers["etag"]
        assert plain.headers["vary"] == "Accept-Encoding"
        same = await client.get(
            "/v1/subnets/1/metagraph",
            headers={"accept-encoding": "identity", "if-none-match": tag},
        )
        assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == tag
        gz = await client.get("/v1/subnets/1/metagraph", headers={"accept-encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip"
        assert gz.content == plain.content  # httpx decoded it
        assert gz.headers["etag"] != tag
        gz_again = await client.get(
            "/v1/subnets/1/metagraph",
            headers={"accept-encoding": "gzip", "if-none-match": gz.headers["etag"]},
        )
        assert gz_again.status_code == 304
        # the identity ETag does not validate the gzip representation
        other = await client.get(
            "/v1/subnets/1/metagraph", headers={"accept-encoding": "gzip", "if-none-match": tag}
        )
        assert other.status_code == 200
        await node.produce_async()
        new = await client.get(
            "/v1/subnets/1/metagraph",
            headers={"accept-encoding": "identity", "if-none-match": tag},
        )
        assert new.status_code == 200 and new.headers["etag"] != tag
        assert new.json()["block"] == plain.json()["block"] + 1
        missing = await client.get("/v1/subnets/9/metagraph")
        assert missing.status_code == 404 and "etag" not in missing.headers


def test_gzip_bytes_are_the_same_for_every_reader_of_a_block() -> None:
    """mtime 0: the gzip body (and so its strong ETag) is a function of the block alone."""
    enc = read_cache.Encoded(b'{"netuid":1}' * 50, "0xab", 1)
    assert enc.gzipped() is enc.gzipped()
    assert enc.gzipped() == read_cache.Encoded(enc.body, "0xab", 1).gzipped()
    assert gzip.decompress(enc.gzipped()) == enc.body


async def test_304_answers_while_a_block_is_built() -> None:
    """A poller holding the head's ETag gets its 304 at once while the next block (a slow
    epoch) is built: no state is read."""
    node, in_epoch = slow_epoch_node(1.0)
    app = create_app(node)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chain") as client:
        for _ in range(30):  # tempo 10: an epoch block comes within 11 blocks
            tag = (await client.get("/v1/subnets/1/metagraph")).headers["etag"]
            block = asyncio.create_task(node.produce_async())
            while not block.done() and not in_epoch.is_set():
                await asyncio.sleep(0.005)
            if in_epoch.is_set():
                break
            await block
        assert in_epoch.is_set() and not block.done()
        r = await client.get("/v1/subnets/1/metagraph", headers={"if-none-match": tag})
        assert r.status_code == 304
        assert not block.done(), "the 304 waited for the block"
        await block


async def test_client_asks_with_the_etag_and_reuses_its_copy(
    consensus_fn: Callable[..., Any],
) -> None:
    """AsyncChainClient.metagraph sends If-None-Match; a 304 returns the kept answer (a fresh
    copy each call); after a block it gets and keeps the new one."""
    node = subnet_node(consensus_fn)
    node.produce()
    app = create_app(node)
    statuses: list[int] = []

    async def hook(resp: httpx.Response) -> None:
        statuses.append(resp.status_code)

    c = AsyncChainClient("http://chain")
    c.http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://chain",
        event_hooks={"response": [hook]},
    )
    try:
        first = await c.metagraph(1)
        second = await c.metagraph(1)
        assert statuses == [200, 304]
        assert second == first and second is not first
        second["neurons"].clear()  # the caller's copy: the kept bytes are untouched
        assert (await c.metagraph(1)) == first
        await node.produce_async()
        after = await c.metagraph(1)
        assert statuses == [200, 304, 304, 200]
        assert after["block"] == first["block"] + 1
    finally:
        await c.aclose()


async def test_metagraph_reads_skip_the_router(consensus_fn: Callable[..., Any]) -> None:
    """A metagraph read of an existing subnet (encoded for the head, a 304, or a miss) is
    answered by the CommittedStateOnly middleware without entering FastAPI's router (with the
    edge's security headers); a missing subnet and a bad netuid still go to the route."""
    from subnetes.chain.api import CommittedStateOnly

    node = subnet_node(consensus_fn)
    node.produce()
    app = create_app(node)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chain") as client:
        first = await client.get("/v1/subnets/1/metagraph")  # builds the stack, encodes
        layer = app.middleware_stack
        while not isinstance(layer, CommittedStateOnly):
            layer = layer.app  # type: ignore[union-attr]
        routed: list[str] = []
        inner = layer.app

        async def counting(scope: Any, receive: Any, send: Any) -> None:
            routed.append(scope["path"])
            await inner(scope, receive, send)

        layer.app = counting
        again = await client.get("/v1/subnets/1/metagraph")
        assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
        assert again.headers["x-content-type-options"] == "nosniff"
        cond = await client.get(
            "/v1/subnets/1/metagraph", headers={"if-none-match": first.headers["etag"]}
        )
        assert cond.status_code == 304 and cond.headers["x-frame-options"] == "DENY"
        await node.produce_async()  # a miss of an existing subnet: encoded here too
        fresh = await client.get("/v1/subnets/1/metagraph")
        assert fresh.json()["block"] == first.json()["block"] + 1
        assert routed == []
        assert (await client.get("/v1/subnets/7/metagraph")).status_code == 404  # no subnet
        for bad in ("70000", "9" * 5000):
            r = await client.get(f"/v1/subnets/{bad}/metagraph")
            assert r.status_code == 400 and r.json()["error"] == "InvalidRequest"
        assert routed == ["/v1/subnets/7/metagraph", "/v1/subnets/70000/metagraph",
                          "/v1/subnets/" + "9" * 5000 + "/metagraph"]  # fmt: skip


async def test_lite_metagraph_over_http(consensus_fn: Callable[..., Any]) -> None:
    """?lite=true: the rows without weights (Bittensor's metagraph(lite=True)), its own ETag
    and 304, from the fast path and from the route alike; a bad value is the route's 422."""
    node = subnet_node(consensus_fn)
    node.produce()
    app = create_app(node)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chain") as client:
        full = await client.get("/v1/subnets/1/metagraph")
        assert all("weights" in row for row in full.json()["neurons"])
        for query in ("lite=true", "lite=1", "lite=True"):  # the last one: the route's parser
            lite = await client.get(f"/v1/subnets/1/metagraph?{query}")
            assert lite.status_code == 200, query
            want = [{k: v for k, v in r.items() if k != "weights"} for r in full.json()["neurons"]]
            assert lite.json()["neurons"] == want and lite.json()["block"] == full.json()["block"]
            assert lite.headers["etag"] != full.headers["etag"]
        tag = lite.headers["etag"]
        again = await client.get("/v1/subnets/1/metagraph?lite=1", headers={"if-none-match": tag})
        assert again.status_code == 304
        # the lite ETag does not validate the full representation
        other = await client.get("/v1/subnets/1/metagraph", headers={"if-none-match": tag})
        assert other.status_code == 200 and "weights" in other.json()["neurons"][0]
        bad = await client.get("/v1/subnets/1/metagraph?lite=maybe")
        assert bad.status_code == 400 and "lite" in bad.text


async def test_client_reads_a_lite_metagraph(consensus_fn: Callable[..., Any]) -> None:
    """AsyncChainClient.metagraph(lite=True) keeps its own copy and ETag per representation."""
    node = subnet_node(consensus_fn)
    node.produce()
    c = AsyncChainClient("http://chain")
    c.http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(node)), base_url="http://chain"
    )
    try:
        full = await c.metagraph(1)
        lite = await c.metagraph(1, lite=True)
        assert "weights" in full["neurons"][0] and "weights" not in lite["neurons"][0]
        assert await c.metagraph(1) == full and await c.metagraph(1, lite=True) == lite
    finally:
        await c.aclose()
