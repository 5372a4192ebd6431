"""Bad input over HTTP, item by item (issue 4): malformed JSON, unknown fields, wrong types, huge
payloads, bad signatures, replayed and future nonces. Each is a 4xx with a specific error name,
never a 500, and never a state change — checked on a manual-mode node, where nothing else moves
the state, by comparing the head, the network totals, the signer's account, a metagraph and the
queue before and after; rejections found when the block is built never enter the block."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from subnetes.chain.extrinsic import MAX_EXTRINSIC_BYTES, sign

from .conftest import ALICE, key
from .service import Service, fingerprint

BOB = key("Bob")
STRANGER = key("bad-input")  # owns and stakes nothing: epochs never touch its account


@pytest.fixture
def api(manual_service: Service) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=manual_service.url, timeout=30) as h:
        yield h, h.get("/v1/chain").json()["genesis_hash"]


def nonce_of(h: httpx.Client, who: Any = ALICE) -> int:
    return h.get(f"/v1/accounts/{who.ss58_address}").json()["nonce"]


def post(h: httpx.Client, body: Any, **kw: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return h.post(
        "/v1/extrinsics", content=content, headers={"content-type": "application/json"}, **kw
    )


def rejected_at_submission(h: httpx.Client, body: Any, status: int, name: str, **kw: Any) -> None:
    before = fingerprint(h, ALICE.ss58_address)
    r = post(h, body, **kw)
    assert r.status_code == status, (name, r.status_code, r.text[:300])
    assert r.json()["error"] == name, r.text[:300]
    assert r.json()["message"]
    assert fingerprint(h, ALICE.ss58_address) == before, f"{name} changed state"


def _good(h: httpx.Client, g: str, **args: Any) -> dict[str, Any]:
    return sign(ALICE, "faucet", args or {"amount": 5}, nonce_of(h), g)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"\xff\xfe\x00",
        b'{"call": "faucet",',
        b"[" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ],
)
def test_malformed_json(api, body: bytes) -> None:
    h, _ = api
    rejected_at_submission(h, body, 400, "MalformedJSON")


@pytest.mark.parametrize("body", [[], "faucet", None, 1, True])
def test_not_an_object(api, body: Any) -> None:
    rejected_at_submission(api[0], body, 400, "MalformedExtrinsic")


def test_unknown_and_missing_fields(api) -> None:
    h, g = api
    good = _good(h, g)
    rejected_at_submission(h, {**good, "extra": 1}, 400, "MalformedExtrinsic")
    # tip is optional: a positive integer, left out for 0 (one extrinsic has one body)
    for tip in (0, -1, True, "1", 2**64):
        rejected_at_submission(h, {**good, "tip": tip}, 400, "MalformedExtrinsic")
    rejected_at_submission(h, {**good, "tip": 1}, 401, "BadSignature")  # the tip is signed
    rejected_at_submission(
        h, {k: v for k, v in good.items() if k != "nonce"}, 400, "MalformedExtrinsic"
    )
    rejected_at_submission(
        h, {k: v for k, v in good.items() if k != "signature"}, 400, "MalformedExtrinsic"
    )
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    rejected_at_submission(h, {**good, "args": {"amount": deep}}, 400, "MalformedExtrinsic")


@pytest.mark.parametrize(
    "field,value",
    [
        ("nonce", "0"),
        ("nonce", -1),
        ("nonce", 1.5),
        ("nonce", True),
        ("nonce", 2**64),
        ("nonce", None),
        ("args", []),
        ("args", "amount=5"),
        ("call", 1),
        ("signer", None),
        ("genesis", 0),
        ("signature", ["0x"]),
    ],
)
def test_wrong_types(api, field: str, value: Any) -> None:
    h, g = api
    rejected_at_submission(h, {**_good(h, g), field: value}, 400, "MalformedExtrinsic")


def test_huge_payloads(api) -> None:
    h, g = api
    big = {**_good(h, g), "args": {"amount": 5, "pad": "x" * (MAX_EXTRINSIC_BYTES + 1)}}
    rejected_at_submission(h, big, 413, "PayloadTooLarge")  # declared by Content-Length

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer, cut off while reading
        yield b'{"pad": "'
        for _ in range(MAX_EXTRINSIC_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    before = fingerprint(h, ALICE.ss58_address)
    r = h.post("/v1/extrinsics", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "PayloadTooLarge", r.text[:200]
    assert fingerprint(h, ALICE.ss58_address) == before


def test_bad_signatures(api) -> None:
    h, g = api
    good = _good(h, g)
    rejected_at_submission(h, {**good, "args": {"amount": 6}}, 401, "BadSignature")  # tampered body
    rejected_at_submission(h, {**good, "nonce": good["nonce"] + 1}, 401, "BadSignature")
    rejected_at_submission(h, {**good, "signature": "0xzz"}, 401, "BadSignature")
    rejected_at_submission(h, {**good, "signature": good["signature"][:-2]}, 401, "BadSignature")
    rejected_at_submission(h, {**good, "signature": ""}, 401, "BadSignature")
    by_bob = sign(BOB, "faucet", {"amount": 5}, good["nonce"], g)
    rejected_at_submission(h, {**good, "signature": by_bob["signature"]}, 401, "BadSignature")
    rejected_at_submission(h, {**good, "signer": "5" + "1" * 47}, 400, "InvalidSigner")
    rejected_at_submission(h, {**good, "signer": ""}, 400, "InvalidSigner")
    rejected_at_submission(
        h,
        sign(ALICE, "faucet", {"amount": 5}, good["nonce"], "0x" + "11" * 32),
        400,
        "WrongGenesis",
    )


def test_replayed_and_future_nonces(api) -> None:
    h, g = api
    good = _good(h, g)
    r = post(h, good, params={"wait": "false"})
    assert r.status_code == 202
    h.post("/v1/dev/produce")
    assert h.get(f"/v1/extrinsics/{r.json()['hash']}").json()["status"] == "in_block"
    # the very same bytes again: the original's answer, nothing applied twice (issue 13 #3)
    before = fingerprint(h, ALICE.ss58_address)
    again = post(h, good)
    assert again.status_code == 200 and again.json()["hash"] == r.json()["hash"], again.text
    assert fingerprint(h, ALICE.ss58_address) == before
    # the same nonce, freshly signed with other arguments, is a replay too
    rejected_at_submission(
        h, sign(ALICE, "faucet", {"amount": 7}, good["nonce"], g), 409, "StaleNonce"
    )
    # a future nonce waits in the queue for its block, where it is rejected: never in a block
    n = nonce_of(h)
    before = h.get(f"/v1/accounts/{ALICE.ss58_address}").json()
    r = post(h, sign(ALICE, "faucet", {"amount": 5}, n + 3, g), params={"wait": "false"})
    assert r.status_code == 202
    h.post("/v1/dev/produce")
    res = h.get(f"/v1/extrinsics/{r.json()['hash']}").json()
    assert res["status"] == "rejected" and res["error"] == "FutureNonce", res
    assert h.get("/v1/blocks/latest").json()["extrinsics"] == []
    assert h.get(f"/v1/accounts/{ALICE.ss58_address}").json() == before


@pytest.mark.parametrize(
    "call,args,name",
    [
        ("faucet", {"amount": 5, "color": "red"}, "InvalidArguments"),  # unknown argument
        ("faucet", {}, "InvalidArguments"),  # missing argument
        ("faucet", {"amount": "5"}, "InvalidArguments"),  # wrong type
        ("faucet", {"amount": -5}, "InvalidArguments"),
        ("faucet", {"amount": 2**64}, "InvalidArguments"),
        ("transfer", {"dest": "nobody", "amount": 1}, "InvalidArguments"),
        ("set_weights", {"netuid": 1, "uids": [0, "1"], "values": [1, 1]}, "InvalidArguments"),
        ("mint", {"amount": 5}, "UnknownCall"),
    ],
)
def test_argument_schema_checked_at_submission(
    api, call: str, args: dict[str, Any], name: str
) -> None:
    """Arguments that do not match the call's schema are refused before queuing (admission,
    issue 13): 400 with the schema's error, nothing queued, the signer untouched."""
    h, g = api
    rejected_at_submission(h, sign(STRANGER, call, args, nonce_of(h, STRANGER), g), 400, name)


@pytest.mark.parametrize(
    "call,args,name",
    [
        ("sudo_set_balance", {"who": BOB.ss58_address, "amount": 1}, "NotSudo"),  # signed by Bob
    ],
)
def test_rejected_in_block(api, call: str, args: dict[str, Any], name: str) -> None:
    """Validly signed and well-formed, rejected by the call's rules when the block is built:
    the outcome names the error, the extrinsic is not in the block, the signer's account (and
    nonce) is untouched. With ``wait=true`` the answer is that error's 4xx."""
    h, g = api
    kp = BOB if call.startswith("sudo") else STRANGER
    n = nonce_of(h, kp)
    acct = h.get(f"/v1/accounts/{kp.ss58_address}").json()
    r = post(h, sign(kp, call, args, n, g), params={"wait": "false"})
    assert r.status_code == 202, r.text
    h.post("/v1/dev/produce")
    res = h.get(f"/v1/extrinsics/{r.json()['hash']}").json()
    assert res["status"] == "rejected" and res["error"] == name, res
    assert h.get("/v1/blocks/latest").json()["extrinsics"] == []
    assert h.get(f"/v1/accounts/{kp.ss58_address}").json() == acct


def test_bad_query_and_routes(api) -> None:
    h, g = api
    rejected_at_submission(h, _good(h, g), 400, "InvalidRequest", params={"wait": "maybe"})
    assert h.put("/v1/extrinsics", json={}).json()["error"] == "MethodNotAllowed"
    assert h.get("/v1/nope").status_code == 404 and h.get("/v1/nope").json()["error"] == "NotFound"
    r = h.get("/v1/events", headers={"Last-Event-ID": "x:y"})
    assert r.status_code == 400 and r.json()["error"] == "InvalidRequest"
    r = h.get("/v1/events", params={"from_block": -1})
    assert r.status_code == 400 and r.json()["error"] == "InvalidRequest"
    assert h.post("/v1/dev/produce", params={"count": 0}).status_code == 400
