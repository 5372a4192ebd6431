"""The one table of extrinsic calls: name -> handler, argument schema, doc; and dispatch.

Handlers live in their domain module (see :mod:`subnetes.chain.rules`); this module checks a
call's arguments against its schema before the handler runs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from subnetes.wire.ss58 import is_ss58
from subnetes.wire.text import is_plain_text

from ..context import Ctx
from ..errors import ErrorName, fail
from ..state import State
from ..units import U16_MAX, U64_MAX
from .admin import reset_bonds, set_hyperparameter, sudo_set_hyperparameter
from .balances import faucet, sudo_set_balance, transfer
from .governance import propose, vote
from .registration import burned_register
from .root import root_register, set_root_weights
from .serving import serve_axon
from .staking import add_stake, remove_stake, set_take
from .subnets import dissolve_network, register_network
from .weights import commit_weights, reveal_weights, set_weights


@dataclass(frozen=True)
class Arg:
    """One call argument: kind in {"int", "u16", "ss58", "bool", "str", "ip", "hash32", "name",
    "u16list", "intlist", "value", "param"}. Every string kind is strict (no control or format characters,
    bounded length): strings are stored in the state and blocks, and printed by the tools."""

    kind: str
    required: bool = True
    default: Any = None


_HASH32 = re.compile(r"0x[0-9a-f]{64}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_IP_CHARS = frozenset("0123456789abcdefABCDEF.:")
MAX_IP_CHARS = 45  # the longest IPv6 literal (IPv4-mapped, uncompressed)


def ip_literal(v: Any) -> bool:
    """True for a plain IPv4 or IPv6 address literal: no scope id (``%eth0``), no brackets, no
    port, nothing but hex digits, dots and colons."""
    if not isinstance(v, str) or not 0 < len(v) <= MAX_IP_CHARS or not set(v) <= _IP_CHARS:
        return False
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return False
    return True


def _check_arg(name: str, spec: Arg, v: Any) -> None:
    def bad(why: str) -> None:
        fail(ErrorName.INVALID_ARGUMENTS, f"argument {name!r} {why}")

    is_int = isinstance(v, int) and not isinstance(v, bool)
    if spec.kind == "int":
        if not is_int or not 0 <= v <= U64_MAX:
            bad("must be an integer in [0, 2^64-1]")
    elif spec.kind == "u16":
        if not is_int or not 0 <= v <= U16_MAX:
            bad("must be an integer in [0, 65535]")
    elif spec.kind == "bool":
        if not isinstance(v, bool):
            bad("must be a boolean")
    elif spec.kind == "str":
        if not isinstance(v, str) or not is_plain_text(v, 256):
            bad("must be a string of at most 256 characters without control or format characters")
    elif spec.kind == "ip":
        if not ip_literal(v):
            fail(
                ErrorName.INVALID_IP_ADDRESS,
                f"argument {name!r} must be a plain IPv4/IPv6 address (no scope id, at most "
                f"{MAX_IP_CHARS} characters)",
            )
    elif spec.kind == "hash32":
        if not isinstance(v, str) or not _HASH32.fullmatch(v):
            bad("must be a 0x-prefixed 32-byte lowercase hex string")
    elif spec.kind == "name":
        if not isinstance(v, str) or not _NAME.fullmatch(v):
            bad("must be a lowercase identifier ([a-z][a-z0-9_]*, at most 64 characters)")
    elif spec.kind == "ss58":
        if not isinstance(v, str) or not is_ss58(v):
            bad("must be an SS58 address (format 42)")
    elif spec.kind in ("u16list", "intlist"):
        hi = U16_MAX if spec.kind == "u16list" else U64_MAX
        if not isinstance(v, list) or len(v) > 65_536:
            bad("must be a list of at most 65536 integers")
        for x in v:
            if not (isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= hi):
                bad(f"must hold integers in [0, {hi}]")
    elif spec.kind == "value" and not (
        isinstance(v, bool) or (isinstance(v, int) and 0 <= v <= U64_MAX)
    ):
        bad("must be a boolean or a non-negative integer")
    elif spec.kind == "param" and not (
        isinstance(v, bool)
        or (isinstance(v, int) and 0 <= v <= U64_MAX)
        or (isinstance(v, str) and _NAME.fullmatch(v))
    ):
        bad("must be a boolean, a non-negative integer or a lowercase identifier")


def validate_args(call: str, args: Any) -> dict[str, Any]:
    """Check ``args`` against the call's schema (unknown, missing, wrong types) and fill defaults."""
    if call not in CALLS:
        fail(ErrorName.UNKNOWN_CALL, f"unknown call {call!r}")
    if not isinstance(args, dict):
        fail(ErrorName.INVALID_ARGUMENTS, "args must be a JSON object")
    schema = CALLS[call].args
    unknown = sorted(set(args) - set(schema))
    if unknown:
        fail(ErrorName.INVALID_ARGUMENTS, f"unknown argument(s) for {call}: {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for name, spec in schema.items():
        if name not in args:
            if spec.required:
                fail(ErrorName.INVALID_ARGUMENTS, f"missing argument {name!r} for {call}")
            out[name] = spec.default
            continue
        _check_arg(name, spec, args[name])
        out[name] = args[name]
    return out


@dataclass(frozen=True)
class CallSpec:
    """One call: its handler, its argument schema, and a one-line doc (served by the API)."""

    fn: Callable[[State, Ctx, str, dict[str, Any]], None]
    args: dict[str, Arg]
    doc: str


_N = Arg("int")
CALLS: dict[str, CallSpec] = {
    "transfer": CallSpec(transfer, {"dest": Arg("ss58"), "amount": _N}, "coldkey: send rao"),
    "faucet": CallSpec(faucet, {"amount": _N, "dest": Arg("ss58", False)}, "dev only: mint rao"),
    "register_network": CallSpec(
        register_network,
        {"hotkey": Arg("ss58"), "max_lock_cost": Arg("int", False)},
        "coldkey: register a subnet paying the lock; hotkey becomes UID 0",
    ),
    "dissolve_network": CallSpec(
        dissolve_network, {"netuid": _N}, "owner coldkey: remove a subnet"
    ),
    "burned_register": CallSpec(
        burned_register,
        {"netuid": _N, "hotkey": Arg("ss58"), "max_burn": Arg("int", False)},
        "coldkey: register hotkey on a subnet paying the burn",
    ),
    "root_register": CallSpec(
        root_register, {"hotkey": Arg("ss58")}, "coldkey: join root (netuid 0)"
    ),
    "add_stake": CallSpec(
        add_stake, {"hotkey": Arg("ss58"), "amount": _N}, "coldkey: stake on a hotkey"
    ),
    "remove_stake": CallSpec(
        remove_stake, {"hotkey": Arg("ss58"), "amount": _N}, "coldkey: unstake"
    ),
    "set_take": CallSpec(
        set_take, {"hotkey": Arg("ss58"), "take": Arg("u16")}, "owner coldkey: delegate take"
    ),
    "set_weights": CallSpec(
        set_weights,
        {
            "netuid": _N,
            "uids": Arg("u16list"),
            "values": Arg("u16list"),
            "version_key": Arg("int", False, 0),
        },
        "hotkey: set weights",
    ),
    "commit_weights": CallSpec(
        commit_weights,
        {"netuid": _N, "commit_hash": Arg("hash32")},
        "hotkey: commit a weights hash",
    ),
    "reveal_weights": CallSpec(
        reveal_weights,
        {
            "netuid": _N,
            "uids": Arg("u16list"),
            "values": Arg("u16list"),
            "salt": Arg("u16list"),
            "version_key": Arg("int", False, 0),
        },
        "hotkey: reveal committed weights",
    ),
    "set_root_weights": CallSpec(
        set_root_weights,
        {"netuids": Arg("u16list"), "values": Arg("u16list"), "version_key": Arg("int", False, 0)},
        "root validator hotkey: weights over subnets",
    ),
    "serve_axon": CallSpec(
        serve_axon,
        {
            "netuid": _N,
            "ip": Arg("ip"),
            "port": Arg("int"),
            "protocol": Arg("int", False, 4),
            "version": Arg("int", False, 0),
        },
        "hotkey: publish axon ip:port",
    ),
    "set_hyperparameter": CallSpec(
        set_hyperparameter,
        {"netuid": _N, "name": Arg("name"), "value": Arg("value")},
        "owner coldkey (or sudo): set a hyperparameter",
    ),
    "reset_bonds": CallSpec(
        reset_bonds, {"netuid": _N, "uid": Arg("int", False)}, "owner coldkey: reset bonds"
    ),
    "sudo_set_hyperparameter": CallSpec(
        sudo_set_hyperparameter,
        {"netuid": _N, "name": Arg("name"), "value": Arg("value")},
        "sudo: set any hyperparameter",
    ),
    "sudo_set_balance": CallSpec(
        sudo_set_balance, {"who": Arg("ss58"), "amount": _N}, "sudo: set a balance"
    ),
    "propose": CallSpec(
        propose,
        {
            "hotkey": Arg("ss58"),
            "name": Arg("name"),
            "value": Arg("param"),
            "netuid": Arg("int", False),
        },
        "senate member's coldkey: propose a network parameter (or, with netuid, a subnet "
        "hyperparameter) change",
    ),
    "vote": CallSpec(
        vote,
        {"hotkey": Arg("ss58"), "proposal": _N, "approve": Arg("bool")},
        "senate member's coldkey: vote on an open proposal",
    ),
}


def apply_call(st: State, ctx: Ctx, signer: str, call: str, args: Any) -> None:
    """Validate ``args`` and run ``call``; raises ChainError with nothing changed on rejection."""
    spec = CALLS.get(call)
    if spec is None:
        fail(ErrorName.UNKNOWN_CALL, f"unknown call {call!r}")
    assert spec is not None
    spec.fn(st, ctx, signer, validate_args(call, args))
