"""Issue 13 #6: the chain's HTTP edge, against the real service process and raw sockets.

A client that disconnects mid-body is no ERROR traceback; stalled request headers and bodies
get 408 and the connection closes; every 4xx (also uvicorn's own 400 for malformed HTTP) is
the API's JSON error body; every answer carries the security headers.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from .service import Service

BODY_TIMEOUT = 1.0
SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    db = tmp_path_factory.mktemp("edge") / "chain.db"
    args = ("--manual", "--body-timeout", str(BODY_TIMEOUT))
    s = Service(db, extra_args=args, fake_consensus=True).start()
    yield s
    s.kill(signal.SIGTERM)


def exchange(svc: Service, data: bytes, pause: float = 0.0, wait: float = 10.0) -> bytes:
    """Send ``data`` on a raw connection (then idle ``pause`` s) and read until the server
    closes it or ``wait`` s pass (socket.timeout then propagates)."""
    with socket.create_connection(("127.0.0.1", svc.port), timeout=wait) as s:
        s.sendall(data)
        time.sleep(pause)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, body


def assert_json_error(status: int, headers: dict[str, str], body: bytes, name: str) -> None:
    assert headers["content-type"].startswith("application/json"), (status, headers, body)
    doc = json.loads(body)
    assert doc["error"] == name and isinstance(doc["message"], str), doc
    for k, v in SECURITY.items():
        assert headers.get(k) == v, (k, headers)


def stderr_so_far(svc: Service) -> str:
    """What the service logged (the process is stopped to read its whole stderr)."""
    svc.kill(signal.SIGTERM)
    assert svc.proc is not None and svc.proc.stderr is not None
    text = svc.proc.stderr.read().decode()
    svc.start()  # the next test gets a running service again
    return text


def test_disconnect_mid_body_is_not_an_error(svc: Service) -> None:
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", svc.port), timeout=5) as s:
            s.sendall(
                b"POST /v1/extrinsics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n" + b'{"call": "' + b"a" * 100
            )
            time.sleep(0.2)  # the handler is reading the body when the client goes away
    time.sleep(0.5)
    assert httpx.get(svc.url + "/healthz").status_code == 200
    log = stderr_so_far(svc)
    assert "Traceback" not in log and "ERROR" not in log, log
    assert "Exception in ASGI application" not in log, log


def test_stalled_body_gets_408_and_the_connection_closes(svc: Service) -> None:
    t0 = time.monotonic()
    raw = exchange(
        svc,
        b"POST /v1/extrinsics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{",
    )
    took = time.monotonic() - t0
    status, headers, body = parse(raw)
    assert status == 408
    assert_json_error(status, headers, body, "RequestTimeout")
    assert headers.get("connection") == "close"
    assert BODY_TIMEOUT * 0.9 <= took < BODY_TIMEOUT + 5, took


def test_a_slow_but_moving_body_is_read(svc: Service) -> None:
    """A byte every half body timeout never trips the per-read timeout (the whole-body
    deadline, 30 s, is not waited for here)."""
    with socket.create_connection(("127.0.0.1", svc.port), timeout=10) as s:
        s.sendall(b"POST /v1/extrinsics HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n")
        for b in b"null":
            time.sleep(BODY_TIMEOUT / 2)
            s.sendall(bytes([b]))
        raw = b""
        while b"\r\n\r\n" not in raw or len(parse(raw)[2]) < int(parse(raw)[1]["content-length"]):
            raw += s.recv(65536)
        status, headers, body = parse(raw)
    assert status == 400  # read to the end: JSON null is no extrinsic
    assert_json_error(status, headers, body, "MalformedExtrinsic")


def test_stalled_headers_get_408(svc: Service) -> None:
    raw = exchange(svc, b"GET /v1/chain HTTP/1.1\r\nHost: x\r\n")  # no blank line: incomplete
    status, headers, body = parse(raw)
    assert status == 408
    assert_json_error(status, headers, body, "RequestTimeout")


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /v1/chain HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    ],
)
def test_malformed_http_is_a_json_400(svc: Service, data: bytes) -> None:
    status, headers, body = parse(exchange(svc, data))
    assert status == 400
    assert_json_error(status, headers, body, "MalformedHTTP")


def test_every_4xx_is_json_with_security_headers(svc: Service) -> None:
    h = httpx.Client(base_url=svc.url, timeout=10)
    cases = [
        (h.get("/no/such/path"), 404, "NotFound"),
        (h.get("/dashboard/nope.js"), 404, "NotFound"),
        (h.put("/healthz"), 405, "MethodNotAllowed"),
        (h.get("/v1/blocks/notanumber"), 400, "InvalidRequest"),
        (h.post("/v1/extrinsics", content=b"{"), 400, "MalformedJSON"),
        (h.post("/v1/extrinsics", content=b"x" * (1 << 21)), 413, "PayloadTooLarge"),
    ]
    for r, status, name in cases:
        assert r.status_code == status, (r.request.url, r.text)
        assert_json_error(r.status_code, dict(r.headers), r.content, name)
    # an oversized body announced on any route is refused before it is read
    status, headers, body = parse(
        exchange(
            svc, b"POST /v1/dev/produce HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"
        )
    )
    assert status == 413
    assert_json_error(status, headers, body, "PayloadTooLarge")


def test_security_headers_on_success_too(svc: Service) -> None:
    for path in ("/healthz", "/v1/chain", "/metrics", "/"):
        r = httpx.get(svc.url + path)
        assert r.status_code == 200, path
        for k, v in SECURITY.items():
            assert r.headers.get(k) == v, (path, k)
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
    # the dashboard keeps its own, stricter policy
    csp = httpx.get(svc.url + "/").headers["content-security-policy"]
    assert "default-src 'self'" in csp
