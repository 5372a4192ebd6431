"""Extrinsics on the wire: parse, sign, verify signature / genesis / nonce, apply.

Body: ``{"call", "args", "signer", "nonce", "genesis", "signature"}``; the signed bytes are the
canonical JSON of the body without ``signature`` (interfaces.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bittensor_wallet import Keypair

from .calls import apply_call, is_ss58
from .codec import canonical, hex_hash
from .context import Ctx
from .errors import ChainError, fail, require
from .state import State

FIELDS = ("call", "args", "signer", "nonce", "genesis", "signature")
MAX_EXTRINSIC_BYTES = 1 << 20


@dataclass(frozen=True)
class Extrinsic:
    call: str
    args: dict[str, Any]
    signer: str
    nonce: int
    genesis: str
    signature: str

    def body(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "args": self.args,
            "signer": self.signer,
            "nonce": self.nonce,
            "genesis": self.genesis,
            "signature": self.signature,
        }

    def signed_bytes(self) -> bytes:
        b = self.body()
        del b["signature"]
        return canonical(b)

    @property
    def hash(self) -> str:
        return hex_hash(canonical(self.body()))


MAX_DEPTH = 16  # nesting of JSON containers in a body (arguments are at most lists)


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
    if not isinstance(body, dict):
        fail("MalformedExtrinsic", "the body must be a JSON object")
    require(_depth_ok(body), "MalformedExtrinsic", f"the body nests deeper than {MAX_DEPTH} levels")
    unknown = sorted(set(body) - set(FIELDS))
    require(not unknown, "MalformedExtrinsic", f"unknown field(s): {', '.join(unknown)}")
    missing = [f for f in FIELDS if f not in body]
    require(not missing, "MalformedExtrinsic", f"missing field(s): {', '.join(missing)}")
    for f in ("call", "signer", "genesis", "signature"):
        require(isinstance(body[f], str), "MalformedExtrinsic", f"{f} must be a string")
    require(isinstance(body["args"], dict), "MalformedExtrinsic", "args must be a JSON object")
    n = body["nonce"]
    require(
        isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**64,
        "MalformedExtrinsic",
        "nonce must be a non-negative integer",
    )
    return Extrinsic(**{f: body[f] for f in FIELDS})


def sign(
    keypair: Keypair, call: str, args: dict[str, Any], nonce: int, genesis: str
) -> dict[str, Any]:
    """Build and sign an extrinsic body (what the client sends)."""
    unsigned = {
        "call": call,
        "args": args,
        "signer": keypair.ss58_address,
        "nonce": nonce,
        "genesis": genesis,
    }
    sig = keypair.sign(canonical(unsigned))
    return {**unsigned, "signature": "0x" + sig.hex()}


def verify_signature(xt: Extrinsic, genesis: str) -> None:
    """Signer address, genesis and sr25519 signature; raises ChainError."""
    require(is_ss58(xt.signer), "InvalidSigner", "signer must be an SS58 address (format 42)")
    require(
        xt.genesis == genesis,
        "WrongGenesis",
        f"extrinsic is for genesis {xt.genesis}, this chain is {genesis}",
    )
    sig_hex = xt.signature[2:] if xt.signature.startswith("0x") else xt.signature
    try:
        sig = bytes.fromhex(sig_hex)
    except ValueError:
        fail("BadSignature", "signature is not hex")
    require(len(sig) == 64, "BadSignature", "signature must be 64 bytes")
    try:
        ok = Keypair(ss58_address=xt.signer).verify(xt.signed_bytes(), sig)
    except Exception:
        ok = False
    require(ok, "BadSignature", "signature does not match signer and body")


def check_nonce(st: State, xt: Extrinsic) -> None:
    """The nonce must equal the signer's next nonce."""
    expected = st.nonce(xt.signer)
    if xt.nonce < expected:
        fail("StaleNonce", f"nonce {xt.nonce} already used; next nonce is {expected}")
    require(
        xt.nonce == expected, "FutureNonce", f"nonce {xt.nonce} is ahead; next nonce is {expected}"
    )


def apply_extrinsic(
    st: State, ctx: Ctx, xt: Extrinsic, genesis: str, verified: bool = False
) -> None:
    """Verify then apply; on ChainError nothing changed. Bumps the signer's nonce on success."""
    if not verified:
        verify_signature(xt, genesis)
    check_nonce(st, xt)
    try:
        apply_call(st, ctx, xt.signer, xt.call, xt.args)
    except ChainError:
        raise
    except (
        Exception
    ) as e:  # a bug in a rule must never leave half a change: surface as 500-free error
        raise ChainError("InternalError", f"{type(e).__name__}: {e}") from e
    st.account_mut(xt.signer).nonce += 1
