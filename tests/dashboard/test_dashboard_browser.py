"""The chain service's dashboard in headless Chromium (Debian's ``chromium``, driven by
playwright with its executable path set): a real chain process with manual blocks, a subnet with
miners and validators through a few epochs; the page loads with no console errors and no request
off the chain's origin, lists the UIDs, draws plots with data points, and follows new blocks live.

Never skipped: without Chromium or playwright the test fails. ``SUBNETES_CHROMIUM`` overrides
the browser path; the screenshot goes to ``$SUBNETES_ARTIFACTS`` (else the test's tmp dir)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bittensor_wallet import Keypair

from subnetes.chain.client import ChainClient
from subnetes.chain.units import tao

CHROMIUM = os.environ.get("SUBNETES_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TEMPO = 10  # dev profile


def key(name: str) -> Keypair:
    return Keypair.create_from_uri(f"//{name}")


ALICE = key("Alice")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chain_url(tmp_path: Path) -> Iterator[str]:
    """``subnetes chain run --manual`` on 127.0.0.1 (dev profile, SQLite)."""
    port, ready = free_port(), tmp_path / "chain.ready"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "subnetes",
            "chain",
            "run",
            "--db",
            str(tmp_path / "chain.db"),
            "--profile",
            "dev",
            "--manual",
            "--port",
            str(port),
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"chain did not start: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            if ready.exists():
                try:
                    if httpx.get(url + "/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def in_block(c: ChainClient, *submits: tuple) -> None:
    """Queue extrinsics (``(method, *args)``), produce one block, check they all made it in."""
    hashes = [fn(*args, wait=False)["hash"] for fn, *args in submits]
    c.produce()
    for h in hashes:
        res = c.get(f"/v1/extrinsics/{h}")
        assert res["status"] == "in_block", res


def build_network(c: ChainClient) -> dict[str, int]:
    """Subnet 1: the owner, two validators (staked) and three miners with axons; the validators'
    weights favour miner 3. Runs three epochs. Returns {name: uid}."""
    owner, v1, v2 = key("dash-owner"), key("dash-v1"), key("dash-v2")
    miners = [key(f"dash-m{i}") for i in (1, 2, 3)]
    in_block(c, (c.register_network, ALICE, owner.ss58_address))
    in_block(c, *[(c.burned_register, ALICE, 1, hk.ss58_address) for hk in (v1, v2, *miners)])
    in_block(
        c,
        (c.add_stake, ALICE, v1.ss58_address, tao(2000)),
        (c.add_stake, ALICE, v2.ss58_address, tao(800)),
        *[(c.serve_axon, m, 1, "127.0.0.1", 8100 + i) for i, m in enumerate(miners)],
    )
    uids = {
        name: c.uid_of(1, hk.ss58_address)
        for name, hk in [
            ("v1", v1),
            ("v2", v2),
            ("m1", miners[0]),
            ("m2", miners[1]),
            ("m3", miners[2]),
        ]
    }
    miner_uids = [uids["m1"], uids["m2"], uids["m3"]]
    c.produce(TEMPO + 1)  # the first epoch gives the staked validators their permits
    in_block(c, *[(c.set_weights, v, 1, miner_uids, [10_000, 20_000, 60_000]) for v in (v1, v2)])
    c.produce(2 * (TEMPO + 1) + 2)
    return uids  # type: ignore[return-value]


def test_dashboard_in_headless_chromium(chain_url: str, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: apt-get install chromium (or set SUBNETES_CHROMIUM)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the dashboard test needs the PyPI package 'playwright' (no browser download)")

    c = ChainClient(chain_url)
    uids = build_network(c)
    mg = c.metagraph(1)
    assert any(n["emission"] > 0 for n in mg["neurons"]), "the setup produced no emission"

    artifacts = Path(os.environ.get("SUBNETES_ARTIFACTS") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "dashboard.png"

    errors: list[str] = []
    foreign: list[str] = []
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = ctx.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on(
                "request",
                lambda r: None if r.url.startswith((chain_url, "data:")) else foreign.append(r.url),
            )
            page.goto(chain_url + "/", wait_until="load")

            # the metagraph table lists every UID of subnet 1
            page.wait_for_function(
                "() => document.querySelectorAll('#metagraph tbody tr').length === 6"
            )
            shown = page.eval_on_selector_all(
                "#metagraph tbody tr", "rs => rs.map(r => +r.dataset.uid)"
            )
            assert sorted(shown) == [0, *sorted(uids.values())]
            assert page.inner_text("#ov-block") == f"{c.network()['block']:,}"
            assert page.locator("#subnets tbody tr").count() == 2  # root + subnet 1

            # the plots have data points: two epochs of 6 UIDs, and bars for the two validators
            # (the page's CSP forbids eval: every predicate is a function)
            circles = "n => document.querySelectorAll(`#chart-${n} circle.pt`).length"
            page.wait_for_function(
                f"() => ({circles})('emission') >= 12 && ({circles})('incentive') >= 12"
            )
            page.wait_for_function(
                "() => document.querySelectorAll('#chart-stake rect.bar').length >= 2"
            )
            bars = page.eval_on_selector_all(
                "#chart-stake rect.bar", "bs => bs.map(b => +b.dataset.uid)"
            )
            assert {uids["v1"], uids["v2"]} <= set(bars)
            page.wait_for_selector("#live.on")
            before = page.eval_on_selector_all("#chart-emission circle.pt", "cs => cs.length")

            # live: one more epoch arrives through the event stream
            head = c.produce(TEMPO + 1)
            page.wait_for_function(
                "h => document.getElementById('ov-block').textContent === h", arg=f"{head:,}"
            )
            page.wait_for_function(f"() => ({circles})('emission') >= {before + 6}")
            page.wait_for_function(
                "h => document.getElementById('mg-block').textContent.includes(h)", arg=f"{head:,}"
            )
            page.screenshot(path=str(shot), full_page=True)
        finally:
            ctx.close()
    print(f"dashboard screenshot: {shot}")
    assert not errors, f"console errors: {errors}"
    assert not foreign, f"requests off the chain's origin: {foreign}"


def test_dashboard_routes(chain_url: str) -> None:
    """The page and its assets are served with a same-origin CSP; unknown assets are 404."""
    for path, ctype in [
        ("/", "text/html"),
        ("/dashboard", "text/html"),
        ("/dashboard/app.js", "text/javascript"),
        ("/dashboard/style.css", "text/css"),
    ]:
        r = httpx.get(chain_url + path)
        assert r.status_code == 200 and r.headers["content-type"].startswith(ctype), path
        assert "default-src 'self'" in r.headers["content-security-policy"]
    assert httpx.get(chain_url + "/dashboard/secret.py").status_code == 404
    assert "/dashboard" not in httpx.get(chain_url + "/openapi.json").json()["paths"]
