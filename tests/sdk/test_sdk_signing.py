"""Request signatures and replay protection."""

from __future__ import annotations

import pytest
from sdk_testkit import kp

from subnetes.sdk.signing import (
    H_NONCE,
    H_SIGNATURE,
    AuthError,
    ReplayGuard,
    parse_headers,
    sign_request,
    verify_signature,
)

V, M = kp("validator"), kp("miner")


def _sign(**kw):
    args = {
        "method": "POST",
        "path": "/matmul",
        "body": b'{"x":1}',
        "receiver": M.ss58_address,
        "netuid": 3,
        "now": 1000.0,
    }
    args.update(kw)
    return sign_request(V, **args)


def test_roundtrip() -> None:
    h = parse_headers(_sign())
    assert h.signer == V.ss58_address and h.receiver == M.ss58_address and h.netuid == 3
    assert h.timestamp_ms == 1_000_000
    verify_signature(h, "POST", "/matmul", b'{"x":1}')


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/matmul", b'{"x":2}'),
        ("POST", "/other", b'{"x":1}'),
        ("GET", "/matmul", b'{"x":1}'),
    ],
)
def test_any_change_breaks_the_signature(method: str, path: str, body: bytes) -> None:
    h = parse_headers(_sign())
    with pytest.raises(AuthError) as e:
        verify_signature(h, method, path, body)
    assert e.value.name == "BadSignature"


def test_forged_header_fields_break_the_signature() -> None:
    good = _sign()
    for field, value in [
        ("X-Subnetes-Receiver", kp("other").ss58_address),
        ("X-Subnetes-Netuid", "4"),
        ("X-Subnetes-Timestamp", "1000001"),
        (H_NONCE, "ffffffffffffffff"),
        ("X-Subnetes-Signer", kp("other").ss58_address),
    ]:
        h = parse_headers({**good, field: value})
        with pytest.raises(AuthError, match="signature"):
            verify_signature(h, "POST", "/matmul", b'{"x":1}')


def test_malformed_headers() -> None:
    good = _sign()
    for hdrs, name in [
        ({}, "Unsigned"),
        ({k: v for k, v in good.items() if k != H_SIGNATURE}, "Unsigned"),
        ({**good, H_SIGNATURE: "0xzz"}, "BadSignature"),
        ({**good, H_SIGNATURE: "0x00"}, "BadSignature"),
        ({**good, H_NONCE: "short"}, "BadNonce"),
        ({**good, "X-Subnetes-Timestamp": "soon"}, "MalformedHeaders"),
    ]:
        with pytest.raises(AuthError) as e:
            parse_headers(hdrs)
        assert e.value.name == name


def test_replay_guard() -> None:
    g = ReplayGuard(window_s=10)
    g.check_time(1_000_000, 1005.0)
    for ts in (989_000, 1_011_000):
        with pytest.raises(AuthError, match="timestamp"):
            g.check_time(ts, 1000.0)
    g.check_and_remember("a", "n1", 1000.0)
    g.check_and_remember("b", "n1", 1000.0)  # nonces are per signer
    with pytest.raises(AuthError) as e:
        g.check_and_remember("a", "n1", 1005.0)
    assert e.value.name == "Replay"
    g.check_and_remember("c", "n2", 1030.0)  # expired entries are forgotten
    assert len(g) == 1


def test_replay_guard_is_bounded() -> None:
    g = ReplayGuard(window_s=10, max_entries=2)
    g.check_and_remember("a", "1", 0.0)
    g.check_and_remember("a", "2", 0.0)
    with pytest.raises(AuthError) as e:
        g.check_and_remember("a", "3", 0.0)
    assert e.value.status == 429
