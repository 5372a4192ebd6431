"""One client core, two faces (issue 12 #2): the core's operations are pure (scripted answers,
no network), and the sync and async faces run the same operations with the same requests."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import httpx
import pytest

from subnetes.chain.client import (
    AsyncChainClient,
    ChainClient,
    ChainCore,
    Request,
    Sleep,
    Steps,
)
from subnetes.wire.errors import ChainError
from subnetes.wire.signing import parse, verify_signature

from .conftest import ALICE, key

GENESIS = "0x" + "ab" * 32


def answer(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def drive(steps: Steps[Any], script: list[tuple[str, str, httpx.Response]]) -> tuple[Any, list]:
    """Run a core operation against scripted (method, path, answer) steps; returns its result
    and every step it yielded."""
    seen: list[Request | Sleep] = []
    script = list(script)
    try:
        step = next(steps)
        while True:
            seen.append(step)
            if isinstance(step, Sleep):
                step = steps.send(None)
                continue
            method, path, resp = script.pop(0)
            assert (step.method, step.path) == (method, path)
            step = steps.send(resp)
    except StopIteration as done:
        assert not script, f"unused answers: {script}"
        return done.value, seen


def test_submit_retries_a_stale_nonce_with_a_fresh_one() -> None:
    core = ChainCore(retries=2)
    stale = answer(409, {"error": "StaleNonce", "message": "used"})
    ok = answer(200, {"hash": "0x1", "block": 9, "index": 0, "events": []})
    out, steps = drive(
        core.submit(ALICE, "transfer", {"dest": key("Bob").ss58_address, "amount": 1}),
        [
            ("GET", "/v1/accounts/" + ALICE.ss58_address, answer(200, {"nonce": 3})),
            ("GET", "/v1/chain", answer(200, {"genesis_hash": GENESIS})),
            ("POST", "/v1/extrinsics", stale),
            ("GET", "/v1/accounts/" + ALICE.ss58_address, answer(200, {"nonce": 4})),
            ("POST", "/v1/extrinsics", ok),
        ],
    )
    assert out["block"] == 9 and core.nonces[ALICE.ss58_address] == 5
    posts = [s for s in steps if isinstance(s, Request) and s.method == "POST"]
    assert [p.json["nonce"] for p in posts] == [3, 4]
    assert any(isinstance(s, Sleep) for s in steps)
    for p in posts:  # signed through subnetes.wire.signing, verifiable by the chain
        verify_signature(parse(p.json), GENESIS)
    assert posts[0].params == {"wait": "true"}
    # the genesis hash and the next nonce are remembered: the next submit is one POST
    out, _ = drive(
        core.submit(ALICE, "faucet", {"amount": 1}, wait=False),
        [("POST", "/v1/extrinsics", answer(202, {"hash": "0x2", "status": "queued"}))],
    )
    assert out["status"] == "queued" and core.nonces[ALICE.ss58_address] == 6


def test_a_rule_refusal_raises_and_forgets_the_nonce() -> None:
    core = ChainCore()
    core.nonces[ALICE.ss58_address], core.genesis = 7, GENESIS
    refused = answer(422, {"error": "SettingWeightsTooFast", "message": "later"})
    with pytest.raises(ChainError) as info:
        drive(
            core.submit(ALICE, "set_weights", {"netuid": 1}),
            [("POST", "/v1/extrinsics", refused)],
        )
    assert info.value.name == "SettingWeightsTooFast"
    assert ALICE.ss58_address not in core.nonces


def test_reads_parse_answers() -> None:
    core = ChainCore()
    missing = answer(404, {"error": "NotFound", "message": "no such hotkey"})
    assert drive(core.hotkey("5abc"), [("GET", "/v1/hotkeys/5abc", missing)])[0] is None
    regs = answer(200, {"registrations": [{"netuid": 1, "uid": 4}]})
    assert drive(core.uid_of(1, "5abc"), [("GET", "/v1/hotkeys/5abc", regs)])[0] == 4
    assert drive(core.burn(2), [("GET", "/v1/subnets/2/burn", answer(200, {"burn": "5"}))])[0] == 5
    proxy = httpx.Response(502, text="<html>bad gateway</html>")
    with pytest.raises(ChainError) as info:
        drive(core.network(), [("GET", "/v1/network", proxy)])
    assert info.value.name == "HTTPError"


def _public(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")} - {"close", "aclose"}


def test_the_faces_have_the_same_methods_and_send_the_same_requests() -> None:
    assert _public(ChainClient) == _public(AsyncChainClient)
    for name in ("submit", "events"):
        params = inspect.signature(getattr(ChainClient, name)).parameters
        assert params == inspect.signature(getattr(AsyncChainClient, name)).parameters
    log: dict[str, list[tuple[str, str, Any]]] = {"sync": [], "async": []}

    def handler(face: str) -> Any:
        def handle(req: httpx.Request) -> httpx.Response:
            body = json.loads(req.content) if req.content else None
            if body:  # sr25519 signatures are randomized: compare what was signed
                body.pop("signature")
            log[face].append((req.method, str(req.url), body))
            if req.url.path == "/v1/chain":
                return answer(200, {"genesis_hash": GENESIS})
            if req.url.path.startswith("/v1/accounts/"):
                return answer(200, {"nonce": 0})
            if req.url.path == "/v1/extrinsics":
                body = json.loads(req.content)
                return answer(200, {"hash": "0x", "block": 1, "index": body["nonce"]})
            return answer(200, {"lock_cost": 10, "path": req.url.path})

        return handle

    def calls(c: Any) -> list[Any]:
        return [
            c.lock_cost(),
            c.metagraph(3),
            c.neuron(3, 2),
            c.register_network(ALICE, key("hk").ss58_address),
            c.add_stake(ALICE, key("hk").ss58_address, 5),
        ]

    sync = ChainClient("http://chain.test")
    sync.http = httpx.Client(
        base_url="http://chain.test", transport=httpx.MockTransport(handler("sync"))
    )
    got_sync = calls(sync)

    async def run_async() -> list[Any]:
        c = AsyncChainClient("http://chain.test")
        c.http = httpx.AsyncClient(
            base_url="http://chain.test", transport=httpx.MockTransport(handler("async"))
        )
        out = []
        for aw in calls(c):  # called in the same order, awaited one at a time
            out.append(await aw)
        await c.aclose()
        return out

    got_async = asyncio.run(run_async())
    assert got_sync == got_async
    assert got_sync[0] == 10 and got_sync[4]["index"] == 1
    assert log["sync"] == log["async"]
