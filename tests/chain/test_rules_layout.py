"""The chain's rules are grouped by domain under chain/rules/, reached through one call table,
and name errors and events only through the wire's declared lists (issue 12 #5)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from subnetes.chain.rules.dispatch import CALLS
from subnetes.wire.errors import ErrorName
from subnetes.wire.events import EventKind

CHAIN = Path(__file__).resolve().parents[2] / "chain"
RULES = CHAIN / "rules"
DOMAINS = {
    "balances",
    "subnets",
    "registration",
    "staking",
    "weights",
    "serving",
    "root",
    "admin",
    "coinbase",
    "governance",
}
# Call -> the argument position that names an error (or an event kind, for emit).
NAME_ARG = {"fail": 0, "require": 1, "ChainError": 0, "require_balance": 3, "emit": 0}
# Modules whose error names and event kinds must be wire members, never free strings.
CHECKED = [*sorted(RULES.glob("*.py")), CHAIN / "extrinsic.py", CHAIN / "block.py"]


def test_each_call_is_handled_in_its_domain_module() -> None:
    """A reader finds a rule from the file name: every handler lives in chain/rules/<domain>.py
    (not in the dispatch table, not in a catch-all module)."""
    modules = {spec.fn.__module__ for spec in CALLS.values()}
    domains = {m.rsplit(".", 1)[-1] for m in modules}
    assert all(m.startswith("subnetes.chain.rules.") for m in modules), modules
    assert domains <= DOMAINS, domains - DOMAINS
    assert {p.stem for p in RULES.glob("*.py")} == DOMAINS | {"__init__", "common", "dispatch"}
    assert not (CHAIN / "calls.py").exists()
    for name, spec in CALLS.items():  # the handler is the module's function of the call's name
        mod = importlib.import_module(spec.fn.__module__)
        assert getattr(mod, name) is spec.fn, name
        assert spec.doc and spec.fn.__doc__, name


def free_string_names(source: str) -> list[str]:
    """String literals passed where an error name or event kind goes (should be enum members)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        pos = NAME_ARG.get(name)
        if pos is None or len(node.args) <= pos:
            continue
        arg = node.args[pos]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            out.append(f"line {node.lineno}: {name}({arg.value!r})")
    return out


def test_free_string_scanner() -> None:
    src = (
        'require(ok, "NotSudo", "no")\n'
        'fail("StaleNonce", "old")\n'
        'ctx.emit("Transfer", amount=1)\n'
        'require_balance(st, who, 1, "InsufficientBalance", "x")\n'
        "require(ok, ErrorName.NOT_SUDO, 'no')\n"
        "ctx.emit(EventKind.TRANSFER, amount=1)\n"
    )
    assert [s.split(":")[0] for s in free_string_names(src)] == [f"line {n}" for n in (1, 2, 3, 4)]


def test_rules_use_the_declared_error_names_and_event_kinds() -> None:
    """No free strings: every error name and event kind in the rules is a member of
    ErrorName / EventKind, so a typo is an AttributeError at import, not a new wire name."""
    found = {p.name: free_string_names(p.read_text()) for p in CHECKED}
    assert {k: v for k, v in found.items() if v} == {}
    assert len(ErrorName) > 40 and len(EventKind) > 10
