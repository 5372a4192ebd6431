"""Signed axon requests: a validator signs each request with its hotkey; the miner verifies.

The signature covers a domain tag and the canonical JSON of: the HTTP method and path, the
SHA-256 of the body, the signer and the receiving miner's hotkeys (so a request cannot be
replayed against another miner), the netuid, a random nonce and a timestamp. The miner rejects
requests outside the clock window and any (signer, nonce) seen within it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from bittensor_wallet import Keypair

DOMAIN = b"subnetes-axon-request-v1:"
H_SIGNER = "X-Subnetes-Signer"
H_RECEIVER = "X-Subnetes-Receiver"
H_NETUID = "X-Subnetes-Netuid"
H_NONCE = "X-Subnetes-Nonce"
H_TIMESTAMP = "X-Subnetes-Timestamp"  # unix milliseconds
H_SIGNATURE = "X-Subnetes-Signature"
HEADERS = (H_SIGNER, H_RECEIVER, H_NETUID, H_NONCE, H_TIMESTAMP, H_SIGNATURE)


class AuthError(Exception):
    """A request that fails authentication; ``name`` is a stable machine-readable reason."""

    def __init__(self, name: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SignedHeaders:
    """The parsed authentication headers of a request."""

    signer: str
    receiver: str
    netuid: int
    nonce: str
    timestamp_ms: int
    signature: bytes


def signed_message(
    method: str,
    path: str,
    body: bytes,
    signer: str,
    receiver: str,
    netuid: int,
    nonce: str,
    timestamp_ms: int,
) -> bytes:
    """The exact bytes that are signed and verified."""
    doc = {
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "method": method.upper(),
        "netuid": netuid,
        "nonce": nonce,
        "path": path,
        "receiver": receiver,
        "signer": signer,
        "timestamp_ms": timestamp_ms,
    }
    return DOMAIN + json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def sign_request(
    keypair: Keypair,
    *,
    method: str,
    path: str,
    body: bytes,
    receiver: str,
    netuid: int,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers that authenticate ``body`` sent by ``keypair``'s hotkey to ``receiver``."""
    nonce = nonce or secrets.token_hex(16)
    ts = int((time.time() if now is None else now) * 1000)
    msg = signed_message(method, path, body, keypair.ss58_address, receiver, netuid, nonce, ts)
    return {
        H_SIGNER: keypair.ss58_address,
        H_RECEIVER: receiver,
        H_NETUID: str(netuid),
        H_NONCE: nonce,
        H_TIMESTAMP: str(ts),
        H_SIGNATURE: "0x" + keypair.sign(msg).hex(),
    }


def parse_headers(headers: Mapping[str, str]) -> SignedHeaders:
    """Parse the auth headers; AuthError ``Unsigned`` when any is missing."""
    missing = [h for h in HEADERS if not headers.get(h)]
    if missing:
        raise AuthError("Unsigned", f"missing header(s): {', '.join(missing)}")
    nonce = headers[H_NONCE]
    if not (8 <= len(nonce) <= 64 and nonce.isascii() and nonce.isalnum()):
        raise AuthError("BadNonce", "nonce must be 8-64 ASCII letters or digits")
    try:
        ts = int(headers[H_TIMESTAMP])
        netuid = int(headers[H_NETUID])
    except ValueError:
        raise AuthError("MalformedHeaders", "timestamp and netuid must be integers") from None
    sig_hex = headers[H_SIGNATURE].removeprefix("0x")
    try:
        sig = bytes.fromhex(sig_hex)
    except ValueError:
        raise AuthError("BadSignature", "signature is not hex") from None
    if len(sig) != 64:
        raise AuthError("BadSignature", "signature must be 64 bytes")
    return SignedHeaders(headers[H_SIGNER], headers[H_RECEIVER], netuid, nonce, ts, sig)


def verify_signature(h: SignedHeaders, method: str, path: str, body: bytes) -> None:
    """Check the sr25519 signature over the request; AuthError ``BadSignature`` if it fails."""
    msg = signed_message(
        method, path, body, h.signer, h.receiver, h.netuid, h.nonce, h.timestamp_ms
    )
    try:
        ok = Keypair(ss58_address=h.signer).verify(msg, h.signature)
    except Exception:  # malformed address
        ok = False
    if not ok:
        raise AuthError("BadSignature", "signature does not match the signer and request")


class ReplayGuard:
    """Accepts each (signer, nonce) once within a clock window of ``window_s`` seconds.

    Requests whose timestamp is further than the window from now are refused outright, so
    remembering nonces for twice the window is enough; memory is bounded by ``max_entries``
    (when full, new requests are refused rather than old nonces forgotten).
    """

    def __init__(self, window_s: float = 30.0, max_entries: int = 200_000) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._seen: dict[tuple[str, str], float] = {}  # insertion order ~ arrival order

    def check_time(self, timestamp_ms: int, now: float) -> None:
        """Refuse a timestamp outside the window (stale, or from a clock far ahead)."""
        if abs(timestamp_ms / 1000 - now) > self.window_s:
            raise AuthError(
                "StaleRequest",
                f"timestamp is more than {self.window_s:g}s away from the miner's clock",
            )

    def check_and_remember(self, signer: str, nonce: str, now: float) -> None:
        """Refuse a nonce already seen from ``signer``; otherwise remember it."""
        self._expire(now)
        key = (signer, nonce)
        if key in self._seen:
            raise AuthError("Replay", "this nonce was already used")
        if len(self._seen) >= self.max_entries:
            raise AuthError("Busy", "too many requests in the replay window", status=429)
        self._seen[key] = now + 2 * self.window_s

    def _expire(self, now: float) -> None:
        while self._seen:
            key, expiry = next(iter(self._seen.items()))
            if expiry > now:
                break
            del self._seen[key]

    def __len__(self) -> int:
        return len(self._seen)
