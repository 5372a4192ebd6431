"""`subnetes operator run` outside a pod with 127.0.0.1:8080 taken (another operator, any dev
server) still starts: its liveness endpoint moves to a free port and says so, instead of Kopf
stopping at start-up with a bind traceback (two README walkthroughs on one machine did)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from subnetes.operator import __main__ as entry

LIVENESS = 8080  # the documented default (operator/__main__.py)


@pytest.fixture
def kopf_args(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(entry, "kopf_main", lambda args, prog_name: calls.append(args))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return calls


@pytest.fixture
def port_taken() -> Iterator[None]:
    """127.0.0.1:8080 held by a listener for the test (or already held by someone else)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", LIVENESS))
        s.listen()
    except OSError:
        pass  # taken already: the case under test
    try:
        yield
    finally:
        s.close()


def _liveness_port(args: list[str]) -> int:
    url = args[args.index("--liveness") + 1]
    assert urlparse(url).hostname == "127.0.0.1" and urlparse(url).path == "/healthz", url
    return int(urlparse(url).port or 0)


def test_a_taken_8080_moves_the_liveness_endpoint_to_a_free_port(
    kopf_args: list[list[str]], port_taken: None, capsys: pytest.CaptureFixture[str]
) -> None:
    entry.main(["--standalone", "-n", "ns"])
    port = _liveness_port(kopf_args[0])
    assert port != LIVENESS
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free: Kopf can bind it
    assert "8080 is in use" in capsys.readouterr().err


def test_an_explicit_liveness_and_the_pod_default_are_kept(
    kopf_args: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    entry.main(["--liveness", "http://127.0.0.1:9999/healthz"])
    assert kopf_args[0][-2:] == ["--liveness", "http://127.0.0.1:9999/healthz"]
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    entry.main(["-A"])
    assert kopf_args[1][-2:] == ["--liveness", "http://0.0.0.0:8080/healthz"]
