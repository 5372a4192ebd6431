"""One key is one account (issue 13 #4): the chain accepts an address only in its own SS58
format (42) and canonical spelling, for EVERY call argument that takes an address (found by
walking the call table, so a new call is covered without editing this test) and for the
signer. The same key in Polkadot's format 0 or Kusama's format 2 is refused, not a second
account."""

from __future__ import annotations

from typing import Any

import pytest

from subnetes.chain.errors import ChainError, ErrorName
from subnetes.chain.extrinsic import parse, sign, verify_signature
from subnetes.chain.rules.dispatch import CALLS, Arg, validate_args
from subnetes.wire.ss58 import SS58_FORMAT, decode_ss58, encode_ss58, is_ss58

from .conftest import ALICE, Net, key

BOB = key("Bob")
OTHER_FORMATS = (0, 2, 5, 63)
SAMPLE = {  # a valid value of each argument kind
    "int": 1,
    "u16": 1,
    "bool": True,
    "str": "x",
    "u16list": [],
    "intlist": [],
    "value": 1,
    "name": "tempo",
    "param": 1,
}


def sample(spec: Arg, good_ss58: str) -> Any:
    return good_ss58 if spec.kind == "ss58" else SAMPLE.get(spec.kind, spec.default)


def address_args() -> list[tuple[str, str]]:
    return [(c, a) for c, s in CALLS.items() for a, spec in s.args.items() if spec.kind == "ss58"]


def test_the_call_table_has_address_arguments() -> None:
    # transfer, faucet, register_network, burned_register, root_register, stakes, take, sudo
    assert len(address_args()) >= 9


@pytest.mark.parametrize(("call", "arg"), address_args())
@pytest.mark.parametrize("fmt", OTHER_FORMATS)
def test_every_address_argument_refuses_another_format(call: str, arg: str, fmt: int) -> None:
    good = BOB.ss58_address
    args = {n: sample(s, good) for n, s in CALLS[call].args.items() if s.required or n == arg}
    validate_args(call, args)  # the format-42 spelling passes
    other = encode_ss58(BOB.public_key, fmt)
    assert other != good
    with pytest.raises(ChainError) as info:
        validate_args(call, {**args, arg: other})
    assert info.value.name == ErrorName.INVALID_ARGUMENTS
    assert arg in info.value.message


@pytest.mark.parametrize("fmt", OTHER_FORMATS)
def test_signer_in_another_format_is_refused(dev: Net, fmt: int) -> None:
    body = sign(
        ALICE, "transfer", {"dest": BOB.ss58_address, "amount": 1}, 0, dev.ledger.genesis_hash
    )
    body["signer"] = encode_ss58(ALICE.public_key, fmt)  # same key: the signature still verifies
    with pytest.raises(ChainError) as info:
        verify_signature(parse(body), dev.ledger.genesis_hash)
    assert info.value.name == ErrorName.INVALID_SIGNER


def test_transfer_to_a_format_0_address_is_refused_and_moves_nothing(dev: Net) -> None:
    dest0 = encode_ss58(BOB.public_key, 0)
    dev.err(ALICE, "transfer", ErrorName.INVALID_ARGUMENTS, dest=dest0, amount=10**9)
    assert dev.st.balance(dest0) == 0


def test_one_hotkey_cannot_hold_two_uids_through_another_format(dev: Net) -> None:
    owner, hot = key("addr-owner"), key("addr-hot")
    dev.ok(ALICE, "transfer", dest=owner.ss58_address, amount=10**13)
    dev.ok(owner, "register_network", hotkey=owner.ss58_address)
    dev.ok(owner, "burned_register", netuid=1, hotkey=hot.ss58_address)
    for fmt in OTHER_FORMATS:
        dev.err(
            owner,
            "burned_register",
            ErrorName.INVALID_ARGUMENTS,
            netuid=1,
            hotkey=encode_ss58(hot.public_key, fmt),
        )


def test_only_the_canonical_spelling_is_an_address() -> None:
    good = ALICE.ss58_address
    assert decode_ss58(good) == ALICE.public_key
    assert encode_ss58(ALICE.public_key) == good and SS58_FORMAT == 42
    for bad in (
        "1" + good,  # a leading zero byte
        good[:-1] + ("a" if good[-1] != "a" else "b"),  # checksum
        "0x" + ALICE.public_key.hex(),  # a raw public key
        good + " ",
        "",
        "5" * 200,
    ):
        assert not is_ss58(bad), bad


def test_the_cli_names_another_networks_address() -> None:
    from subnetes.chain.keys import resolve_address
    from subnetes.wire.ss58 import format_of

    assert resolve_address(BOB.ss58_address) == BOB.ss58_address
    for fmt in OTHER_FORMATS:
        other = encode_ss58(BOB.public_key, fmt)
        assert format_of(other) == fmt
        with pytest.raises(ValueError, match=f"format {fmt}; this chain accepts only format 42"):
            resolve_address(other)
