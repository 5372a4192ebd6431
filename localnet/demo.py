"""The one-command local network (``make demo``).

Starts, in order: the local control plane (unless already up), the chain service (SQLite,
short blocks), the operator, and the dev-only pod runner; creates dev keys (funded by the dev
faucet) as Secrets; applies the CRDs and examples/compute-subnet/. Then it shows the subnet
live: block height, and per UID its hotkey, stake, incentive, dividends and emission.
Ctrl-C stops every process it started (the control plane too, if it started it).

``--headless --epochs N`` tells each epoch's story (``demo_story``: what each miner and
validator earned and why) and exits 0 once N epochs have passed, emission reached the honest
miners and the subnet's gateway returned verified answers to users' requests (1 otherwise): the
test of the demo. The subnet has a gateway (``spec.gateway``, see ``demo_gateway``): the demo
sends it a little organic traffic and shows it per miner. One miner answers wrong on purpose
(``DEMO_FAULTS``), to show that the validators' check costs it its incentive.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from subnetes.chain.units import RAO_PER_TAO, U16_MAX
from subnetes.wire.text import printable

from .cluster import REPO_ROOT, LocalCluster, cache_dir, free_port
from .demo_gateway import (
    Traffic,
    curl_command,
    gateway_secrets,
    gateway_url,
    render_traffic,
    stake_rao,
    totals,
    traffic_line,
    with_gateway,
)
from .demo_story import Story, fault_reason, miners_earned
from .devrunner import stop_process

DEFAULT_NAMESPACE = "subnetes-demo"
SUBNET = "compute"
EXAMPLE = REPO_ROOT / "examples" / "compute-subnet"
FAUCET_TAO = 10_000
#: Miners the demo makes misbehave on purpose (SUBNETES_COMPUTE_FAULT), and the story names.
DEMO_FAULTS = {"miner-3": "wrong"}


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and why."""


@dataclass
class Demo:
    """The processes and state of one demo run."""

    workdir: Path
    console: Console
    block_time: float = 0.5
    namespace: str = DEFAULT_NAMESPACE
    cluster: LocalCluster = field(default_factory=LocalCluster)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    started_cluster: bool = False
    endpoint: str = ""
    gateway_coldkey: Any = None  # pays the gateway hotkey's registration and stake
    gateway_hotkey: Any = None
    gateway_registered: bool = False
    gateway: str | None = None  # the gateway pod's URL, once it runs
    traffic: Traffic | None = None

    # ---- start-up ------------------------------------------------------------------------

    def start(self) -> None:
        """Bring every part up, reporting each step as it happens."""
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        (self.workdir / "logs").mkdir(parents=True)
        with self.console.status("Starting the local control plane...") as status:
            self.started_cluster = not self.cluster.is_up()
            self.cluster.up()
            self.console.log(f"control plane ready (kubeconfig {self.cluster.kubeconfig})")

            status.update("Starting the chain service...")
            self._start_chain()
            self.console.log(
                f"chain service at {self.endpoint} (dev profile); dashboard: {self.endpoint}/"
            )

            status.update("Creating and funding dev keys...")
            self._create_keys()

            status.update("Installing CRDs and starting the operator and the dev pod runner...")
            self.cluster.kubectl(
                "apply", "--server-side", "-f", str(REPO_ROOT / "crds"), check=True
            )
            self.cluster.kubectl(
                "wait", "--for=condition=Established", "crd/subnets.subnetes.io",
                "crd/miners.subnetes.io", "crd/validators.subnetes.io", "--timeout=60s",
                check=True,
            )  # fmt: skip
            self._start_operator()
            self._start_runner()
            self.console.log("operator and dev pod runner started")

            status.update(f"Applying {EXAMPLE.relative_to(REPO_ROOT)}...")
            self.cluster.kubectl(
                "apply", "-n", self.namespace, "-f", "-",
                input=json.dumps(with_gateway(with_faults(load_example(), DEMO_FAULTS), SUBNET)),
                check=True,
            )  # fmt: skip
            self.console.log(
                "compute subnet applied: 1 Subnet (with a gateway), 2 Validators, 4 Miners"
            )
            for name, fault in DEMO_FAULTS.items():
                self.console.log(f"{name} misbehaves on purpose: SUBNETES_COMPUTE_FAULT={fault}")

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.workdir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - child owns it
        self.procs[name] = subprocess.Popen(
            argv,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C is ours to handle; we stop children in order
        )
        log.close()

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise DemoError(f"{name} exited ({proc.returncode}); see {self._log(name)}")
            if ready():
                return
            time.sleep(0.25)
        raise DemoError(f"timed out waiting for {what}")

    def _log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def _start_chain(self) -> None:
        port = free_port()
        ready = self.workdir / "chain.url"
        self._spawn(
            "chain",
            [
                sys.executable, "-m", "subnetes", "chain", "run",
                "--db", str(self.workdir / "chain.db"), "--profile", "dev",
                "--block-time", str(self.block_time), "--host", "127.0.0.1",
                "--port", str(port), "--ready-file", str(ready),
            ],
        )  # fmt: skip
        self._wait("the chain service", ready.exists)
        self.endpoint = f"http://127.0.0.1:{port}"
        # The ready file means listening; /readyz says when block production has started.
        self._wait("the chain service to answer", lambda: http_ready(self.endpoint))

    def _create_keys(self) -> None:
        from bittensor_wallet import Keypair
        from bittensor_wallet.keyfile import serialized_keypair_to_keyfile_data

        from subnetes.chain.client import ChainClient

        self._fresh_namespace()
        with ChainClient(self.endpoint) as chain:
            for secret in ("owner-coldkey", "neuron-coldkey"):
                key = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
                chain.faucet(key, FAUCET_TAO * RAO_PER_TAO)
                keyfile = serialized_keypair_to_keyfile_data(key).decode()
                # Dev only: an unencrypted coldkey (interfaces.md, "Keys and Secrets").
                manifest = {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": secret, "namespace": self.namespace},
                    "stringData": {"coldkey": keyfile},
                }
                self.cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest), check=True)
                self.console.log(f"{secret}: {key.ss58_address}, funded {FAUCET_TAO} TAO")
            # Its own coldkey (kept here, no Secret): the operator signs with the others.
            self.gateway_coldkey = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
            chain.faucet(self.gateway_coldkey, FAUCET_TAO * RAO_PER_TAO)
        gw = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
        self.gateway_hotkey = gw
        hotkey_file = serialized_keypair_to_keyfile_data(gw).decode()
        listed = {"apiVersion": "v1", "kind": "List",
                  "items": gateway_secrets(self.namespace, SUBNET, hotkey_file)}  # fmt: skip
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps(listed), check=True)
        self.console.log(f"gateway hotkey {gw.ss58_address} (Secret claimed for Gateway/{SUBNET})")

    def _fresh_namespace(self) -> None:
        """Each run is a new network: drop what a previous run left (its chain is gone)."""
        ns = self.namespace
        if self.cluster.kubectl("get", "namespace", ns).returncode == 0:
            listed = self.cluster.kubectl(
                "get", "subnets,miners,validators", "-n", ns, "-o", "name"
            )
            for name in listed.stdout.split():
                # No operator runs for the old network: release its finalizers ourselves.
                self.cluster.kubectl(
                    "patch",
                    name,
                    "-n",
                    ns,
                    "--type=merge",
                    "-p",
                    '{"metadata":{"finalizers":null}}',
                )
            self.cluster.kubectl("delete", "namespace", ns, "--wait=true", "--timeout=120s")
        self.cluster.kubectl("create", "namespace", ns, check=True)

    def _start_operator(self) -> None:
        env = {"KUBECONFIG": str(self.cluster.kubeconfig), "SUBNETES_CHAIN_ENDPOINT": self.endpoint}
        liveness = f"http://127.0.0.1:{free_port()}/healthz"
        self._spawn(
            "operator",
            [sys.executable, "-m", "subnetes", "operator", "run", "--standalone",
             "-n", self.namespace, "--liveness", liveness],
            env,
        )  # fmt: skip

    def _start_runner(self) -> None:
        self._spawn(
            "devrunner",
            [
                sys.executable, "-m", "subnetes.localnet.devrunner",
                "--kubeconfig", str(self.cluster.kubeconfig),
                "--workdir", str(self.workdir / "pods"), "-n", self.namespace,
            ],
        )  # fmt: skip

    # ---- the gateway ---------------------------------------------------------------------------

    def _gateway_step(self, chain: Any, netuid: int | None) -> None:
        """Once the subnet has a netuid: register and stake the gateway's hotkey (a validator
        permit at the next epoch); once its pod runs: start the organic traffic."""
        from subnetes.wire.errors import ChainError

        if netuid is not None and not self.gateway_registered:
            hk = self.gateway_hotkey.ss58_address
            try:
                if chain.uid_of(netuid, hk) is None:
                    chain.burned_register(self.gateway_coldkey, netuid, hk)
                chain.add_stake(self.gateway_coldkey, hk, stake_rao())
            except ChainError as e:  # tried again at the next snapshot
                self.console.log(f"gateway hotkey not registered yet: {safe(e)}")
                return
            self.gateway_registered = True
            self.console.log(f"gateway hotkey registered on netuid {netuid} and staked")
        if self.gateway is None:
            pods = self.cluster.kubectl(
                "get", "pods", "-n", self.namespace, "-o", "json",
                "-l", f"app.kubernetes.io/name=gateway,app.kubernetes.io/instance={SUBNET}",
            )  # fmt: skip
            self.gateway = gateway_url(json.loads(pods.stdout or "{}"))
            if self.gateway is not None:
                self.traffic = Traffic(self.gateway)
                self.traffic.start()
                self.console.log(f"gateway serving at {self.gateway}; get work done with:")
                self.console.print(curl_command(self.gateway), soft_wrap=True, markup=False)

    def _gateway_pool(self) -> dict[str, Any] | None:
        import httpx

        if self.gateway is None:
            return None
        try:
            r = httpx.get(f"{self.gateway}/v1/pool", timeout=5.0, trust_env=False)
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 200 else None

    # ---- observing ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Chain head, the subnet's netuid and metagraph, and the neurons' Kubernetes phases."""
        from subnetes.chain.client import ChainClient

        out: dict[str, Any] = {
            "block": None, "netuid": None, "neurons": [], "phases": {}, "faults": DEMO_FAULTS,
            "gateway": None, "sent": {},
        }  # fmt: skip
        with ChainClient(self.endpoint, timeout=10) as chain:
            out["block"] = chain.chain()["head"]
            subnet = json.loads(
                self.cluster.kubectl(
                    "get", "subnet", SUBNET, "-n", self.namespace, "-o", "json"
                ).stdout
                or "{}"
            )
            netuid = (subnet.get("status") or {}).get("netuid")
            out["netuid"] = netuid
            if netuid is not None:
                out["neurons"] = chain.metagraph(netuid)["neurons"]
            self._gateway_step(chain, netuid)
        out["gateway"] = self._gateway_pool()
        out["sent"] = dict(self.traffic.sent) if self.traffic else {}
        if self.gateway_hotkey is not None:
            serving = "Serving" if out["gateway"] else "Pending"
            name = f"{SUBNET}-gateway"
            out["phases"][self.gateway_hotkey.ss58_address] = ("Gateway", name, serving)
        listed = self.cluster.kubectl(
            "get", "miners,validators", "-n", self.namespace, "-o", "json"
        )
        for item in json.loads(listed.stdout or '{"items": []}')["items"]:
            status = item.get("status") or {}
            out["phases"][status.get("hotkey") or item["metadata"]["name"]] = (
                item["kind"],
                item["metadata"]["name"],
                status.get("phase", "Pending"),
            )
        return out

    # ---- shutdown ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop what this run started: runner first (its pods' processes), then the rest."""
        if self.traffic is not None:
            self.traffic.stop()
        for name in ("devrunner", "operator", "chain"):
            proc = self.procs.pop(name, None)
            if proc is not None:
                stop_process(proc, grace=10.0)
        if self.started_cluster:
            self.cluster.down()


def safe(value: object) -> str:
    """Chain and cluster text as the terminal may show it (control characters escaped, rich
    markup literal), as ``subnetes.chain.cli.safe``."""
    return escape(printable(value))


def render(snap: dict[str, Any]) -> Table:
    """The live view: one row per UID; the caption says what the columns mean and which miner
    misbehaves on purpose, and why."""
    notes = [f"{name}: {fault_reason(fault)}" for name, fault in (snap.get("faults") or {}).items()]
    table = Table(
        title=f"subnet {SUBNET} (netuid {snap['netuid']}) — block {snap['block']}",
        caption="\n".join(
            [
                *map(safe, notes),
                "LAST EPOCH: emission of the last epoch; EARNED: cumulative since registration",
                "Ctrl-C stops the network",
            ]
        ),
    )
    for col in (
        "UID",
        "KIND",
        "NAME",
        "HOTKEY",
        "PHASE",
        "STAKE τ",
        "INCENTIVE",
        "DIVIDENDS",
        "LAST EPOCH τ",
        "EARNED τ",
    ):
        table.add_column(col, justify="right" if col in ("UID", "STAKE τ") else "left")
    for n in snap["neurons"]:
        kind, name, phase = snap["phases"].get(n["hotkey"], ("owner", "-", "-"))
        table.add_row(
            safe(n["uid"]), safe(kind), safe(name), safe(n["hotkey"][:10]) + "…", safe(phase),
            f"{n['stake'] / RAO_PER_TAO:,.2f}", f"{n['incentive'] / U16_MAX:.4f}",
            f"{n['dividends'] / U16_MAX:.4f}", f"{n['emission'] / RAO_PER_TAO:.6f}",
            f"{n.get('total_emission', 0) / RAO_PER_TAO:.6f}",
        )  # fmt: skip
    return table


def http_ready(endpoint: str) -> bool:
    """Whether the chain service at ``endpoint`` answers ``/readyz`` with 200."""
    import httpx

    try:
        return httpx.get(f"{endpoint}/readyz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def load_example(directory: Path = EXAMPLE) -> list[dict[str, Any]]:
    """The example's manifests, in file order."""
    import yaml

    docs: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def with_faults(docs: list[dict[str, Any]], faults: dict[str, str]) -> dict[str, Any]:
    """A v1 List of ``docs`` where each Miner named in ``faults`` gets SUBNETES_COMPUTE_FAULT."""
    items = []
    for doc in docs:
        fault = faults.get(doc["metadata"]["name"]) if doc.get("kind") == "Miner" else None
        if fault:
            doc = json.loads(json.dumps(doc))  # a copy: the caller's docs stay as read
            for c in doc["spec"]["template"]["spec"]["containers"]:
                c["env"] = [
                    *(c.get("env") or []),
                    {"name": "SUBNETES_COMPUTE_FAULT", "value": fault},
                ]
        items.append(doc)
    return {"apiVersion": "v1", "kind": "List", "items": items}


def run(args: argparse.Namespace) -> int:
    # Wide enough for the table when output is not a terminal (logs, CI).
    console = Console(width=None if sys.stdout.isatty() else 150)
    demo = Demo(
        workdir=args.workdir, console=console, block_time=args.block_time, namespace=args.namespace
    )
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        demo.start()
        if args.headless:
            return _run_headless(demo, console, args, lambda: stopping)
        with Live(console=console, refresh_per_second=2) as live:
            while not stopping:
                snap = demo.snapshot()
                traffic = render_traffic(SUBNET, snap["gateway"], snap["sent"])
                live.update(Group(render(snap), traffic))
                time.sleep(1.0)
        return 0
    except DemoError as exc:
        console.print(f"[red]error:[/red] {safe(exc)}")
        return 1
    finally:
        console.log("stopping the local network...")
        demo.stop()
        console.log(f"stopped; logs kept in {demo.workdir / 'logs'}")


def _run_headless(
    demo: Demo, console: Console, args: argparse.Namespace, stopping: Callable[[], bool]
) -> int:
    deadline = time.monotonic() + args.timeout
    story = Story()
    snap: dict[str, Any] = {}
    while not stopping() and time.monotonic() < deadline:
        snap = demo.snapshot()
        lines = story.observe(snap)
        if lines and snap.get("gateway"):
            lines.append(traffic_line(snap["gateway"]))
        for line in lines:
            console.print(safe(line), soft_wrap=True)
        served = bool(snap.get("gateway")) and totals(snap["gateway"])["verified"] > 0
        if story.epochs >= args.epochs and miners_earned(snap) and served:
            console.print(render(snap))
            console.print(render_traffic(SUBNET, snap["gateway"], snap["sent"]))
            console.print(safe(traffic_line(snap["gateway"])), soft_wrap=True)
            return 0
        time.sleep(1.0)
    console.print(render(snap) if snap else "no snapshot")
    if snap.get("gateway"):
        console.print(render_traffic(SUBNET, snap["gateway"], snap["sent"]))
    console.print(
        f"[red]error:[/red] emission did not reach miners, or the gateway returned no verified "
        f"answer, within {args.timeout:.0f}s"
    )
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="subnetes-demo", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=cache_dir() / "demo")
    parser.add_argument("--block-time", type=float, default=0.5)
    parser.add_argument("--namespace", default=DEFAULT_NAMESPACE)
    parser.add_argument("--headless", action="store_true", help="no live view; exit after --epochs")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
