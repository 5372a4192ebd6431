"""The wire package declares every error name and event kind the chain uses (issue 12)."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

from subnetes.chain.errors import ChainError as RuleError
from subnetes.sdk.chain import ChainError as SdkError
from subnetes.sdk.chain import ChainRejected, ChainUnavailable
from subnetes.wire.errors import ChainError, ErrorName, fail, http_status, require
from subnetes.wire.events import PAYLOADS, EventKind

CHAIN = Path(__file__).resolve().parents[1] / "chain"

# Calls whose argument at this position is an error name.
ERROR_ARG = {"fail": 0, "require": 1, "ChainError": 0, "error": 0}


def _string_args(func_names: dict[str, int]) -> dict[str, str]:
    """String literals passed at the given position to the given calls anywhere in chain/,
    mapped to where they were seen."""
    found: dict[str, str] = {}
    for path in sorted(CHAIN.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            pos = func_names.get(name)
            if pos is None or len(node.args) <= pos:
                continue
            arg = node.args[pos]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, f"{path.name}:{node.lineno}")
    return found


def test_every_error_name_the_chain_uses_is_declared() -> None:
    used = _string_args(ERROR_ARG)
    # log.error("...") messages are not error names
    used = {k: v for k, v in used.items() if " " not in k}
    missing = {k: v for k, v in used.items() if k not in set(ErrorName)}
    assert not missing, f"error names missing from subnetes.wire.errors.ErrorName: {missing}"


def test_every_event_kind_the_chain_emits_is_declared() -> None:
    used = _string_args({"emit": 0})
    missing = {k: v for k, v in used.items() if k not in set(EventKind)}
    assert not missing, f"event kinds missing from subnetes.wire.events.EventKind: {missing}"


def test_every_event_kind_has_a_payload_type_of_its_own() -> None:
    assert set(PAYLOADS) == set(EventKind)
    for kind, payload in PAYLOADS.items():
        hints = typing.get_type_hints(payload)
        assert typing.get_args(hints["type"]) == (kind.value,), kind
        assert {"type", "block", "index"} <= payload.__required_keys__, kind


def test_one_chain_error_class_for_the_chain_the_clients_and_the_sdk() -> None:
    assert RuleError is ChainError and SdkError is ChainError
    assert issubclass(ChainRejected, ChainError) and issubclass(ChainUnavailable, ChainError)
    e = ChainError(ErrorName.STALE_NONCE, "old")
    assert e.name == "StaleNonce" and type(e.name) is str
    assert e.to_json() == {"error": "StaleNonce", "message": "old"}
    assert ChainUnavailable("down").name == "ChainUnavailable"
    assert http_status(ErrorName.BAD_SIGNATURE) == 401 and http_status("NotSudo") == 403
    assert http_status(ErrorName.SETTING_WEIGHTS_TOO_FAST) == 422


def test_fail_and_require_raise_chain_error() -> None:
    require(True, ErrorName.NOT_SUDO, "fine")
    for raise_it in (
        lambda: fail(ErrorName.NOT_SUDO, "no"),
        lambda: require(False, ErrorName.NOT_SUDO, "no"),
    ):
        try:
            raise_it()
        except ChainError as e:
            assert e.name == "NotSudo" and e.message == "no"
        else:
            raise AssertionError("expected ChainError")


def test_emission_share_names_only_a_subnets_share() -> None:
    """A UID's share of its subnet's epoch emission is ``combined_share`` (NCE, beside
    ``server_share``/``validator_share``); ``emission_share`` is a subnet's share of block
    emission (the chain's subnet rows)."""
    from subnetes.consensus.interface import EpochOutputs

    assert "emission_share" not in EpochOutputs._fields
    assert {"server_share", "validator_share", "combined_share"} <= set(EpochOutputs._fields)
