"""Scale run of the operator (not a test): many Miners and Validators across subnets on the local
control plane.

    .venv/bin/python hack/scale_operator.py --miners 500 --subnets 8 --validators 2
    .venv/bin/python hack/scale_operator.py --miners 4936 --subnets 32 --validators 2 \
        --coldkeys 4 --tempo 360 --failover          # 5,000 neurons, leader failover

Starts (or reuses) the loopback control plane, a real chain process (dev profile with room for
``--subnets`` subnets, small block time, in memory, coldkeys funded at genesis) and the operator
under its least-privilege ServiceAccount (two replicas under a Lease with ``--failover``), then:

1. applies the Subnets, Validators and Miners at once and measures the time until every neuron
   is Ready (registered on chain, StatefulSet pod scheduled on a kwok node, status written), next
   to the lower bound the chain's registration limits impose;
2. follows the chain's event stream and a watch on the Miners for a while and measures the
   status lag: from the chain's EpochResult event (as the stream delivers it) to each Miner's
   status carrying that epoch (``lastEpochBlock``, with its ``lastEmission``), and counts the
   status writes in that window (the operator's ``status_patches_total`` and the API server's
   ``apiserver_request_total``) against the writes due (one per neuron and Subnet per epoch);
3. reports the operator's resident memory; with ``--failover``, SIGKILLs the Lease holder and
   measures until the standby holds the Lease and every Miner shows an epoch after the kill.

The workload pods go to dedicated kwok nodes of this run (``<namespace>-node-*``, pool and taint
``subnetes.io/scale=<namespace>:NoSchedule``) so no other test's or run's pods land there (two
runs at once keep apart) and the four default
nodes' 110-pod limit does not cap the run; they, the namespace and the ClusterRole are deleted at
the end (``--keep`` keeps them). Dev-profile limits: 256 UIDs a subnet (owner and validators
included), 64 registrations a block and 96 an adjustment interval (100 blocks) per subnet;
``--coldkeys`` coldkeys per subnet for miners (the chain client sends one extrinsic per signer
per block).
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.request import ProxyHandler, build_opener

from bittensor_wallet import Keypair
from bittensor_wallet.keyfile import serialized_keypair_to_keyfile_data

from subnetes.chain.client import ChainClient
from subnetes.localnet.cluster import LocalCluster, NodeSpec, build_node_manifest, free_port
from subnetes.operator import rbac
from subnetes.operator.paths import CRDS_DIR, REPO_ROOT

TAO = 10**9
APPLY_CHUNK = 100  # objects per `kubectl apply`
PY = sys.executable
datetime = _dt.datetime


def scale_taint(pool: str) -> dict[str, str]:
    """The taint of this run's nodes (the pool name is the run's namespace)."""
    return {"key": "subnetes.io/scale", "value": pool, "effect": "NoSchedule"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(q * len(xs)) - 1))]


def ready(obj: dict[str, Any]) -> bool:
    conds = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


# The dev profile with room for ``subnet_limit`` subnets. Its lock cost doubles with every
# subnet registration and decays over ``network_lock_reduction_interval`` (100 blocks): 32
# subnets registered at once would cost 10 TAO * 2**31. A reduction interval of one block lets
# the cost fall back to the minimum between registrations, as on a network grown over months.
CHAIN_MAIN = """
import json, logging, sys
from dataclasses import replace
from subnetes.chain.params import profile_config
from subnetes.chain.server import run
o = json.load(open(sys.argv[1]))
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
config = profile_config("dev")
config = replace(
    config, subnet_limit=o["subnet_limit"], network_lock_reduction_interval=1,
    block_time_ms=int(o["block_time"] * 1000),
    balances=config.balances + tuple((a, int(r)) for a, r in o["balances"]),
)
run(config, None, host="127.0.0.1", port=o["port"], block_time=o["block_time"],
    ready_file=o["ready_file"])
"""


class Chain:
    def __init__(
        self, tmp: Path, block_time: float, subnet_limit: int, balances: list[tuple[str, int]]
    ) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        ready_file = tmp / "chain.ready"
        opts = tmp / "chain.json"
        opts.write_text(json.dumps({
            "subnet_limit": subnet_limit, "block_time": block_time, "port": self.port,
            "ready_file": str(ready_file), "balances": balances,
        }))  # fmt: skip
        self.log = open(tmp / "chain.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [PY, "-c", CHAIN_MAIN, str(opts)], stdout=self.log, stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not ready_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chain did not start; see {tmp / 'chain.log'}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:  # an open event stream can hold the shutdown
                self.proc.kill()
                self.proc.wait()


def restricted_kubeconfig(cluster: LocalCluster, ns: str, name: str, path: Path) -> None:
    """The operator's least-privilege role, and a kubeconfig with its ServiceAccount's token."""
    cluster.apply_manifests(rbac.manifests(ns, name))
    cluster.token_kubeconfig(ns, name, path, duration="4h")


def coldkey_secret(ns: str, name: str, kp: Keypair) -> dict[str, Any]:
    data = base64.b64encode(serialized_keypair_to_keyfile_data(kp)).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "data": {"coldkey": data},
    }


def pod_template(role: str, pool: str) -> dict[str, Any]:
    return {
        "spec": {
            "nodeSelector": {"subnetes.io/pool": pool},
            "tolerations": [{**scale_taint(pool), "operator": "Equal"}],
            "containers": [
                {
                    "name": role,
                    "image": f"example/{role}:1",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ],
        }
    }


def resources(
    ns: str, subnets: int, miners: int, validators: int, tempo: int, coldkeys: int = 1
) -> list[dict]:
    """Subnets, Validators and Miners; the miners of a subnet pay from ``coldkeys`` coldkeys
    (``miners-<subnet>-<k>``) in turn."""
    docs: list[dict] = []
    for s in range(subnets):
        docs.append({
            "apiVersion": "subnetes.io/v1alpha1", "kind": "Subnet",
            "metadata": {"name": f"sn-{s}", "namespace": ns},
            "spec": {
                "ownerColdkeySecretRef": {"name": f"owner-{s}"},
                "registration": {"maxLockCost": "50000"},
                "hyperparameters": {"tempo": tempo, "maxAllowedUids": 256,
                                    "maxAllowedValidators": max(1, validators)},
            },
        })  # fmt: skip
        for v in range(validators):
            docs.append({
                "apiVersion": "subnetes.io/v1alpha1", "kind": "Validator",
                "metadata": {"name": f"sn-{s}-v-{v}", "namespace": ns},
                "spec": {
                    "subnetRef": {"name": f"sn-{s}"},
                    "coldkeySecretRef": {"name": f"validators-{s}"},
                    "stake": "100", "registration": {"maxBurn": "5"},
                    "template": pod_template("validator", ns),
                },
            })  # fmt: skip
    for m in range(miners):
        s, i = m % subnets, m // subnets
        docs.append({
            "apiVersion": "subnetes.io/v1alpha1", "kind": "Miner",
            "metadata": {"name": f"sn-{s}-m-{i}", "namespace": ns},
            "spec": {
                "subnetRef": {"name": f"sn-{s}"},
                "coldkeySecretRef": {"name": f"miners-{s}-{i % coldkeys}"},
                "registration": {"maxBurn": "5"},
                "template": pod_template("miner", ns),
            },
        })  # fmt: skip
    return docs


def registration_bound(
    per_subnet: int,
    per_coldkey: int,
    block_time: float,
    max_per_block: int = 64,
    per_interval: int = 96,
    interval: int = 100,
) -> tuple[float, float]:
    """Lower bounds (s) on registering ``per_subnet`` neurons on each subnet at once.

    The chain's rules (dev profile): at most ``max_per_block`` registrations a block and
    ``per_interval`` (3 x target) an adjustment interval of ``interval`` blocks, counted from
    the subnet's registration: n neurons need ceil(n / per_interval) - 1 whole intervals, then
    the rest at ``max_per_block`` a block. The client's own limit: one extrinsic per signer per
    block, so ``per_coldkey`` registrations from one coldkey take that many blocks.
    Returns (chain rules, chain rules and one-extrinsic-per-signer) in seconds.
    """  # fmt: skip
    full = max(0, math.ceil(per_subnet / per_interval) - 1)
    rest = per_subnet - full * per_interval
    chain_blocks = full * interval + math.ceil(rest / max_per_block)
    return chain_blocks * block_time, max(chain_blocks, per_coldkey) * block_time


def rss_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) MiB of process ``pid`` from /proc; NaNs when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan"), float("nan")
    kb = {k: float(v.split()[0]) for k, v in (ln.split(":", 1) for ln in text.splitlines())
          if k in ("VmRSS", "VmHWM")}  # fmt: skip
    return kb.get("VmRSS", float("nan")) / 1024, kb.get("VmHWM", float("nan")) / 1024


def apiserver_writes(cluster: LocalCluster) -> dict[str, float]:
    """The API server's write counters (``apiserver_request_total``) by verb/resource/subresource,
    for the resources the operator writes (from its /metrics, admin kubeconfig)."""
    text = cluster.kubectl("get", "--raw", "/metrics", check=True).stdout
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(
            kv.split("=", 1) for kv in line[line.index("{") + 1 : line.rindex("}")].split(",")
            if "=" in kv
        )  # fmt: skip
        lab = {k: v.strip('"') for k, v in labels.items()}
        if lab.get("verb") not in ("PATCH", "POST", "PUT", "APPLY", "CREATE", "UPDATE"):
            continue
        if lab.get("resource") not in ("miners", "validators", "subnets", "statefulsets",
                                       "services", "events", "secrets"):  # fmt: skip
            continue
        k = f"{lab['verb']} {lab['resource']}" + (
            f"/{lab['subresource']}" if lab.get("subresource") else ""
        )
        out[k] = out.get(k, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def diff(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after if after[k] - before.get(k, 0.0)}


class Watcher(threading.Thread):
    """A watch on Miners and Validators: when each got Ready, when each showed each epoch."""

    def __init__(self, kubeconfig: Path, ns: str) -> None:
        super().__init__(daemon=True)
        self.kubeconfig, self.ns = kubeconfig, ns
        self.ready_at: dict[str, float] = {}
        self.epoch_seen: dict[tuple[str, int], float] = {}  # (miner, lastEpochBlock) -> t
        self.netuid: dict[str, int] = {}
        self.scheduled: dict[str, str] = {}
        self.stage: dict[str, str] = {}  # name -> "<phase>/<Ready condition's reason>"
        self.write_lag: list[tuple[float, float]] = []  # (t, receipt - operator's status write)
        self.lock = threading.Lock()

    def run(self) -> None:
        from lightkube import Client, KubeConfig

        from subnetes.operator.kube import Miner, Validator

        client = Client(KubeConfig.from_file(str(self.kubeconfig)), trust_env=False)

        def watch(kind: Any, label: str) -> None:
            while True:
                try:
                    for _, obj in client.watch(kind, namespace=self.ns):
                        self.note(label, obj.to_dict() if hasattr(obj, "to_dict") else obj)
                except Exception:
                    time.sleep(0.5)

        threading.Thread(target=watch, args=(Validator, "v"), daemon=True).start()
        watch(Miner, "m")

    def note(self, label: str, obj: dict[str, Any]) -> None:
        now = time.monotonic()
        name = f"{label}/{obj['metadata']['name']}"
        st = obj.get("status") or {}
        # How far this watch runs behind the API server: the operator's last status write
        # (managedFields time, 1 s resolution) to our receipt of the event.
        written = [
            f.get("time")
            for f in obj["metadata"].get("managedFields") or []
            if f.get("subresource") == "status" and f.get("manager") == "subnetes-operator"
        ]
        with self.lock:
            if written and written[0]:
                w = datetime.fromisoformat(str(written[0]).replace("Z", "+00:00")).timestamp()
                self.write_lag.append((now, time.time() - w))
            reasons = [
                c.get("reason") for c in st.get("conditions") or [] if c.get("type") == "Ready"
            ]
            self.stage[name] = f"{st.get('phase')}/{reasons[0] if reasons else '-'}"
            if ready(obj) and name not in self.ready_at:
                self.ready_at[name] = now
            if st.get("nodeName"):
                self.scheduled[name] = st["nodeName"]
            if st.get("netuid") is not None:
                self.netuid[name] = int(st["netuid"])
            b = st.get("lastEpochBlock")
            if label == "m" and b is not None and (name, int(b)) not in self.epoch_seen:
                self.epoch_seen[(name, int(b))] = now


class EpochStream(threading.Thread):
    """The chain's event stream: when each EpochResult arrived."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(daemon=True)
        self.endpoint = endpoint
        self.epochs: dict[tuple[int, int], float] = {}  # (netuid, block) -> t

    def run(self) -> None:
        # Reconnects from the last block seen: in the 5,000-neuron run this reader stopped during
        # the rollout (the cause was not logged) and the lag window counted no epoch at all.
        start: int | None = None
        while True:
            try:
                with ChainClient(self.endpoint) as c:
                    if start is None:
                        start = int(c.chain()["head"])
                    for ev in c.events(from_block=start):
                        start = int(ev.get("block", start))
                        if ev.get("type") == "EpochResult":
                            key = (int(ev["netuid"]), int(ev["block"]))
                            self.epochs.setdefault(key, time.monotonic())
                log("epoch stream ended; reconnecting")
            except Exception as e:  # a measurement thread: keep going
                log(f"epoch stream broke ({e!r}); reconnecting")
            time.sleep(1.0)


def scrape(url: str) -> str:
    """One Prometheus text page (no proxy); "" when it does not answer."""
    try:
        return build_opener(ProxyHandler({})).open(url, timeout=5).read().decode()
    except Exception:
        return ""


class Sampler(threading.Thread):
    """Every second: the chain head and the leading operator's metrics (its event consumer's
    block). With several replicas the one reporting ``subnetes_operator_leader 1`` is read."""

    def __init__(self, endpoint: str, metrics_urls: list[str]) -> None:
        super().__init__(daemon=True)
        self.endpoint, self.metrics_urls = endpoint, metrics_urls
        self.samples: list[tuple[float, int, float]] = []  # (t, chain head, operator's block)
        self.last_metrics = ""

    def leader_metrics(self) -> str:
        pages = [scrape(u) for u in self.metrics_urls]
        leading = [p for p in pages if metric(p, "subnetes_operator_leader") == 1]
        return (leading or [p for p in pages if p] or [""])[0]

    def run(self) -> None:
        with ChainClient(self.endpoint) as c:
            while True:
                try:
                    head = int(c.chain()["head"])
                    text = self.leader_metrics()
                    if text:
                        self.last_metrics = text
                        op = metric(text, "subnetes_operator_chain_block")
                        self.samples.append((time.monotonic(), head, op))
                except Exception:
                    pass
                time.sleep(1.0)


def metric(text: str, name: str) -> float:
    """Sum of the samples of ``name`` (all labels) in a Prometheus text page."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name)] in " {":
            total += float(line.rsplit(" ", 1)[1])
    return total


def apply_chunk(cluster: LocalCluster, docs: list[dict[str, Any]], tries: int = 3) -> None:
    """Server-side apply (one request per object, not a GET and a POST), again when kubectl
    runs past its 120 s under load (an apply is idempotent): at load 7-9 with a namespace of
    1,000 neurons still terminating, a chunk of 250 timed out and ended the run."""
    doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
    for attempt in range(tries):
        try:
            cluster.kubectl("apply", "--server-side", "-f", "-", input=doc, check=True)
            return
        except subprocess.TimeoutExpired:
            log(f"kubectl apply of {len(docs)} objects timed out (try {attempt + 1}/{tries})")
    raise RuntimeError(f"kubectl apply of {len(docs)} objects timed out {tries} times")


def metric_with(text: str, name: str, label: str) -> float:
    """Sum of the samples of ``name`` whose labels contain ``label`` (e.g. 'result="applied"')."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and label in line.split("}", 1)[0]:
            total += float(line.rsplit(" ", 1)[1])
    return total


def strip_finalizers(kubeconfig: Path, ns: str) -> None:
    """The operator is gone: let the namespace delete (one patch per object, one client)."""
    from lightkube import Client, KubeConfig
    from lightkube.types import PatchType

    from subnetes.operator.kube import KINDS

    client = Client(KubeConfig.from_file(str(kubeconfig)), trust_env=False)
    for kind in KINDS.values():
        for obj in client.list(kind, namespace=ns):
            if obj.metadata.finalizers:
                client.patch(kind, obj.metadata.name, {"metadata": {"finalizers": None}},
                             namespace=ns, patch_type=PatchType.MERGE)  # fmt: skip


def deleting_scale_namespaces(cluster: LocalCluster) -> list[str]:
    """Earlier runs' namespaces still being deleted."""
    out = cluster.kubectl("get", "namespaces", "-o", "json", check=True).stdout
    return [
        item["metadata"]["name"]
        for item in json.loads(out)["items"]
        if item["metadata"]["name"].startswith("scale-")
        and item.get("status", {}).get("phase") == "Terminating"
    ]


def wait_for_earlier_runs(cluster: LocalCluster, timeout: float = 1800.0) -> None:
    """Wait until no earlier run's namespace is still being deleted: the 5,000 run's applies ran
    beside the deletion of the previous run's thousands of objects on the same API server."""
    deadline = time.monotonic() + timeout
    while left := deleting_scale_namespaces(cluster):
        if time.monotonic() > deadline:
            log(f"still deleting after {timeout:.0f} s: {', '.join(left)}; starting anyway")
            return
        log(f"waiting for earlier runs' namespaces to finish deleting: {', '.join(left)}")
        time.sleep(15)


def lease_holder(cluster: LocalCluster, ns: str, name: str) -> str | None:
    r = cluster.kubectl("get", "lease", name, "-n", ns, "-o", "json")
    return json.loads(r.stdout)["spec"].get("holderIdentity") if r.returncode == 0 else None


class Operator:
    """One operator process (``ident`` is its POD_NAME: its Lease identity)."""

    def __init__(self, tmp: Path, ident: str, env: dict[str, str], args: list[str]) -> None:
        self.ident, self.env, self.args = ident, env, args
        self.metrics_url = f"http://127.0.0.1:{env['SUBNETES_METRICS_PORT']}/metrics"
        self.log = open(tmp / f"operator-{ident}.log", "a")  # noqa: SIM115
        self.restarts: list[float] = []
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [PY, "-m", "subnetes.operator", *self.args],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env | {"POD_NAME": self.ident},
            cwd=REPO_ROOT,
        )  # fmt: skip

    def restart_if_exited(self) -> bool:
        """Start it again if it exited (as the kubelet restarts a replica that lost its Lease
        and exited at the fence); True when it did."""
        if self.proc.poll() is None:
            return False
        self.restarts.append(time.monotonic())
        log(f"operator {self.ident} exited ({self.proc.returncode}); restarting it")
        self.start()
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--miners", type=int, default=500)
    ap.add_argument("--subnets", type=int, default=8)
    ap.add_argument("--validators", type=int, default=2, help="per subnet")
    ap.add_argument("--coldkeys", type=int, default=1, help="miner coldkeys per subnet")
    ap.add_argument("--block-time", type=float, default=0.25)
    ap.add_argument("--tempo", type=int, default=40, help="blocks between a subnet's epochs")
    ap.add_argument("--ready-timeout", type=float, default=1200)
    ap.add_argument("--lag-window", type=float, default=60, help="seconds of epochs to measure")
    ap.add_argument("--concurrency", type=int, default=None, help="operator reconcile bound")
    ap.add_argument("--failover", action="store_true",
                    help="two replicas under a Lease; SIGKILL the leader after the lag window "
                         "and measure until status updates resume")  # fmt: skip
    ap.add_argument("--failover-timeout", type=float, default=600)
    ap.add_argument("--keep", action="store_true", help="leave namespace, nodes, chain up")
    a = ap.parse_args()
    if not 1 <= a.subnets <= 128:
        ap.error("--subnets must be in [1, 128]")
    per = math.ceil(a.miners / a.subnets) + a.validators + 1
    if per > 256:
        ap.error(f"{per} UIDs per subnet exceed the dev profile's 256")

    tmp = Path(tempfile.mkdtemp(prefix="scale-operator-"))
    cluster = LocalCluster()
    cluster.up()
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
    wait_for_earlier_runs(cluster)
    ns = f"scale-{uuid.uuid4().hex[:8]}"
    role = f"subnetes-operator-{ns}"
    neurons = a.miners + a.validators * a.subnets
    nodes = [f"{ns}-node-{i}" for i in range(math.ceil(neurons / 250))]
    log(f"workdir {tmp}; namespace {ns}; {a.subnets} subnets, {a.miners} miners, "
        f"{a.validators * a.subnets} validators on {len(nodes)} scale nodes; "
        f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    chain = None
    ops: list[Operator] = []
    try:
        cluster.kubectl("create", "namespace", ns, check=True)
        node_docs = []
        for n in nodes:
            doc = build_node_manifest(NodeSpec(n, ns, cpu="64", memory="256Gi"))
            doc["spec"]["taints"] = [scale_taint(ns)]
            doc["status"]["capacity"]["pods"] = doc["status"]["allocatable"]["pods"] = "300"
            node_docs.append(doc)
        cluster.apply_manifests(node_docs)
        cluster.kubectl(
            "apply", "--server-side", "--force-conflicts", "--field-manager=subnetes-scale",
            "-f", str(CRDS_DIR), check=True,
        )  # fmt: skip
        # Coldkeys funded at genesis (no faucet round trip per key).
        secrets, balances = [], []
        keys = (
            [("owner", 50_000)]
            + [("validators", 5_000)]
            + [(f"miners-{{s}}-{k}", 5_000) for k in range(a.coldkeys)]
        )
        for s in range(a.subnets):
            for prefix, amount in keys:
                name = prefix.format(s=s) if "{s}" in prefix else f"{prefix}-{s}"
                kp = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
                balances.append((kp.ss58_address, amount * TAO))
                secrets.append(coldkey_secret(ns, name, kp))
        chain = Chain(tmp, a.block_time, max(8, a.subnets), balances)
        kubeconfig = tmp / "operator.kubeconfig"
        cluster.kubectl("wait", "--for=create", "serviceaccount/default", "-n", ns, "--timeout=60s")
        if a.failover:
            cluster.apply_manifests([
                rbac.leader_election_role(ns, f"{role}-leader"),
                rbac.leader_election_role_binding(ns, role, f"{role}-leader"),
            ])  # fmt: skip
        restricted_kubeconfig(cluster, ns, role, kubeconfig)
        cluster.apply_manifests(secrets)

        env = os.environ | {
            "KUBECONFIG": str(kubeconfig),
            "SUBNETES_CHAIN_ENDPOINT": chain.endpoint,
            "SUBNETES_RETRY_DELAY": "2",
            "SUBNETES_WATCH_TIMEOUT": "120",
        }
        if a.concurrency:
            env["SUBNETES_MAX_CONCURRENT_RECONCILES"] = str(a.concurrency)
        args = ["-n", ns, os.environ.get("SCALE_OPERATOR_LOG", "--quiet")]
        lease = "subnetes-operator-scale"
        for ident in ("op-a", "op-b") if a.failover else ("op",):
            extra = (["--leader-election-lease", lease, "--leader-election-namespace", ns]
                     if a.failover else ["--standalone"])  # fmt: skip
            ops.append(Operator(
                tmp, ident, env | {"SUBNETES_METRICS_PORT": str(free_port())},
                [*extra, *args, "--liveness", f"http://127.0.0.1:{free_port()}/healthz"],
            ))  # fmt: skip
            if a.failover and ident == "op-a":
                time.sleep(3)  # op-a takes the Lease first

        watcher = Watcher(Path(cluster.kubeconfig), ns)
        watcher.start()
        stream = EpochStream(chain.endpoint)
        stream.start()
        sampler = Sampler(chain.endpoint, [o.metrics_url for o in ops])
        sampler.start()
        time.sleep(2)

        def leader() -> Operator:
            if not a.failover:
                return ops[0]
            holder = lease_holder(cluster, ns, lease)
            return next((o for o in ops if o.ident == holder), ops[0])

        docs = resources(ns, a.subnets, a.miners, a.validators, a.tempo, a.coldkeys)
        w_start = apiserver_writes(cluster)
        t0 = time.monotonic()
        # In chunks: one `kubectl apply` of 5,032 objects ran past kubectl's 120 s limit here.
        for i in range(0, len(docs), APPLY_CHUNK):
            apply_chunk(cluster, docs[i : i + APPLY_CHUNK])
        t_applied = time.monotonic() - t0
        log(f"applied {len(docs)} objects in {t_applied:.1f}s")
        marks: dict[float, float] = {}
        last_print = 0.0
        loads: list[float] = []
        while True:
            with watcher.lock:
                n_ready = len(watcher.ready_at)
            now = time.monotonic() - t0
            for q in (0.5, 0.9, 0.99, 1.0):
                if q not in marks and n_ready >= q * neurons:
                    marks[q] = now
            if n_ready >= neurons:
                break
            if now > a.ready_timeout:
                log(f"timeout: {n_ready}/{neurons} Ready after {now:.0f}s")
                break
            if a.failover:
                for o in ops:
                    o.restart_if_exited()
            elif ops[0].proc.poll() is not None:
                log("operator exited; see operator-*.log")
                break
            if now - last_print > 15:
                h, b = sampler.samples[-1][1:] if sampler.samples else (0, 0.0)
                loads.append(os.getloadavg()[0])
                log(f"{n_ready}/{neurons} Ready after {now:.0f}s; operator stream "
                    f"{(h - b) * a.block_time:.1f}s behind the chain; RSS "
                    f"{rss_mb(leader().proc.pid)[0]:.0f} MiB; load {loads[-1]:.1f}")  # fmt: skip
                with watcher.lock:  # where the others wait: phase / Ready reason, most first
                    stages = Counter(watcher.stage.values()).most_common(4)
                log("  stages: " + ", ".join(f"{k} {v}" for k, v in stages))
                last_print = now
            time.sleep(0.5)
        t_all = time.monotonic() - t0
        with watcher.lock:
            scheduled = {k: v for k, v in watcher.scheduled.items() if v in nodes}
        rss_ready = rss_mb(leader().proc.pid)
        w_ready = diff(apiserver_writes(cluster), w_start)
        log(f"all Ready: {len(watcher.ready_at)}/{neurons} in {t_all:.1f}s")

        # Status lag and writes over the next window of epochs.
        lead = leader()
        t_lag0 = time.monotonic()
        m0, w0 = scrape(lead.metrics_url), apiserver_writes(cluster)
        time.sleep(a.lag_window)
        m1, w1 = scrape(lead.metrics_url), apiserver_writes(cluster)
        t_lag1 = time.monotonic()
        time.sleep(min(30.0, a.lag_window))  # let the last epochs land
        rss_lag = rss_mb(lead.proc.pid)
        with watcher.lock:
            seen = dict(watcher.epoch_seen)
            netuid = dict(watcher.netuid)
        epochs = {k: t for k, t in stream.epochs.items() if t_lag0 <= t <= t_lag0 + a.lag_window}
        in_window = [s for s in sampler.samples if t_lag0 <= s[0] <= t_lag0 + a.lag_window]
        backlog = [max(0.0, (h - b) * a.block_time) for _, h, b in in_window if b]
        with watcher.lock:
            wlag = [x for t, x in watcher.write_lag if t_lag0 <= t <= t_lag0 + a.lag_window]
        om = sampler.last_metrics
        op_lag_n = metric(om, "subnetes_operator_status_lag_seconds_count")
        op_lag_mean = metric(om, "subnetes_operator_status_lag_seconds_sum") / max(op_lag_n, 1)
        miners_of: dict[int, list[str]] = {}
        neurons_of: dict[int, int] = {}
        for name, n in netuid.items():
            neurons_of[n] = neurons_of.get(n, 0) + 1
            if name.startswith("m/"):
                miners_of.setdefault(n, []).append(name)
        per_miner: list[float] = []
        per_epoch: list[float] = []
        missing = 0
        seen_by: dict[str, list[tuple[int, float]]] = {}
        for (name, b), t in seen.items():
            seen_by.setdefault(name, []).append((b, t))
        for (n, block), t_ev in epochs.items():
            lags = []
            for m in miners_of.get(n, []):
                ts = [t for b, t in seen_by.get(m, ()) if b >= block]
                if ts:
                    lags.append(max(0.0, min(ts) - t_ev))
                else:
                    missing += 1
            per_miner += lags
            if lags:
                per_epoch.append(max(lags))
        # Writes per epoch: every epoch changes the status of each neuron of its subnet
        # (lastEpochBlock) and of the Subnet, so at most that many status writes are due.
        epochs_w = [k for k, t in stream.epochs.items() if t_lag0 <= t <= t_lag1]
        due = sum(neurons_of.get(n, 0) + 1 for n, _ in epochs_w)
        op_writes = metric(m1, "subnetes_operator_status_patches_total") - metric(
            m0, "subnetes_operator_status_patches_total"
        )
        api_writes = diff(w1, w0)
        window = {
            name: metric_with(m1, series, label) - metric_with(m0, series, label)
            for name, series, label in (
                ("reconciles", "subnetes_operator_reconcile_total", ""),
                ("applied", "subnetes_operator_child_applies_total", 'result="applied"'),
                ("unchanged", "subnetes_operator_child_applies_total", 'result="unchanged"'),
            )
        }
        api_status = sum(v for k, v in api_writes.items() if k.endswith("/status"))

        fo: dict[str, Any] = {}
        if a.failover:
            for o in ops:
                if o.restart_if_exited():
                    time.sleep(5)  # its standby loop reads the Lease
            fo = failover(cluster, chain, watcher, stream, ops, ns, lease, a.failover_timeout)

        rows = [
            ("control plane / chain", f"loopback kube-apiserver + kwok, chain dev "
                                      f"(subnet limit {max(8, a.subnets)}), "
                                      f"block {a.block_time}s, tempo {a.tempo}"),
            ("objects", f"{a.subnets} Subnets, {a.validators * a.subnets} Validators, "
                        f"{a.miners} Miners ({len(docs)} applied in {t_applied:.1f}s); "
                        f"{a.coldkeys} miner coldkey(s) per subnet"),
            ("Ready 50% / 90% / 99% / 100%", " / ".join(
                f"{marks[q]:.1f}s" if q in marks else "-" for q in (0.5, 0.9, 0.99, 1.0))),
            ("neurons Ready", f"{len(watcher.ready_at)}/{neurons}; pods on scale nodes: "
                              f"{len(scheduled)}"),
            ("throughput", f"{len(watcher.ready_at) / max(t_all, 1e-9):.1f} neurons Ready/s"),
            ("registration lower bound", "{:.1f}s chain rules / {:.1f}s with one extrinsic per "
             "coldkey per block".format(*registration_bound(
                 math.ceil(a.miners / a.subnets) + a.validators,
                 max(math.ceil(a.miners / a.subnets / a.coldkeys), a.validators), a.block_time))),
            ("epochs measured", f"{len(epochs)} EpochResult events in {a.lag_window:.0f}s "
                                f"({len(per_miner)} miner updates, {missing} not seen)"),
            ("status lag per Miner p50 / p99 / max",
             f"{pct(per_miner, .5):.2f}s / {pct(per_miner, .99):.2f}s / {pct(per_miner, 1):.2f}s"),
            ("operator stream backlog p50 / max", f"{pct(backlog, .5):.1f}s / "
             f"{pct(backlog, 1):.1f}s (chain head - block of the event being handled)"),
            ("operator receipt -> patch, mean", f"{op_lag_mean:.2f}s over {op_lag_n:.0f} patches"),
            ("watch receipt - status write p50 / max",
             f"{pct(wlag, .5):.1f}s / {pct(wlag, 1):.1f}s (managedFields time, 1 s resolution)"),
            ("status lag, whole subnet p50 / max",
             f"{pct(per_epoch, .5):.2f}s / {pct(per_epoch, 1):.2f}s"
             + (f" (mean {statistics.mean(per_epoch):.2f}s)" if per_epoch else "")),
            ("status writes in the window", f"operator {op_writes:.0f}, API server "
             f"{api_status:.0f} (PATCH */status); due at most {due} ({len(epochs_w)} epochs x "
             f"(neurons + Subnet)); ratio {api_status / max(due, 1):.2f}"),
            ("operator reconciles / children applied / unchanged (not sent) in the window",
             "{reconciles:.0f} / {applied:.0f} / {unchanged:.0f}".format(**window)),
            ("API server writes until all Ready", ", ".join(
                f"{k} {v:.0f}" for k, v in sorted(w_ready.items())) or "none"),
            ("API server writes in the window", ", ".join(
                f"{k} {v:.0f}" for k, v in sorted(api_writes.items())) or "none"),
            ("operator RSS (MiB) at Ready / after the window",
             f"{rss_ready[0]:.0f} / {rss_lag[0]:.0f} (peak {rss_lag[1]:.0f})"),
            ("load average (1 min) during the run",
             f"{statistics.mean(loads):.1f} mean, {max(loads):.1f} max" if loads
             else f"{os.getloadavg()[0]:.1f}"),
        ]  # fmt: skip
        for k, v in fo.get("rows", []):
            rows.append((k, v))
        if a.failover:
            rows.append(
                (
                    "replica exits (Lease lost, restarted)",
                    ", ".join(f"{o.ident} {len(o.restarts)}" for o in ops)
                    + " (see operator-*.log)",
                )
            )
        width = max(len(r[0]) for r in rows)
        print()
        print(f"| {'measure'.ljust(width)} | value |")
        print(f"|{'-' * (width + 2)}|-------|")
        for k, v in rows:
            print(f"| {k.ljust(width)} | {v} |")
        print()
        print(json.dumps({"neurons": neurons, "ready_s": marks, "all_s": t_all,
                          "epochs": len(epochs), "lag_p50": pct(per_miner, .5),
                          "lag_p99": pct(per_miner, .99), "lag_max": pct(per_miner, 1),
                          "writes_operator": op_writes, "writes_api_status": api_status,
                          "writes_due": due, "rss_mb": rss_lag[0], "rss_peak_mb": rss_lag[1],
                          "failover": fo.get("json")}))  # fmt: skip
        return 0 if len(watcher.ready_at) >= neurons else 1
    finally:
        for o in ops:
            o.stop()
        if not a.keep:
            strip_finalizers(Path(cluster.kubeconfig), ns)
            cluster.kubectl("delete", "namespace", ns, "--wait=false")
            cluster.kubectl("delete", "clusterrolebinding,clusterrole", role, "--ignore-not-found")
            if nodes:
                cluster.kubectl("delete", "node", *nodes, "--ignore-not-found", "--wait=false")
            if chain is not None:
                chain.stop()
        log(f"logs in {tmp}")


def failover(
    cluster: LocalCluster,
    chain: Chain,
    watcher: Watcher,
    stream: EpochStream,
    ops: list[Operator],
    ns: str,
    lease: str,
    timeout: float,
) -> dict[str, Any]:
    """SIGKILL the Lease holder; measure until the standby holds the Lease, writes its first
    epoch status, and until every Miner shows an epoch of a block after the kill."""  # fmt: skip
    holder = lease_holder(cluster, ns, lease)
    victim = next(o for o in ops if o.ident == holder)
    standby = next(o for o in ops if o is not victim)
    with ChainClient(chain.endpoint) as c:
        head = int(c.chain()["head"])
    with watcher.lock:
        miners = {name for name in watcher.netuid if name.startswith("m/")}
    log(f"failover: SIGKILL {victim.ident} (holder) at block {head}; standby {standby.ident}")
    victim.proc.kill()
    t_kill = time.monotonic()
    t_lease = t_first = None
    while time.monotonic() - t_kill < timeout:
        now = time.monotonic()
        if t_lease is None and lease_holder(cluster, ns, lease) == standby.ident:
            t_lease = now - t_kill
            log(f"failover: {standby.ident} holds the Lease after {t_lease:.1f}s")
        with watcher.lock:
            after = {name: t for (name, b), t in watcher.epoch_seen.items()
                     if b > head and name in miners}  # fmt: skip
            firsts: dict[str, float] = {}
            for (name, b), t in watcher.epoch_seen.items():
                if b > head and name in miners and t < firsts.get(name, math.inf):
                    firsts[name] = t
        if firsts and t_first is None:
            t_first = min(firsts.values()) - t_kill
            log(f"failover: first epoch status after the kill at {t_first:.1f}s")
        if len(after) >= len(miners):
            break
        time.sleep(0.5)
    per = sorted(t - t_kill for t in firsts.values())
    rss = rss_mb(standby.proc.pid)
    done = len(firsts) >= len(miners)
    rows = [
        ("failover: Lease taken by the standby", f"{t_lease:.1f}s after SIGKILL" if t_lease
         else "not within the timeout"),
        ("failover: first epoch status after the kill", f"{t_first:.1f}s" if t_first else "-"),
        ("failover: every Miner shows a post-kill epoch",
         (f"{per[-1]:.1f}s" if done else f"{len(firsts)}/{len(miners)} by {timeout:.0f}s")
         + (f" (per Miner p50 {pct(per, .5):.1f}s, p99 {pct(per, .99):.1f}s)" if per else "")),
        ("failover: new leader RSS (MiB)", f"{rss[0]:.0f} (peak {rss[1]:.0f})"),
    ]  # fmt: skip
    return {"rows": rows, "json": {"lease_s": t_lease, "first_s": t_first,
            "all_s": per[-1] if done and per else None, "p50_s": pct(per, .5),
            "p99_s": pct(per, .99), "rss_mb": rss[0]}}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
