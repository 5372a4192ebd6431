"""``subnetes governance``: the senate, proposals and votes (chain/rules/governance.py).

A senate seat belongs to a root validator's hotkey; its owning coldkey signs (``--key``,
``--password-env`` as every other command) and names the hotkey with ``--hotkey``.
"""

from __future__ import annotations

from typing import Any

import click

from .cli import (
    addr,
    client,
    emit_document,
    endpoint_option,
    fail_cleanly,
    key_option,
    out,
    output_option,
    print_table,
    safe,
    submit,
)
from .units import fmt_tao, tao

STATUSES = ("open", "executed", "rejected", "expired", "failed")


def parse_value(text: str) -> bool | int | str:
    """A proposal's value from the command line: ``true``/``false``, an integer (rao for
    amounts), ``<decimal>tao`` (converted to rao), or a word such as ``subtensor``."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low.endswith("tao"):
        return tao(low[: -len("tao")])
    if low.isdigit():
        return int(low)
    return low


@click.group("governance")
def governance_group() -> None:
    """The senate (top root validators by stake) and its proposals."""


@governance_group.command("propose")
@click.argument("name")
@click.argument("value")
@click.option("--hotkey", required=True, help="the senate member's hotkey (a root validator)")
@click.option(
    "--netuid", type=int, default=None, help="change this subnet's hyperparameter NAME instead"
)
@key_option(help="the coldkey that owns --hotkey")
@endpoint_option
@fail_cleanly
def governance_propose(
    name: str, value: str, hotkey: str, netuid: int | None, key: str, endpoint: str
) -> None:
    """Propose setting network parameter NAME (or, with --netuid, a subnet hyperparameter) to
    VALUE: true/false, an integer (rao for amounts), 1.5tao, or a word (owner, subtensor)."""
    args: dict[str, Any] = {"hotkey": addr(hotkey), "name": name, "value": parse_value(value)}
    if netuid is not None:
        args["netuid"] = netuid
    submit(endpoint, key, "propose", args)


@governance_group.command("vote")
@click.argument("proposal", type=int)
@click.argument("choice", type=click.Choice(["aye", "nay"]))
@click.option("--hotkey", required=True, help="the senate member's hotkey")
@key_option(help="the coldkey that owns --hotkey")
@endpoint_option
@fail_cleanly
def governance_vote(proposal: int, choice: str, hotkey: str, key: str, endpoint: str) -> None:
    """Vote aye or nay on PROPOSAL (a second vote replaces the first while it is open)."""
    args = {"hotkey": addr(hotkey), "proposal": proposal, "approve": choice == "aye"}
    submit(endpoint, key, "vote", args)


def _change(p: dict[str, Any]) -> str:
    where = "network" if p["netuid"] is None else f"subnet {p['netuid']}"
    return f"{where}: {p['name']} = {p['value']}"


@governance_group.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="only these")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@endpoint_option
@output_option
@fail_cleanly
def governance_list(status: str | None, limit: int, endpoint: str, output: str) -> None:
    """Proposals, newest first."""
    with client(endpoint) as c:
        rows = c.get("/v1/governance/proposals", status=status, limit=limit)
    if emit_document(rows, output):
        return
    cols = [("id", 0), ("change", 0), ("status", 0), ("ayes", 0), ("nays", 0), ("end", 2)]
    cols += [("proposer", 3), ("closed", 1)]
    table = [
        [
            safe(p["id"]),
            safe(_change(p)),
            safe(p["status"] + (f" ({p['error']})" if p["error"] else "")),
            safe(len(p["ayes"])),
            safe(len(p["nays"])),
            safe(p["end"]),
            safe(p["proposer"][:10]),
            safe(p["closed_at"] if p["closed_at"] is not None else "-"),
        ]
        for p in rows
    ]
    print_table(cols, table)


@governance_group.command("show")
@click.argument("proposal", type=int)
@endpoint_option
@output_option
@fail_cleanly
def governance_show(proposal: int, endpoint: str, output: str) -> None:
    """One proposal with its votes."""
    with client(endpoint) as c:
        p = c.get(f"/v1/governance/proposals/{proposal}")
    if emit_document(p, output):
        return
    out.print(f"proposal {safe(p['id'])}: {safe(_change(p))}")
    closed = f", closed at {safe(p['closed_at'])}" if p["closed_at"] is not None else ""
    error = f" ({safe(p['error'])})" if p["error"] else ""
    out.print(f"status {safe(p['status'])}{error}{closed}")
    out.print(f"proposed by {safe(p['proposer'])} at block {safe(p['created'])}")
    out.print(f"voting open until block {safe(p['end'])} (exclusive)")
    for label, keys in (("ayes", p["ayes"]), ("nays", p["nays"])):
        out.print(f"{label} ({len(keys)}): {safe(', '.join(keys) or '-')}")


@governance_group.command("senate")
@endpoint_option
@output_option
@fail_cleanly
def governance_senate(endpoint: str, output: str) -> None:
    """Senate members, how proposals pass, and the parameters they may change."""
    with client(endpoint) as c:
        s = c.get("/v1/governance/senate")
    if emit_document(s, output):
        return
    rows = [
        [safe(m["hotkey"]), fmt_tao(m["stake"]), safe(m["uid"]), safe((m["coldkey"] or "-")[:10])]
        for m in s["members"]
    ]
    print_table([("hotkey", 0), ("stake", 0), ("root uid", 1), ("coldkey", 2)], rows)
    out.print(
        f"{len(s['members'])}/{safe(s['senate_size'])} seats; a proposal is open "
        f"{safe(s['proposal_voting_period'])} blocks and {safe(s['threshold'])}"
    )
    for k, v in s["parameters"].items():
        out.print(f"  {safe(k)} = {safe(v)}")
