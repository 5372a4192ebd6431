"""Scale run of the operator (not a test): many Miners across subnets on the local control plane.

    .venv/bin/python hack/scale_operator.py --miners 500 --subnets 8 --validators 2

Starts (or reuses) the loopback control plane, a real chain process (dev profile, small block
time, in memory) and the operator under its least-privilege ServiceAccount, then:

1. applies the Subnets, Validators and Miners at once and measures the time until every neuron
   is Ready (registered on chain, StatefulSet pod scheduled on a kwok node, status written);
2. follows the chain's event stream and a watch on the Miners for a while and measures the
   status lag: from the chain's EpochResult event (as the stream delivers it) to each Miner's
   status carrying that epoch (``lastEpochBlock``, with its ``lastEmission``).

The workload pods go to dedicated kwok nodes of this run (``<namespace>-node-*``, pool and taint
``subnetes.io/scale=<namespace>:NoSchedule``) so no other test's or run's pods land there (two
runs at once keep apart) and the four default
nodes' 110-pod limit does not cap the run; they, the namespace and the ClusterRole are deleted at
the end (``--keep`` keeps them). Dev-profile limits: 8 subnets, 256 UIDs a subnet (owner and
validators included), 64 registrations a block and 96 an adjustment interval (100 blocks) per
subnet; one coldkey per subnet for miners (the operator serialises chain calls per signer).
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


class Chain:
    def __init__(self, tmp: Path, block_time: float) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        ready_file = tmp / "chain.ready"
        self.log = open(tmp / "chain.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                PY, "-c", "import sys; from subnetes.cli import main; sys.exit(main())",
                "chain", "run", "--db", ":memory:", "--profile", "dev",
                "--block-time", str(block_time), "--host", "127.0.0.1", "--port", str(self.port),
                "--ready-file", str(ready_file),
            ],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
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


def resources(ns: str, subnets: int, miners: int, validators: int, tempo: int) -> list[dict]:
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
        s = m % subnets
        docs.append({
            "apiVersion": "subnetes.io/v1alpha1", "kind": "Miner",
            "metadata": {"name": f"sn-{s}-m-{m // subnets}", "namespace": ns},
            "spec": {
                "subnetRef": {"name": f"sn-{s}"},
                "coldkeySecretRef": {"name": f"miners-{s}"},
                "registration": {"maxBurn": "5"},
                "template": pod_template("miner", ns),
            },
        })  # fmt: skip
    return docs


class Watcher(threading.Thread):
    """A watch on Miners and Validators: when each got Ready, when each showed each epoch."""

    def __init__(self, kubeconfig: Path, ns: str) -> None:
        super().__init__(daemon=True)
        self.kubeconfig, self.ns = kubeconfig, ns
        self.ready_at: dict[str, float] = {}
        self.epoch_seen: dict[tuple[str, int], float] = {}  # (miner, lastEpochBlock) -> t
        self.netuid: dict[str, int] = {}
        self.scheduled: dict[str, str] = {}
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
        with ChainClient(self.endpoint) as c:
            for ev in c.events(from_block=int(c.chain()["head"])):
                if ev.get("type") == "EpochResult":
                    self.epochs[(int(ev["netuid"]), int(ev["block"]))] = time.monotonic()


class Sampler(threading.Thread):
    """Every second: the chain head and the operator's metrics (its event consumer's block)."""

    def __init__(self, endpoint: str, metrics_url: str) -> None:
        super().__init__(daemon=True)
        self.endpoint, self.metrics_url = endpoint, metrics_url
        self.samples: list[tuple[float, int, float]] = []  # (t, chain head, operator's block)
        self.last_metrics = ""

    def run(self) -> None:
        with ChainClient(self.endpoint) as c:
            while True:
                try:
                    head = int(c.chain()["head"])
                    text = (
                        build_opener(ProxyHandler({}))
                        .open(self.metrics_url, timeout=5)
                        .read()
                        .decode()
                    )
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--miners", type=int, default=500)
    ap.add_argument("--subnets", type=int, default=8)
    ap.add_argument("--validators", type=int, default=2, help="per subnet")
    ap.add_argument("--block-time", type=float, default=0.25)
    ap.add_argument("--tempo", type=int, default=40, help="blocks between a subnet's epochs")
    ap.add_argument("--ready-timeout", type=float, default=1200)
    ap.add_argument("--lag-window", type=float, default=60, help="seconds of epochs to measure")
    ap.add_argument("--concurrency", type=int, default=None, help="operator reconcile bound")
    ap.add_argument("--keep", action="store_true", help="leave namespace, nodes, chain up")
    a = ap.parse_args()
    if a.subnets > 8:
        ap.error("the dev profile allows 8 subnets")
    per = math.ceil(a.miners / a.subnets) + a.validators + 1
    if per > 256:
        ap.error(f"{per} UIDs per subnet exceed the dev profile's 256")

    tmp = Path(tempfile.mkdtemp(prefix="scale-operator-"))
    cluster = LocalCluster()
    cluster.up()
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
    ns = f"scale-{uuid.uuid4().hex[:8]}"
    role = f"subnetes-operator-{ns}"
    neurons = a.miners + a.validators * a.subnets
    nodes = [f"{ns}-node-{i}" for i in range(math.ceil(neurons / 250))]
    log(f"workdir {tmp}; namespace {ns}; {a.subnets} subnets, {a.miners} miners, "
        f"{a.validators * a.subnets} validators on {len(nodes)} scale nodes")  # fmt: skip
    chain = op = None
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
        chain = Chain(tmp, a.block_time)
        kubeconfig = tmp / "operator.kubeconfig"
        cluster.kubectl("wait", "--for=create", "serviceaccount/default", "-n", ns, "--timeout=60s")
        restricted_kubeconfig(cluster, ns, role, kubeconfig)
        secrets = []
        with ChainClient(chain.endpoint) as c:
            for s in range(a.subnets):
                for prefix, amount in (("owner", 50_000), ("validators", 5_000), ("miners", 5_000)):
                    kp = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
                    c.faucet(kp, amount * TAO)
                    secrets.append(coldkey_secret(ns, f"{prefix}-{s}", kp))
        cluster.apply_manifests(secrets)

        env = os.environ | {
            "KUBECONFIG": str(kubeconfig),
            "SUBNETES_CHAIN_ENDPOINT": chain.endpoint,
            "SUBNETES_RETRY_DELAY": "2",
            "SUBNETES_WATCH_TIMEOUT": "120",
            "SUBNETES_METRICS_PORT": str(metrics_port := free_port()),
        }
        if a.concurrency:
            env["SUBNETES_MAX_CONCURRENT_RECONCILES"] = str(a.concurrency)
        op_log = open(tmp / "operator.log", "w")  # noqa: SIM115
        op = subprocess.Popen(
            [PY, "-m", "subnetes.operator", "--standalone", "-n", ns, "--quiet",
             "--liveness", f"http://127.0.0.1:{free_port()}/healthz"],
            stdout=op_log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT,
        )  # fmt: skip

        watcher = Watcher(Path(cluster.kubeconfig), ns)
        watcher.start()
        stream = EpochStream(chain.endpoint)
        stream.start()
        sampler = Sampler(chain.endpoint, f"http://127.0.0.1:{metrics_port}/metrics")
        sampler.start()
        time.sleep(2)

        docs = resources(ns, a.subnets, a.miners, a.validators, a.tempo)
        t0 = time.monotonic()
        cluster.apply_manifests(docs)
        t_applied = time.monotonic() - t0
        log(f"applied {len(docs)} objects in {t_applied:.1f}s")
        marks: dict[float, float] = {}
        last_print = 0.0
        while True:
            with watcher.lock:
                n_ready = len(watcher.ready_at)
            now = time.monotonic() - t0
            for q in (0.5, 0.9, 1.0):
                if q not in marks and n_ready >= q * neurons:
                    marks[q] = now
            if n_ready >= neurons:
                break
            if now > a.ready_timeout:
                log(f"timeout: {n_ready}/{neurons} Ready after {now:.0f}s")
                break
            if op.poll() is not None:
                log("operator exited; see operator.log")
                break
            if now - last_print > 15:
                h, b = sampler.samples[-1][1:] if sampler.samples else (0, 0.0)
                log(f"{n_ready}/{neurons} Ready after {now:.0f}s; operator stream "
                    f"{(h - b) * a.block_time:.1f}s behind the chain")  # fmt: skip
                last_print = now
            time.sleep(0.5)
        t_all = time.monotonic() - t0
        with watcher.lock:
            scheduled = {k: v for k, v in watcher.scheduled.items() if v in nodes}
        log(f"all Ready: {len(watcher.ready_at)}/{neurons} in {t_all:.1f}s")

        # Status lag over the next window of epochs.
        t_lag0 = time.monotonic()
        time.sleep(a.lag_window)
        time.sleep(min(30.0, a.lag_window))  # let the last epochs land
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
        for name, n in netuid.items():
            if name.startswith("m/"):
                miners_of.setdefault(n, []).append(name)
        per_miner: list[float] = []
        per_epoch: list[float] = []
        missing = 0
        for (n, block), t_ev in epochs.items():
            lags = []
            for m in miners_of.get(n, []):
                ts = [t for (name, b), t in seen.items() if name == m and b >= block]
                if ts:
                    lags.append(max(0.0, min(ts) - t_ev))
                else:
                    missing += 1
            per_miner += lags
            if lags:
                per_epoch.append(max(lags))

        rows = [
            ("control plane / chain", f"loopback kube-apiserver + kwok, chain dev, "
                                      f"block {a.block_time}s, tempo {a.tempo}"),
            ("objects", f"{a.subnets} Subnets, {a.validators * a.subnets} Validators, "
                        f"{a.miners} Miners ({len(docs)} applied in {t_applied:.1f}s)"),
            ("Ready 50% / 90% / 100%", " / ".join(
                f"{marks[q]:.1f}s" if q in marks else "-" for q in (0.5, 0.9, 1.0))),
            ("neurons Ready", f"{len(watcher.ready_at)}/{neurons}; pods on scale nodes: "
                              f"{len(scheduled)}"),
            ("throughput", f"{len(watcher.ready_at) / max(t_all, 1e-9):.1f} neurons Ready/s"),
            ("epochs measured", f"{len(epochs)} EpochResult events in {a.lag_window:.0f}s "
                                f"({len(per_miner)} miner updates, {missing} not seen)"),
            ("status lag per Miner p50 / p95 / max",
             f"{pct(per_miner, .5):.2f}s / {pct(per_miner, .95):.2f}s / {pct(per_miner, 1):.2f}s"),
            ("operator stream backlog p50 / max", f"{pct(backlog, .5):.1f}s / "
             f"{pct(backlog, 1):.1f}s (chain head - block of the event being handled)"),
            ("operator receipt -> patch, mean", f"{op_lag_mean:.2f}s over {op_lag_n:.0f} patches"),
            ("watch receipt - status write p50 / max",
             f"{pct(wlag, .5):.1f}s / {pct(wlag, 1):.1f}s (managedFields time, 1 s resolution)"),
            ("status lag, whole subnet p50 / max",
             f"{pct(per_epoch, .5):.2f}s / {pct(per_epoch, 1):.2f}s"
             + (f" (mean {statistics.mean(per_epoch):.2f}s)" if per_epoch else "")),
        ]  # fmt: skip
        width = max(len(r[0]) for r in rows)
        print()
        print(f"| {'measure'.ljust(width)} | value |")
        print(f"|{'-' * (width + 2)}|-------|")
        for k, v in rows:
            print(f"| {k.ljust(width)} | {v} |")
        print()
        print(json.dumps({"ready_s": marks, "all_s": t_all, "epochs": len(epochs),
                          "lag_p50": pct(per_miner, .5), "lag_max": pct(per_miner, 1)}))  # fmt: skip
        return 0 if len(watcher.ready_at) >= neurons else 1
    finally:
        if op is not None and op.poll() is None:
            op.terminate()
            try:
                op.wait(20)
            except subprocess.TimeoutExpired:
                op.kill()
        if not a.keep:
            strip_finalizers(Path(cluster.kubeconfig), ns)
            cluster.kubectl("delete", "namespace", ns, "--wait=false")
            cluster.kubectl("delete", "clusterrolebinding,clusterrole", role, "--ignore-not-found")
            if nodes:
                cluster.kubectl("delete", "node", *nodes, "--ignore-not-found", "--wait=false")
            if chain is not None:
                chain.stop()
        log(f"logs in {tmp}")


if __name__ == "__main__":
    sys.exit(main())
