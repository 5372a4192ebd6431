"""The HTTP edge of the chain API: bounded request bodies, quiet client disconnects, JSON error
bodies also for the errors uvicorn answers itself, and security headers on every answer.

- A request body must arrive within ``body_timeout`` seconds per read and ``body_deadline`` in
  all, and must not exceed ``max_body`` bytes: else 408 ``RequestTimeout`` / 413
  ``PayloadTooLarge`` and the connection closes. Request headers that stall past
  ``header_timeout`` get the same 408 (:class:`EdgeH11Protocol`).
- A client that disconnects mid-body is logged at debug, not as an ERROR traceback: nothing
  went wrong on the server.
- Malformed HTTP (uvicorn's own 400) answers ``{"error": "MalformedHTTP", "message": ...}``
  like every other 4xx of the API.
- Every answer carries ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer`` and, unless the route set its own (the dashboard does), a
  ``Content-Security-Policy`` of ``frame-ancestors 'none'``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.requests import ClientDisconnect
from uvicorn.protocols.http.h11_impl import H11Protocol

from subnetes.wire.errors import ErrorName
from subnetes.wire.signing import MAX_EXTRINSIC_BYTES

log = logging.getLogger(__name__)

BODY_TIMEOUT = 10.0  # seconds one read of a request body may wait for data
BODY_DEADLINE = 30.0  # seconds a whole request body may take
HEADER_TIMEOUT = 10.0  # seconds from a connection (or the last answer) to complete headers
MAX_BODY = MAX_EXTRINSIC_BYTES  # the largest body any route accepts (a signed extrinsic)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)


def error_body(name: str, message: str) -> bytes:
    """The API's error body ``{"error": name, "message": message}`` as bytes."""
    return json.dumps({"error": name, "message": message}).encode()


def raw_response(status: int, reason: str, name: str, message: str) -> bytes:
    """A complete HTTP/1.1 error answer that closes the connection (for the protocol level,
    where no ASGI app runs)."""
    body = error_body(name, message)
    head = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{k.decode()}: {v.decode()}" for k, v in SECURITY_HEADERS),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class _BodyRefused(Exception):
    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status, self.name, self.message = status, name, message


class HttpEdge:
    """ASGI middleware: body time and size bounds, quiet disconnects, security headers."""

    def __init__(
        self,
        app: Any,
        body_timeout: float = BODY_TIMEOUT,
        body_deadline: float = BODY_DEADLINE,
        max_body: int = MAX_BODY,
    ) -> None:
        self.app = app
        self.body_timeout = body_timeout
        self.body_deadline = body_deadline
        self.max_body = max_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_deadline
        started = False
        refused: _BodyRefused | None = None
        body_done = False
        received = 0

        async def bounded_receive() -> Any:
            # While the body is incomplete every read is bounded; afterwards (an SSE stream
            # waiting for the client to go away) reads pass through unbounded.
            nonlocal body_done, received, refused
            if body_done or refused:
                return await receive()
            wait = min(self.body_timeout, deadline - loop.time())
            try:
                msg = await asyncio.wait_for(receive(), max(wait, 0.0))
            except TimeoutError:
                refused = _BodyRefused(
                    408, ErrorName.REQUEST_TIMEOUT, "the request body did not arrive in time"
                )
                return {"type": "http.disconnect"}  # the app's body read ends (ClientDisconnect)
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_body:
                    refused = _BodyRefused(
                        413, ErrorName.PAYLOAD_TOO_LARGE, f"body exceeds {self.max_body} bytes"
                    )
                    return {"type": "http.disconnect"}
                body_done = not msg.get("more_body", False)
            return msg

        async def send_with_headers(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in have]
                message = {**message, "headers": headers}
            await send(message)

        length = _content_length(scope)
        if length is not None and length > self.max_body:
            refused = _BodyRefused(
                413, ErrorName.PAYLOAD_TOO_LARGE, f"body exceeds {self.max_body} bytes"
            )
        else:
            try:
                await self.app(scope, bounded_receive, send_with_headers)
            except ClientDisconnect:
                if refused is None:
                    # The client went away mid-body: nothing to answer, nothing went wrong here.
                    log.debug(
                        "client disconnected mid-body: %s %s", scope.get("method"), scope["path"]
                    )
                    return
        if refused is not None and not started:
            log.debug("%s %s: %s", scope.get("method"), scope["path"], refused.message)
            body = error_body(refused.name, refused.message)
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": refused.status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


def _content_length(scope: Any) -> int | None:
    for k, v in scope.get("headers", ()):
        if k.lower() == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None


class EdgeH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with JSON error bodies for malformed requests and a timeout for
    request headers that never complete (a connection opened and left half-sent)."""

    header_timeout: float = HEADER_TIMEOUT

    @classmethod
    def with_header_timeout(cls, seconds: float | None) -> type[EdgeH11Protocol]:
        """This protocol with another header timeout (None: the default)."""
        if seconds is None:
            return cls
        return type(cls.__name__, (cls,), {"header_timeout": seconds})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)

    def _cancel_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _in_request(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self._in_request() or self.transport.is_closing():
            return  # a request started meanwhile (its body has its own bounds)
        log.debug("request headers incomplete after %.1f s: closing", self.header_timeout)
        self.transport.write(
            raw_response(
                408,
                "Request Timeout",
                ErrorName.REQUEST_TIMEOUT,
                "the request headers did not arrive in time",
            )
        )
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._header_timer is not None and self._in_request():
            self._cancel_header_timer()  # the request's headers are complete

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()  # the next request on this connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._cancel_header_timer()
        self.transport.write(raw_response(400, "Bad Request", ErrorName.MALFORMED_HTTP, msg))
        self.transport.close()
