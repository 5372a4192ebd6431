"""The dashboard's governance panel in headless Chromium: the senate and a proposal are shown,
and the proposal's execution arrives live (the page refreshes on each Block event).

Never skipped, like the other dashboard test: without Chromium or playwright it fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from subnetes.chain.client import ChainClient
from subnetes.chain.units import tao

from .test_dashboard_browser import ALICE, CHROMIUM, CHROMIUM_ARGS, chain_url, key

__all__ = ["chain_url"]  # the fixture, shared with the other dashboard test


def in_block(c: ChainClient, *calls: tuple[str, dict]) -> None:
    """Submit Alice's ``calls`` and produce one block holding them all."""
    hashes = [c.submit(ALICE, call, args, wait=False)["hash"] for call, args in calls]
    c.produce()
    for h in hashes:
        assert c.get(f"/v1/extrinsics/{h}")["status"] == "in_block"


def test_governance_panel(chain_url: str, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    c = ChainClient(chain_url)
    vals = [key(f"dash-gov-v{i}") for i in range(3)]
    in_block(
        c,
        *[("root_register", {"hotkey": v.ss58_address}) for v in vals],
        *[
            ("add_stake", {"hotkey": v.ss58_address, "amount": tao(30 - 10 * i)})
            for i, v in enumerate(vals)
        ],
    )
    c.produce()  # the senate forms
    h = c.propose(ALICE, vals[0].ss58_address, "subnet_limit", 4, wait=False)["hash"]
    c.produce()
    assert c.get(f"/v1/extrinsics/{h}")["status"] == "in_block"
    assert [p["id"] for p in c.proposals(status="open")] == [0]
    assert len(c.senate()["members"]) == 3

    errors: list[str] = []
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            page = ctx.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.goto(chain_url + "/", wait_until="load")
            page.wait_for_function(
                "() => document.querySelectorAll('#senate tbody tr[data-hotkey]').length === 3"
            )
            shown = page.eval_on_selector_all(
                "#senate tbody tr", "rs => rs.map(r => r.dataset.hotkey)"
            )
            assert shown == [v.ss58_address for v in vals]  # highest stake first
            row = "#proposals tbody tr[data-proposal='0']"
            page.wait_for_selector(f"{row}[data-status='open']")
            assert "network: subnet_limit = 4" in page.inner_text(row)
            page.wait_for_selector("#live.on")
            # v1's aye passes it (2 of 3); the panel follows without a reload
            h = c.vote(ALICE, vals[1].ss58_address, 0, True, wait=False)["hash"]
            c.produce()
            assert c.proposal(0)["status"] == "executed"
            page.wait_for_selector(f"{row}[data-status='executed']")
            assert "3 / 12 seats" in page.inner_text("#gov-rule")
        finally:
            ctx.close()
    assert not errors, f"console errors: {errors}"
