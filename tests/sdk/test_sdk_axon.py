"""The axon on a real loopback socket: signed requests pass; everything else is refused."""

from __future__ import annotations

import aiohttp
import pytest
from pydantic import BaseModel
from sdk_testkit import NETUID

from subnetes.sdk.axon import Axon, Caller, Refused
from subnetes.sdk.chain import AxonInfo, NeuronInfo
from subnetes.sdk.dendrite import Dendrite
from subnetes.sdk.memchain import MemoryNetwork
from subnetes.sdk.signing import sign_request

# Fixtures run in the session loop (pyproject); run the tests there too, or the server would
# live in a loop that is not running.
pytestmark = pytest.mark.asyncio(loop_scope="session")


class Echo(BaseModel):
    text: str
    times: int = 1


class EchoOut(BaseModel):
    text: str
    caller_uid: int


async def echo(req: Echo, caller: Caller) -> EchoOut:
    if req.text == "big":
        raise Refused("TooLarge", "too large", 413)
    if req.text == "boom":
        raise RuntimeError("secret internal detail")
    return EchoOut(text=req.text * req.times, caller_uid=caller.uid)


@pytest.fixture
async def axon(net: MemoryNetwork, keys):
    ax = Axon(
        keys["miner"],
        NETUID,
        net.client(keys["miner"].ss58_address),
        ip="127.0.0.1",
        port=0,
        refresh_s=0.05,
    )
    ax.route("echo", Echo, echo)
    await ax.start()
    yield ax
    await ax.stop()


def _me(ax: Axon, keys) -> NeuronInfo:
    return NeuronInfo(2, keys["miner"].ss58_address, axon=AxonInfo("127.0.0.1", ax.port))


async def _post(ax: Axon, headers: dict[str, str], body: bytes, path: str = "/echo"):
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"http://127.0.0.1:{ax.port}{path}",
            data=body,
            headers={**headers, "Content-Type": "application/json"},
        ) as r,
    ):
        return r.status, await r.json()


async def test_permitted_validator_is_answered(axon: Axon, keys) -> None:
    d = Dendrite(keys["validator"], NETUID)
    try:
        res = await d.query(_me(axon, keys), "echo", Echo(text="ab", times=2), EchoOut, 5.0)
    finally:
        await d.close()
    assert res.ok and res.response == EchoOut(text="abab", caller_uid=1)
    assert res.latency_s is not None and res.latency_s > 0
    assert axon.metrics.requests.labels("echo", "200")._value.get() == 1


async def test_refusals(axon: Axon, keys) -> None:
    body = b'{"text":"x"}'

    def signed(who: str, **kw) -> dict[str, str]:
        args = {
            "method": "POST",
            "path": "/echo",
            "body": body,
            "receiver": keys["miner"].ss58_address,
            "netuid": NETUID,
        }
        args.update(kw)
        return sign_request(keys[who], **args)

    cases = [
        ({}, 401, "Unsigned"),
        (signed("outsider"), 403, "UnknownHotkey"),
        (signed("nopermit"), 403, "NoValidatorPermit"),
        (signed("validator", receiver=keys["owner"].ss58_address), 401, "WrongReceiver"),
        (signed("validator", netuid=NETUID + 1), 401, "WrongNetuid"),
        (signed("validator", now=0.0), 401, "StaleRequest"),
        (signed("validator", body=b'{"text":"y"}'), 401, "BadSignature"),
    ]
    for headers, status, name in cases:
        got = await _post(axon, headers, body)
        assert got == (status, {"error": name, "message": got[1]["message"]}), name
    assert axon.metrics.rejected.labels("UnknownHotkey")._value.get() == 1


async def test_replay_is_refused(axon: Axon, keys) -> None:
    body = b'{"text":"x"}'
    h = sign_request(
        keys["validator"],
        method="POST",
        path="/echo",
        body=body,
        receiver=keys["miner"].ss58_address,
        netuid=NETUID,
    )
    assert (await _post(axon, h, body))[0] == 200
    status, doc = await _post(axon, h, body)
    assert (status, doc["error"]) == (401, "Replay")


async def test_bad_body_unknown_route_and_handler_errors(axon: Axon, keys) -> None:
    def signed(body: bytes, path: str = "/echo") -> dict[str, str]:
        return sign_request(
            keys["validator"],
            method="POST",
            path=path,
            body=body,
            receiver=keys["miner"].ss58_address,
            netuid=NETUID,
        )

    assert (await _post(axon, signed(b'{"times":1}'), b'{"times":1}'))[1]["error"] == "BadRequest"
    assert (await _post(axon, signed(b"{}", "/nope"), b"{}", "/nope"))[0] == 404
    assert await _post(axon, signed(b'{"text":"big"}'), b'{"text":"big"}') == (
        413,
        {"error": "TooLarge", "message": "too large"},
    )
    status, doc = await _post(axon, signed(b'{"text":"boom"}'), b'{"text":"boom"}')
    assert status == 500 and "secret" not in doc["message"]


async def test_metagraph_changes_are_picked_up(axon: Axon, net: MemoryNetwork, keys) -> None:
    import asyncio

    # The outsider registers and gets a permit: after a refresh it is answered.
    net.subnets[NETUID].append(NeuronInfo(4, keys["outsider"].ss58_address, validator_permit=True))
    await asyncio.sleep(0.3)
    d = Dendrite(keys["outsider"], NETUID)
    try:
        res = await d.query(_me(axon, keys), "echo", Echo(text="hi"), EchoOut, 5.0)
    finally:
        await d.close()
    assert res.ok and res.response.caller_uid == 4


async def test_new_validator_is_recognized_before_the_next_refresh(
    net: MemoryNetwork, keys
) -> None:
    ax = Axon(keys["miner"], NETUID, net.client(keys["miner"].ss58_address), refresh_s=3600)
    ax.route("echo", Echo, echo)
    await ax.start()
    net.subnets[NETUID].append(NeuronInfo(5, keys["outsider"].ss58_address, validator_permit=True))
    d = Dendrite(keys["outsider"], NETUID)
    try:
        res = await d.query(_me(ax, keys), "echo", Echo(text="hi"), EchoOut, 5.0)
    finally:
        await d.close()
        await ax.stop()
    assert res.ok and res.response.caller_uid == 5


async def test_chain_outage_keeps_last_metagraph(axon: Axon, net: MemoryNetwork, keys) -> None:
    net.outage_calls = 10**6
    assert await axon.refresh() is False
    assert axon.metagraph is not None
    net.outage_calls = 0


async def test_healthz_and_loopback_bind(axon: Axon) -> None:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{axon.port}/healthz") as r:
        assert r.status == 200 and (await r.json())["registered"] is True
    assert axon.ip == "127.0.0.1"


async def test_dendrite_reports_failures_without_raising(keys) -> None:
    d = Dendrite(keys["validator"], NETUID)
    try:
        dead = NeuronInfo(9, keys["miner"].ss58_address, axon=AxonInfo("127.0.0.1", 1))
        res = await d.query(dead, "echo", Echo(text="x"), EchoOut, 1.0)
        assert not res.ok and res.error.startswith("Unreachable")
        res = await d.query(NeuronInfo(9, "x"), "echo", Echo(text="x"), EchoOut, 1.0)
        assert res.error == "NoAxon"
    finally:
        await d.close()
