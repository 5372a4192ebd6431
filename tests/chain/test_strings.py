"""Strict strings in, escaped strings out (issue 13 #5).

Every string argument of every call (found by walking the call table, so a new call is covered
without editing this test) refuses control and format characters and unbounded lengths; an
axon's IP is a plain address literal (no IPv6 scope id, which was free text). And what a CLI
prints from the chain is escaped even when the stored string is hostile (an old database:
injected into the state directly here), so nothing reaches the terminal as an escape sequence.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from subnetes.chain import cli, views
from subnetes.chain.errors import ChainError, ErrorName
from subnetes.chain.rules.dispatch import CALLS, validate_args
from subnetes.chain.state import Axon
from subnetes.chain.units import tao
from subnetes.wire.text import is_plain_text, printable

from .conftest import ALICE, Net, key

# Kinds whose values are strings; every other kind is a number, boolean or list of numbers.
STRING_KINDS = {"str", "ip", "hash32", "name", "ss58", "param"}  # param: a flag, number or word
KNOWN_KINDS = STRING_KINDS | {"int", "u16", "bool", "u16list", "intlist", "value"}
GOOD = {
    "str": "x",
    "ip": "10.0.0.1",
    "hash32": "0x" + "ab" * 32,
    "name": "tempo",
    "ss58": ALICE.ss58_address,
    "int": 1,
    "u16": 1,
    "bool": True,
    "u16list": [],
    "intlist": [],
    "value": 1,
    "param": "subtensor",
}
ESC = "\x1b"
HOSTILE = [
    "fe80::1%eth0\n[bold red]pwned[/]",
    "fe80::1%" + ESC + "]8;;http://evil.example/" + ESC + "\\click" + ESC + "]8;;" + ESC + "\\",
    "10.0.0.1" + ESC + "[2J" + ESC + "[31mred",
    "127.0.0.1\r\n",
    "::1\x07",
    "0x" + "ab" * 31 + ESC + "[",  # 66 characters, the old commit_hash check's only test
    "tempo\u202e",  # a bidirectional override
    "ok\u200b",  # a zero-width space (format character)
    "x" * 10_000,
]


def string_args() -> list[tuple[str, str]]:
    return [(c, a) for c, s in CALLS.items() for a, sp in s.args.items() if sp.kind in STRING_KINDS]


def test_every_argument_kind_is_known() -> None:
    """A new kind must be added here, and to STRING_KINDS if it holds text."""
    kinds = {sp.kind for s in CALLS.values() for sp in s.args.values()}
    assert kinds <= KNOWN_KINDS, kinds - KNOWN_KINDS
    assert not any(sp.kind == "str" for s in CALLS.values() for sp in s.args.values()), (
        "a call stores free text: give it a strict kind (ip, hash32, name, ss58)"
    )


@pytest.mark.parametrize(("call", "arg"), string_args())
@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_every_string_argument_refuses_hostile_text(call: str, arg: str, hostile: str) -> None:
    args = {n: GOOD[sp.kind] for n, sp in CALLS[call].args.items() if sp.required or n == arg}
    validate_args(call, args)
    with pytest.raises(ChainError) as info:
        validate_args(call, {**args, arg: hostile})
    expected = ErrorName.INVALID_IP_ADDRESS if CALLS[call].args[arg].kind == "ip" else None
    assert info.value.name == (expected or ErrorName.INVALID_ARGUMENTS)
    assert arg in info.value.message


@pytest.mark.parametrize(
    "ip",
    [
        "fe80::1%eth0",
        "fe80::1%" + ESC + "]0;owned" + "\x07",
        "fe80::1%\n[link=http://evil.example]x[/link]",
        "[::1]",
        "127.0.0.1:80",
        " 127.0.0.1",
        "0:0:0:0:0:ffff:255.255.255.255:0",
    ],
)
def test_serve_axon_refuses_scope_ids_and_text(dev: Net, ip: str) -> None:
    owner, miner = key("str-owner"), key("str-miner")
    dev.ok(ALICE, "transfer", dest=owner.ss58_address, amount=tao(1000))
    dev.ok(ALICE, "transfer", dest=miner.ss58_address, amount=tao(10))
    dev.ok(owner, "register_network", hotkey=owner.ss58_address)
    dev.ok(owner, "burned_register", netuid=1, hotkey=miner.ss58_address)
    dev.ok(miner, "serve_axon", netuid=1, ip="fe80::1", port=8091)  # a plain IPv6 address is fine
    dev.err(miner, "serve_axon", ErrorName.INVALID_IP_ADDRESS, netuid=1, ip=ip, port=8092)


def test_plain_text_and_printable() -> None:
    assert is_plain_text("10.0.0.1 tempo ü ✓") and not is_plain_text("a\tb")
    shown = printable("a" + ESC + "[31m\n\u202eb\U000f0000")
    assert shown == "a\\x1b[31m\\x0a\\u202eb\\U000f0000"
    assert all(c.isprintable() for c in shown)


class FakeClient:
    """What ``subnetes metagraph`` reads, served from an in-memory state (as the API would)."""

    def __init__(self, net: Net) -> None:
        self.net = net

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *a: Any) -> None:
        pass

    def metagraph(self, netuid: int) -> Any:
        return views.metagraph(self.net.st, self.net.st.subnets[netuid])

    def subnets(self) -> Any:
        raise ChainError("InvalidArguments", "bad " + ESC + "]0;title\x07 [red]x[/]\nsecond line")


def _hostile_net(dev: Net) -> Net:
    owner, miner = key("cli-owner"), key("cli-miner")
    dev.ok(ALICE, "transfer", dest=owner.ss58_address, amount=tao(1000))
    dev.ok(owner, "register_network", hotkey=owner.ss58_address)
    dev.ok(owner, "burned_register", netuid=1, hotkey=miner.ss58_address)
    uid = dev.st.subnets[1].uid_of[miner.ss58_address]
    # an axon stored before the check existed (an old database): written into the state directly
    dev.st.neuron_mut(1, uid).axon = Axon(
        block=dev.block,
        ip="fe80::1%" + ESC + "]8;;http://evil.example/" + ESC + "\\" + ESC + "[2J[bold]x[/bold]\n",
        port=8091,
        ip_type=6,
    )
    return dev


def test_metagraph_prints_a_hostile_stored_axon_escaped(
    dev: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = _hostile_net(dev)
    monkeypatch.setattr(cli, "client", lambda endpoint: FakeClient(net))
    monkeypatch.setattr(cli, "out", Console(width=400, color_system=None, highlight=False))
    res = CliRunner().invoke(cli.metagraph, ["1"])
    assert res.exit_code == 0, res.output
    assert ESC not in res.output and "\x07" not in res.output
    assert "\\x1b]8;;http://evil.example/" in res.output  # shown, not acted upon
    assert "[bold]x[/bold]" in res.output  # markup printed literally, not interpreted
    rows = [ln for ln in res.output.splitlines() if "fe80::1%" in ln]
    assert len(rows) == 1 and "\\x0a" in rows[0]  # the line break shown, on the same row


def test_error_lines_are_escaped(dev: Net, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "client", lambda endpoint: FakeClient(dev))
    res = CliRunner().invoke(cli.subnet_list, [])
    assert res.exit_code == 1
    assert ESC not in res.output and "\x07" not in res.output
    assert len(res.output.strip().splitlines()) == 1 and "\\x0asecond line" in res.output


def test_dashboard_never_writes_html() -> None:
    """The dashboard renders chain data with textContent and setAttribute of fixed attribute
    names only: no HTML parsing sink that a stored string could inject into."""
    root = Path(cli.__file__).parent / "dashboard"
    for path in root.glob("*.js"):
        src = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in src, f"{path.name} uses {sink}"
        assert not re.search(r"new\s+Function|setAttribute\(\s*[\"'](href|src|on)", src)


def test_demo_view_prints_hostile_text_escaped() -> None:
    from subnetes.localnet.demo import render

    hostile = "m" + ESC + "]0;owned" + "\x07[blink]x[/blink]\n"
    snap = {
        "netuid": 1,
        "block": 5,
        "phases": {ALICE.ss58_address: ("Miner", hostile, "Running" + ESC + "[2J")},
        "neurons": [
            {
                "uid": 0,
                "hotkey": ALICE.ss58_address,
                "stake": 0,
                "incentive": 0,
                "dividends": 0,
                "emission": 0,
            }
        ],
    }
    console = Console(width=300, color_system=None, record=True)
    console.print(render(snap))
    text = console.export_text()
    assert ESC not in text and "\x07" not in text and "[blink]x[/blink]" in text
