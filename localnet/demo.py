"""The one-command local network (``make demo``).

Starts, in order: the local control plane (unless already up), the chain service (SQLite,
short blocks), the operator, and the dev-only pod runner; creates dev keys (funded by the dev
faucet) as Secrets; applies the CRDs and examples/compute-subnet/. Then it shows the subnet
live: block height, and per UID its hotkey, stake, incentive, dividends and emission.
Ctrl-C stops every process it started (the control plane too, if it started it).

``--headless --epochs N`` tells each epoch's story (``demo_story``: what each miner and
validator earned and why) and exits 0 once N epochs have passed, emission reached the honest
miners and the subnet's gateway returned verified answers to users' requests (1 otherwise): the
test of the demo. Each subnet has a gateway (``spec.gateway``, see ``demo_gateway``): the
compute subnet, and the linear-solve one (examples/linsolve-subnet/) where it is; the network
router runs in front of them, and the demo sends a little organic traffic through it and shows
it per subnet and per miner. One miner answers wrong on purpose
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
    CAPABILITY,
    GatewayState,
    Traffic,
    curl_command,
    gateway_secrets,
    gateway_url,
    render_traffic,
    routes_file,
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
#: The second reference subnet (linear solves), its gateway declared in the example.
LINSOLVE = "linsolve"
LINSOLVE_EXAMPLE = REPO_ROOT / "examples" / "linsolve-subnet"
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
    gateway_coldkey: Any = None  # pays the gateway hotkeys' registrations and stake
    gateways: dict[str, GatewayState] = field(default_factory=dict)  # subnet -> its gateway
    router: str | None = None  # the network router's URL, once it runs
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
            if LINSOLVE in self.gateways:
                docs = load_example(LINSOLVE_EXAMPLE)
                listed = {"apiVersion": "v1", "kind": "List", "items": docs}
                self.cluster.kubectl("apply", "-n", self.namespace, "-f", "-",
                                     input=json.dumps(listed), check=True)  # fmt: skip
                kinds = [d["kind"] for d in docs]
                self.console.log(
                    f"linsolve subnet applied: 1 Subnet (with a gateway), "
                    f"{kinds.count('Validator')} Validator(s), {kinds.count('Miner')} Miners"
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
        for sub in demo_subnets():
            gw = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
            self.gateways[sub] = GatewayState(sub, gw)
            hotkey_file = serialized_keypair_to_keyfile_data(gw).decode()
            listed = {"apiVersion": "v1", "kind": "List",
                      "items": gateway_secrets(self.namespace, sub, hotkey_file)}  # fmt: skip
            self.cluster.kubectl("apply", "-f", "-", input=json.dumps(listed), check=True)
            self.console.log(f"{sub}-gateway hotkey {gw.ss58_address} (claimed for Gateway/{sub})")

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

    def _gateway_step(self, chain: Any, netuids: dict[str, int]) -> None:
        """For each subnet with a netuid: register and stake its gateway's hotkey (a validator
        permit at the next epoch), find its pod; once every gateway runs: start the router in
        front of them and the organic traffic through it."""
        from subnetes.wire.errors import ChainError

        for g in self.gateways.values():
            netuid = netuids.get(g.subnet)
            if netuid is not None and not g.registered:
                hk = g.hotkey.ss58_address
                try:
                    if chain.uid_of(netuid, hk) is None:
                        chain.burned_register(self.gateway_coldkey, netuid, hk)
                    chain.add_stake(self.gateway_coldkey, hk, stake_rao())
                except ChainError as e:  # tried again at the next snapshot
                    self.console.log(f"{g.subnet}-gateway hotkey not registered yet: {safe(e)}")
                    continue
                g.registered = True
                self.console.log(f"{g.subnet}-gateway hotkey registered on netuid {netuid}")
            if g.url is None:
                pods = self.cluster.kubectl(
                    "get", "pods", "-n", self.namespace, "-o", "json",
                    "-l", f"app.kubernetes.io/name=gateway,app.kubernetes.io/instance={g.subnet}",
                )  # fmt: skip
                g.url = gateway_url(json.loads(pods.stdout or "{}"))
                if g.url is not None:
                    self.console.log(f"{g.subnet}-gateway serving at {g.url}; get work done with:")
                    cmd = curl_command(g.url, CAPABILITY[g.subnet])
                    self.console.print(cmd, soft_wrap=True, markup=False)
        gws = list(self.gateways.values())
        if self.router is None and all(g.url and g.subnet in netuids for g in gws):
            self._start_router(routes_file(gws, netuids))

    def _start_router(self, routes: dict[str, Any]) -> None:
        import yaml

        path = self.workdir / "routes.yaml"
        path.write_text(yaml.safe_dump(routes))
        port = free_port()
        self._spawn(
            "router",
            [sys.executable, "-m", "subnetes.gateway.router"],
            {
                "SUBNETES_ROUTER_ROUTES": str(path),
                "SUBNETES_ROUTER_PORT": str(port),
                "SUBNETES_CHAIN_ENDPOINT": self.endpoint,
                "SUBNETES_ROUTER_POLICY": "emission",
            },
        )
        self.router = f"http://127.0.0.1:{port}"
        caps = [CAPABILITY[g] for g in self.gateways]
        self.traffic = Traffic(self.router, caps)
        self.traffic.start()
        self.console.log(
            f"network router at {self.router} (routes {path}); "
            f"traffic dashboard: {self.router}/; one endpoint for all:"
        )
        for cap in caps:
            self.console.print(curl_command(self.router, cap), soft_wrap=True, markup=False)

    def _gateway_pools(self) -> dict[str, dict[str, Any] | None]:
        import httpx

        out: dict[str, dict[str, Any] | None] = {}
        for sub, g in self.gateways.items():
            out[sub] = None
            if g.url is None:
                continue
            try:
                r = httpx.get(f"{g.url}/v1/pool", timeout=5.0, trust_env=False)
            except httpx.HTTPError:
                continue
            out[sub] = r.json() if r.status_code == 200 else None
        return out

    # ---- observing ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Chain head, the subnet's netuid and metagraph, and the neurons' Kubernetes phases."""
        from subnetes.chain.client import ChainClient

        out: dict[str, Any] = {
            "block": None, "netuid": None, "neurons": [], "phases": {}, "faults": DEMO_FAULTS,
            "gateways": {}, "sent": {},
        }  # fmt: skip
        with ChainClient(self.endpoint, timeout=10) as chain:
            out["block"] = chain.chain()["head"]
            subnets = json.loads(
                self.cluster.kubectl("get", "subnets", "-n", self.namespace, "-o", "json").stdout
                or '{"items": []}'
            )
            netuids = {
                s["metadata"]["name"]: s["status"]["netuid"]
                for s in subnets["items"]
                if (s.get("status") or {}).get("netuid") is not None
            }
            netuid = netuids.get(SUBNET)
            out["netuid"] = netuid
            if netuid is not None:
                out["neurons"] = chain.metagraph(netuid)["neurons"]
            self._gateway_step(chain, netuids)
        out["gateways"] = self._gateway_pools()
        out["sent"] = {k: dict(v) for k, v in self.traffic.sent.items()} if self.traffic else {}
        for sub, g in self.gateways.items():
            serving = "Serving" if out["gateways"].get(sub) else "Pending"
            out["phases"][g.hotkey.ss58_address] = ("Gateway", f"{sub}-gateway", serving)
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
        for name in ("router", "devrunner", "operator", "chain"):
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


def demo_subnets() -> list[str]:
    """The demo's subnets with a gateway: compute, and linsolve where its example is."""
    return [SUBNET, *([LINSOLVE] if LINSOLVE_EXAMPLE.is_dir() else [])]


def traffic_views(snap: dict[str, Any]) -> list[Any]:
    """One gateway traffic table per subnet (its capability's answers through the router)."""
    sent = snap.get("sent") or {}
    return [
        render_traffic(sub, pool, sent.get(CAPABILITY[sub], {}), snap.get("phases"))
        for sub, pool in (snap.get("gateways") or {}).items()
    ]


def gateways_served(snap: dict[str, Any]) -> bool:
    """Every subnet's gateway has returned verified answers."""
    pools = (snap.get("gateways") or {}).values()
    return bool(pools) and all(p and totals(p)["verified"] > 0 for p in pools)


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
                live.update(Group(render(snap), *traffic_views(snap)))
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
        if lines:
            lines += [traffic_line(sub, p) for sub, p in snap["gateways"].items() if p]
        for line in lines:
            console.print(safe(line), soft_wrap=True)
        if story.epochs >= args.epochs and miners_earned(snap) and gateways_served(snap):
            console.print(render(snap))
            for view in traffic_views(snap):
                console.print(view)
            for sub, pool in snap["gateways"].items():
                console.print(safe(traffic_line(sub, pool)), soft_wrap=True)
            return 0
        time.sleep(1.0)
    console.print(render(snap) if snap else "no snapshot")
    for view in traffic_views(snap) if snap else []:
        console.print(view)
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
