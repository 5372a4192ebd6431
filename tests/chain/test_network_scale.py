"""Fixes found by the whole-network benchmark (chain/bench_network.py), at tiny sizes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi.encoders import jsonable_encoder

from subnetes.chain import views
from subnetes.chain.api import _stream, create_app
from subnetes.chain.extrinsic import sign
from subnetes.chain.read_cache import ReadCache, encode_json
from subnetes.chain.state import Axon, Neuron
from subnetes.wire.codec import canonical

from .conftest import key, slow_epoch_node, subnet_node


def _reference_to_json(n: Neuron) -> dict:
    """The chunk JSON as it was built before (dataclasses.asdict, weights and bonds sorted)."""
    d = dataclasses.asdict(n)
    d["weights"] = sorted(n.weights.items())
    d["bonds"] = sorted(n.bonds.items())
    return d


def test_neuron_chunk_json_unchanged_and_round_trips() -> None:
    n = Neuron(
        uid=3,
        hotkey="5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX",
        registered_at=7,
        last_update=9,
        weights_block=9,
        weights={2: 65535, 0: 17},
        bonds={1: 5},
        validator_permit=True,
        incentive=12,
        total_emission=10**12,
        axon=Axon(block=4, ip="127.0.0.1", port=8091),
        commits=[["0x" + "ab" * 32, 5, 1]],
    )
    new = n.to_json()
    assert canonical(new) == canonical(_reference_to_json(n))  # same bytes: same state root
    back = Neuron.from_json(new)
    assert back == n
    # the chunk is a copy: changing it leaves the neuron alone
    new["commits"][0][1] = 99
    assert n.commits == [["0x" + "ab" * 32, 5, 1]]
    empty = Neuron(uid=0, hotkey=n.hotkey, registered_at=0, last_update=0)
    assert canonical(empty.to_json()) == canonical(_reference_to_json(empty))


async def test_metagraph_encoded_once_per_block_and_fresh_after_a_block(
    consensus_fn: Callable[..., Any],
) -> None:
    """The metagraph answer (chain/read_cache.py) is FastAPI's JSON of the view, the same
    bytes for every reader of a block, and a new block's state right after it commits."""
    node = subnet_node(consensus_fn)
    for _ in range(12):  # an epoch (tempo 10) gives the validator its permit
        node.produce()
    app = create_app(node)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chain") as client:
        first = await client.get("/v1/subnets/1/metagraph")
        st = node.ledger.state
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/json"
        assert first.content == encode_json(jsonable_encoder(views.metagraph(st, st.subnets[1])))
        assert (await client.get("/v1/subnets/1/metagraph")).content == first.content
        vali = key("sn-vali")
        uid = st.subnets[1].uid_of[vali.ss58_address]
        body = sign(vali, "set_weights", {"netuid": 1, "uids": [0, 1], "values": [1, 3]}, 0,
                    node.ledger.genesis_hash)  # fmt: skip
        sub = asyncio.create_task(client.post("/v1/extrinsics", json=body))
        while not node.queue:
            await asyncio.sleep(0.005)
        await node.produce_async()
        res = await sub
        assert res.status_code == 200, res.text
        after = (await client.get("/v1/subnets/1/metagraph")).json()
        assert after["block"] == node.ledger.head.number == first.json()["block"] + 1
        assert after["neurons"][uid]["weights"] == [[0, 21845], [1, 65535]]
        assert (await client.get("/v1/subnets/9/metagraph")).status_code == 404


class _Connected:
    async def is_disconnected(self) -> bool:
        return False


async def test_event_stream_writes_each_block_once_encoded_and_resumes_inside_a_block(
    consensus_fn: Callable[..., Any],
) -> None:
    """The stream sends a block's events as one write of the messages it sent one by one
    before (same ids, types and data), shared by all subscribers; Last-Event-ID inside a
    block still resumes after that event."""
    node = subnet_node(consensus_fn)
    for _ in range(3):
        node.produce()
    reads = ReadCache()
    start = node.ledger.head.number - 2  # the node's own blocks (in memory: kept in recent)
    recs = [node.block(n) for n in range(start, node.ledger.head.number + 1)]
    one_by_one = [
        f"id: {r.number}:{ev['index']}\nevent: {ev['type']}\n"
        f"data: {json.dumps(ev, separators=(',', ':'))}\n\n".encode()
        for r in recs
        for ev in r.events
    ]
    stream = _stream(node, reads, _Connected(), start, -1)  # type: ignore[arg-type]
    assert await anext(stream) == b": subnetes chain events\n\n"
    got = [await anext(stream) for _ in recs]
    await stream.aclose()
    assert b"".join(got) == b"".join(one_by_one)
    assert reads.block_events(recs[0]) is got[0]  # the same bytes for the next subscriber
    # resume after event 0 of block ``start``: that block's later events, then the next block
    resumed = _stream(node, reads, _Connected(), start, 0)  # type: ignore[arg-type]
    await anext(resumed)
    want = b"".join(one_by_one[1:])
    rest = b""
    while len(rest) < len(want):
        rest += await anext(resumed)
    await resumed.aclose()
    assert rest == want


async def test_cached_metagraph_answers_while_a_block_is_built() -> None:
    """A metagraph already encoded for the head answers at once while the next block (here a
    slow epoch) is built: it is the committed head's. Other reads still wait for the commit,
    and the next metagraph read is the new block's."""
    node, in_epoch = slow_epoch_node(1.0)
    app = create_app(node)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chain") as client:
        for _ in range(30):  # tempo 10: an epoch block comes within 11 blocks
            head = node.ledger.head.number
            await client.get("/v1/subnets/1/metagraph")  # encoded for this head
            block = asyncio.create_task(node.produce_async())
            while not block.done() and not in_epoch.is_set():
                await asyncio.sleep(0.005)
            if in_epoch.is_set():
                break
            await block
        assert in_epoch.is_set() and not block.done()
        meta = await client.get("/v1/subnets/1/metagraph")
        assert not block.done(), "the cached metagraph waited for the block"
        assert meta.json()["block"] == head
        subnet = await client.get("/v1/subnets/1")  # not cached: waits for the commit
        assert block.done() and subnet.json()["last_epoch_block"] == head + 1
        fresh = await client.get("/v1/subnets/1/metagraph")
        assert fresh.json()["block"] == head + 1


def test_node_with_storage_keeps_few_blocks_in_memory(
    tmp_path: Path, consensus_fn: Callable[..., Any]
) -> None:
    """With storage the node keeps RECENT_BLOCKS_STORED block records in memory (at a whole
    network's size one is about 0.8 MB: 2048 of them were 1.6 GB) and reads older ones back."""
    from subnetes.chain.ledger import Ledger
    from subnetes.chain.node import RECENT_BLOCKS_STORED, Node
    from subnetes.chain.params import dev_config

    ledger = Ledger.open(dev_config(), str(tmp_path / "chain.db"), consensus_fn)
    node = Node(ledger, 0.25, manual=True)
    try:
        produced = [node.produce() for _ in range(RECENT_BLOCKS_STORED + 6)]
        assert len(node.recent) == RECENT_BLOCKS_STORED
        assert min(node.recent) == produced[-1].number - RECENT_BLOCKS_STORED + 1
        assert node.block(2) == produced[1]  # read back from storage
        assert [r.number for r in node.blocks_from(1, 5)] == [1, 2, 3, 4, 5]
    finally:
        assert ledger.storage is not None
        ledger.storage.close()


def test_loaded_state_is_out_of_full_garbage_collections(consensus_fn: Callable[..., Any]) -> None:
    """The server freezes what it loaded (a full collection walked the whole state: 130 ms CPU
    at 128 x 256, in the middle of a block)."""
    import gc

    from subnetes.chain.server import freeze_loaded_state

    node = subnet_node(consensus_fn)
    neuron = node.ledger.state.subnets[1].neurons[1]
    assert any(o is neuron for o in gc.get_objects())
    try:
        freeze_loaded_state()
        assert gc.get_freeze_count() > 0
        assert not any(o is neuron for o in gc.get_objects())
    finally:
        gc.unfreeze()


def test_extrinsic_hash_is_computed_once(monkeypatch: Any) -> None:
    """The node reads an extrinsic's hash several times (admission, queue, block, result): the
    canonical JSON of a large body is hashed once."""
    from subnetes.chain.extrinsic import parse
    from subnetes.wire import signing

    body = sign(key("Alice"), "set_weights", {"netuid": 1, "uids": [0, 1], "values": [1, 2]}, 0,
                "0x" + "00" * 32)  # fmt: skip
    xt = parse(body)
    calls = []
    real = signing.canonical
    monkeypatch.setattr(signing, "canonical", lambda o: calls.append(1) or real(o))
    first = xt.hash
    assert xt.hash == first == signing.hex_hash(real(body))
    assert len(calls) == 1
