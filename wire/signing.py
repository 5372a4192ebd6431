"""Extrinsics on the wire: their shape, signing and signature verification.

Body: ``{"call", "args", "signer", "nonce", "genesis", "signature"}`` plus an optional ``tip``
(rao, omitted when 0, so bodies without a tip are unchanged); the signed bytes are the canonical
JSON of the body without ``signature`` (docs/specs/interfaces.md). This is what a
client needs to sign and what the chain checks before it applies anything; applying (nonce,
rules, state) stays in the chain (``subnetes.chain.extrinsic``), so signing never imports the
chain's state machine.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from bittensor_wallet import Keypair

from .codec import canonical, hex_hash
from .errors import ErrorName, fail, require
from .ss58 import is_ss58

FIELDS = ("call", "args", "signer", "nonce", "genesis", "signature")
OPTIONAL_FIELDS = ("tip",)  # rao paid on top of the fee; orders the queue (docs/specs/chain.md)
MAX_EXTRINSIC_BYTES = 1 << 20
SIGNATURE_RE = re.compile(r"0x[0-9a-f]{128}")  # what sign() writes; the only accepted spelling
MAX_DEPTH = 16  # nesting of JSON containers in a body (arguments are at most lists)


@dataclass(frozen=True)
class Extrinsic:
    """A parsed extrinsic body (shape checked, signature not yet)."""

    call: str
    args: dict[str, Any]
    signer: str
    nonce: int
    genesis: str
    signature: str
    tip: int = 0

    def body(self) -> dict[str, Any]:
        """The wire form (``tip`` only when non-zero)."""
        b: dict[str, Any] = {
            "call": self.call,
            "args": self.args,
            "signer": self.signer,
            "nonce": self.nonce,
            "genesis": self.genesis,
            "signature": self.signature,
        }
        if self.tip:
            b["tip"] = self.tip
        return b

    def signed_bytes(self) -> bytes:
        """What the signature covers: the canonical JSON of the body without ``signature``."""
        b = self.body()
        del b["signature"]
        return canonical(b)

    @functools.cached_property
    def hash(self) -> str:
        """``0x``-hex blake2b-256 of the canonical JSON of the whole body (computed once: the
        node asks for it at admission, in the queue, twice while building the block and for
        the result; a 256-UID set_weights body is about 3 kB of JSON)."""
        return hex_hash(canonical(self.body()))


def _depth_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when ``value`` nests containers at most ``limit`` deep (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            if d > limit:
                return False
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return True


def parse(body: Any) -> Extrinsic:
    """Check the wire shape (fields, types); raise ChainError ``MalformedExtrinsic``."""
    bad = ErrorName.MALFORMED_EXTRINSIC
    if not isinstance(body, dict):
        fail(bad, "the body must be a JSON object")
    require(_depth_ok(body), bad, f"the body nests deeper than {MAX_DEPTH} levels")
    unknown = sorted(set(body) - set(FIELDS) - set(OPTIONAL_FIELDS))
    require(not unknown, bad, f"unknown field(s): {', '.join(unknown)}")
    missing = [f for f in FIELDS if f not in body]
    require(not missing, bad, f"missing field(s): {', '.join(missing)}")
    for f in ("call", "signer", "genesis", "signature"):
        require(isinstance(body[f], str), bad, f"{f} must be a string")
    require(isinstance(body["args"], dict), bad, "args must be a JSON object")
    n = body["nonce"]
    require(
        isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**64,
        bad,
        "nonce must be a non-negative integer",
    )
    tip = body.get("tip", 0)
    # 0 is written by leaving the field out: one extrinsic has one body (and one hash).
    require(
        "tip" not in body
        or (isinstance(tip, int) and not isinstance(tip, bool) and 0 < tip < 2**64),
        bad,
        "tip must be a positive integer (leave it out for no tip)",
    )
    return Extrinsic(**{f: body[f] for f in FIELDS}, tip=tip)


def sign(
    keypair: Keypair,
    call: str,
    args: dict[str, Any],
    nonce: int,
    genesis: str,
    tip: int = 0,
) -> dict[str, Any]:
    """Build and sign an extrinsic body (what the client sends); ``tip`` rao orders the queue."""
    unsigned: dict[str, Any] = {
        "call": call,
        "args": args,
        "signer": keypair.ss58_address,
        "nonce": nonce,
        "genesis": genesis,
    }
    if tip:
        unsigned["tip"] = tip
    sig = keypair.sign(canonical(unsigned))
    return {**unsigned, "signature": "0x" + sig.hex()}


def verify_signature(xt: Extrinsic, genesis: str) -> None:
    """Signer address, genesis and sr25519 signature; raises ChainError."""
    require(
        is_ss58(xt.signer), ErrorName.INVALID_SIGNER, "signer must be an SS58 address (format 42)"
    )
    require(
        xt.genesis == genesis,
        ErrorName.WRONG_GENESIS,
        f"extrinsic is for genesis {xt.genesis}, this chain is {genesis}",
    )
    # One spelling per signature (bytes.fromhex alone also takes upper case, whitespace and no
    # prefix): a respelled signature would be another body, hash and stored string for the same
    # extrinsic, slipping past duplicate detection (issue 13 #3, #5).
    require(
        SIGNATURE_RE.fullmatch(xt.signature) is not None,
        ErrorName.BAD_SIGNATURE,
        "signature must be 0x followed by 128 lowercase hex digits (64 bytes)",
    )
    sig = bytes.fromhex(xt.signature[2:])
    try:
        ok = Keypair(ss58_address=xt.signer).verify(xt.signed_bytes(), sig)
    except Exception:
        ok = False
    require(ok, ErrorName.BAD_SIGNATURE, "signature does not match signer and body")
