"""OTLP tracing end to end: the chain, the operator and the SDK export spans over OTLP/HTTP to a
receiver on 127.0.0.1, configured by the standard OTEL_* variables (one shared setup)."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from subnetes.sdk.tracing import (
    TracingConfigError,
    exporter_names,
    otlp_endpoint,
    resource_attributes,
    setup_tracing,
)


@dataclass
class Export:
    """One POST the receiver got: its path, headers and decoded spans."""

    path: str
    headers: dict[str, str]
    spans: list[tuple[str, dict[str, str]]]  # (span name, resource attributes)


@dataclass
class Receiver:
    """A tiny OTLP/HTTP trace receiver on loopback that records every export."""

    url: str
    exports: list[Export] = field(default_factory=list)

    def span_names(self) -> set[str]:
        return {name for e in self.exports for name, _ in e.spans}

    def wait_for_span(self, name: str, timeout: float = 30.0) -> tuple[Export, dict[str, str]]:
        """The first export carrying span ``name`` and that span's resource attributes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in list(self.exports):
                for span, resource in e.spans:
                    if span == name:
                        return e, resource
            time.sleep(0.05)
        raise AssertionError(f"no span {name!r} exported; got {sorted(self.span_names())}")


def _decode(body: bytes) -> list[tuple[str, dict[str, str]]]:
    req = ExportTraceServiceRequest.FromString(body)
    out = []
    for rs in req.resource_spans:
        attrs = {a.key: a.value.string_value for a in rs.resource.attributes}
        for ss in rs.scope_spans:
            out += [(s.name, attrs) for s in ss.spans]
    return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            headers = {k.lower(): v for k, v in self.headers.items()}
            rec.exports.append(Export(self.path, headers, _decode(body)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without OTEL_* settings, plus ``extra``; loopback unproxied."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    env["OTEL_BSP_SCHEDULE_DELAY"] = "100"  # export within 0.1 s, not 5 s
    return env | extra


def test_chain_trace_exporter_otlp_exports_block_spans(receiver: Receiver) -> None:
    """``subnetes chain run --trace-exporter otlp`` starts (it crashed with ModuleNotFoundError)
    and its block spans reach the receiver under the OTEL_* endpoint and resource attributes."""
    env = _clean_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test,k8s.namespace.name=ns%2D1",
    )
    port = _free_port()
    cmd = [sys.executable, "-m", "subnetes", "chain", "run", "--db", ":memory:"]
    cmd += ["--block-time", "0.2", "--port", str(port), "--trace-exporter", "otlp"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        try:
            export, resource = receiver.wait_for_span("block", timeout=60)
        except AssertionError:
            proc.kill()
            out = proc.communicate(timeout=10)[0].decode(errors="replace")
            raise AssertionError(f"chain exit {proc.returncode}, output:\n{out[-3000:]}") from None
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
    assert export.path == "/v1/traces"
    assert export.headers["content-type"] == "application/x-protobuf"
    assert resource["service.name"] == "subnetes-chain"
    assert resource["deployment.environment"] == "test"
    assert resource["k8s.namespace.name"] == "ns-1"


CHILD = """
import sys
from opentelemetry import trace
which = sys.argv[1]
if which == "operator":
    from subnetes.operator import tracing
    assert tracing.setup(None), "tracing did not turn on"
    tracer = tracing.tracer
else:
    from subnetes.sdk.telemetry import setup_tracing, tracer
    assert setup_tracing("subnetes-compute-miner"), "tracing did not turn on"
with tracer.start_as_current_span(which + " span"):
    pass
trace.get_tracer_provider().shutdown()
"""


@pytest.mark.parametrize("which", ["operator", "sdk"])
def test_operator_and_sdk_export_over_otlp_from_otel_env(receiver: Receiver, which: str) -> None:
    """No flag: OTEL_TRACES_EXPORTER=otlp alone turns tracing on (the operator ignored it), the
    traces endpoint, headers and service name come from the standard variables."""
    env = _clean_env(
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{receiver.url}/custom/traces",
        OTEL_EXPORTER_OTLP_HEADERS="x-tenant=team%20a",
        OTEL_SERVICE_NAME=f"{which}-under-test",
    )
    p = subprocess.run(
        [sys.executable, "-c", CHILD, which], env=env, capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stderr[-3000:]
    export, resource = receiver.wait_for_span(f"{which} span", timeout=10)
    assert export.path == "/custom/traces"
    assert export.headers["x-tenant"] == "team a"
    assert resource["service.name"] == f"{which}-under-test"


def test_exporter_choice_flag_env_and_disable() -> None:
    assert exporter_names(None, {}) == []
    assert exporter_names(None, {"OTEL_TRACES_EXPORTER": "otlp,console"}) == ["otlp", "console"]
    # An explicit --trace-exporter / SUBNETES_OTEL_EXPORTER wins over the environment.
    assert exporter_names("none", {"OTEL_TRACES_EXPORTER": "otlp"}) == []
    assert exporter_names("console", {"OTEL_TRACES_EXPORTER": "otlp"}) == ["console"]
    assert exporter_names("otlp", {"OTEL_SDK_DISABLED": "true"}) == []
    with pytest.raises(TracingConfigError, match="carrier-pigeon"):
        exporter_names(None, {"OTEL_TRACES_EXPORTER": "carrier-pigeon"})


def test_endpoint_and_resource_from_env() -> None:
    assert otlp_endpoint({}) is None  # the exporter's own default, localhost:4318
    assert otlp_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == (
        "http://c:4318/v1/traces"
    )
    both = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "x",
    }
    assert otlp_endpoint(both) == "x"
    attrs = resource_attributes("dflt", {"OTEL_RESOURCE_ATTRIBUTES": "a=1,service.name=from-attrs"})
    assert attrs == {"a": "1", "service.name": "from-attrs"}
    env = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=x", "OTEL_SERVICE_NAME": "wins"}
    assert resource_attributes("dflt", env)["service.name"] == "wins"
    assert resource_attributes("dflt", {})["service.name"] == "dflt"


def test_bad_settings_raise_for_a_flag_and_turn_tracing_off_from_env(
    caplog: pytest.LogCaptureFixture,
) -> None:
    grpc = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    with pytest.raises(TracingConfigError, match="http/protobuf"):
        setup_tracing("svc", exporter="otlp", env=grpc)  # asked for explicitly: an error
    with caplog.at_level("WARNING", logger="subnetes.tracing"):
        assert setup_tracing("svc", env=grpc | {"OTEL_TRACES_EXPORTER": "otlp"}) is False
        assert setup_tracing("svc", env={"OTEL_TRACES_EXPORTER": "jaeger"}) is False
    assert "'grpc' is not installed" in caplog.text and "'jaeger'" in caplog.text


def test_chain_cli_reports_a_bad_exporter_setting_in_one_line() -> None:
    env = _clean_env(OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
    cmd = [sys.executable, "-m", "subnetes", "chain", "run", "--db", ":memory:"]
    cmd += ["--port", str(_free_port()), "--trace-exporter", "otlp"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "error: OTLP protocol 'grpc' is not installed" in p.stderr
    assert "Traceback" not in p.stderr
