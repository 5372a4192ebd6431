"""A real Kubernetes control plane on loopback, without Docker.

Runs upstream etcd, kube-apiserver, kube-controller-manager, kube-scheduler and the kwok
controller as plain processes (built by ``hack/build-control-plane.sh``), then creates
simulated CPU and GPU nodes. Everything binds to 127.0.0.1; kwok hands out pod IPs from
127.64.0.0/16 so that a pod IP is a loopback address the dev runner may bind.

Optionally (``real_node=RealNodeSpec()``) it adds a real node next to the kwok nodes:
containerd with runc, CNI bridge, kube-proxy, kube-router (NetworkPolicies), CoreDNS and a kubelet, on which pods run in
real containers (see ``subnetes.localnet.node``).

State (certificates, kubeconfig, PIDs, logs, etcd data) lives in one directory, by default
``$SUBNETES_CLUSTER_DIR`` or ``~/.cache/subnetes/cluster``. ``down`` stops exactly the
processes that ``up`` started, by PID.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from subnetes.localnet import node as real

REPO_ROOT = Path(__file__).resolve().parent.parent
POD_CIDR = "127.64.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"  # data only: nothing is ever dialled there
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
# Started after COMPONENTS when the cluster has a real node, in this order.
NODE_COMPONENTS = (
    "containerd", "apiserver-relay", "coredns", "kube-proxy", "kubelet", "kube-router",
)  # fmt: skip
# The annotation kwok's fake nodes carry; kwok manages only those (never a real kubelet's node).
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")


class ClusterError(RuntimeError):
    """The control plane could not be built, started or reached."""


def cache_dir() -> Path:
    """Where built binaries and cluster state are kept (outside the repository)."""
    return Path(os.environ.get("SUBNETES_CACHE", Path.home() / ".cache" / "subnetes"))


def default_cluster_dir() -> Path:
    """The state directory of the default local cluster."""
    return Path(os.environ.get("SUBNETES_CLUSTER_DIR", cache_dir() / "cluster"))


def bin_dir() -> Path:
    """Directory holding the pinned control-plane binaries."""
    return cache_dir() / "bin"


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class NodeSpec:
    """One simulated node: a CPU or GPU pool member."""

    name: str
    pool: str
    cpu: str = "32"
    memory: str = "128Gi"
    gpus: int = 0
    gpu_product: str = "NVIDIA-H100-80GB-HBM3"


DEFAULT_NODES: tuple[NodeSpec, ...] = (
    NodeSpec("cpu-node-0", "cpu"),
    NodeSpec("cpu-node-1", "cpu"),
    NodeSpec("gpu-node-0", "gpu", cpu="64", memory="512Gi", gpus=8),
    NodeSpec("gpu-node-1", "gpu", cpu="64", memory="512Gi", gpus=8),
)


def build_node_manifest(node: NodeSpec) -> dict:
    """A v1 Node whose status carries its capacity (kwok keeps it), GPU pools labelled
    and tainted as NVIDIA's GPU operator and feature discovery do on real clusters."""
    labels = {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": f"kwok-{node.pool}",
        "subnetes.io/pool": node.pool,
        "type": "kwok",
    }
    capacity = {"cpu": node.cpu, "memory": node.memory, "pods": "110"}
    taints = []
    if node.gpus:
        labels |= {
            "nvidia.com/gpu.present": "true",
            "nvidia.com/gpu.product": node.gpu_product,
            "nvidia.com/gpu.count": str(node.gpus),
            "nvidia.com/gpu.memory": "81559",
        }
        capacity["nvidia.com/gpu"] = str(node.gpus)
        taints.append({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": labels,
            "annotations": {
                KWOK_NODE_ANNOTATION[0]: KWOK_NODE_ANNOTATION[1],
                "node.alpha.kubernetes.io/ttl": "0",
            },
        },
        "spec": {"taints": taints},
        "status": {"capacity": capacity, "allocatable": dict(capacity)},
    }


@dataclass
class LocalCluster:
    """Start, reach and stop the loopback control plane kept in ``root``."""

    root: Path = field(default_factory=default_cluster_dir)
    bins: Path = field(default_factory=bin_dir)
    # A real kubelet node next to the kwok nodes, and the OCI archives imported into its
    # runtime (the sandbox image first); None: kwok nodes only.
    real_node: real.RealNodeSpec | None = None
    images: tuple[Path, ...] = ()
    sandbox_image: str = "localhost/subnetes/pause:3.10"
    # Extra admission plugins (beyond the API server's defaults), e.g. the ones a hardened
    # cluster enables: OwnerReferencesPermissionEnforcement, NodeRestriction.
    admission_plugins: tuple[str, ...] = ()
    _children: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)

    @property
    def components(self) -> tuple[str, ...]:
        """Every process this cluster runs, in start order."""
        return COMPONENTS + (NODE_COMPONENTS if self.real_node else ())

    @property
    def node_paths(self) -> real.NodePaths:
        return real.NodePaths(self.root / "node")

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def log_path(self, component: str) -> Path:
        return self.root / "logs" / f"{component}.log"

    # ---- state -----------------------------------------------------------------------

    def _read_state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _write_state(self, state: dict) -> None:
        self.state_file.write_text(json.dumps(state, indent=2))

    def running_pids(self) -> dict[str, int]:
        """Components recorded by ``up`` whose process is still the one we started."""
        state = self._read_state()
        return {
            name: pid
            for name, pid in state.get("pids", {}).items()
            if _is_our_process(pid, Path(state.get("exes", {}).get(name, self.bins / name)))
        }

    def is_up(self) -> bool:
        """All components run and the API server answers ready."""
        state = self._read_state()
        if set(self.running_pids()) != set(self.components):
            return False
        try:
            return self._get(state, "/readyz") == "ok"
        except OSError:
            return False

    # ---- lifecycle -------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize up/down across processes (parallel test sessions share one cluster)."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        with open(self.root.parent / f".{self.root.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def up(self, timeout: float = 180.0, nodes: tuple[NodeSpec, ...] = DEFAULT_NODES) -> Path:
        """Start the control plane (if not already up) and return the kubeconfig path."""
        with self._locked():
            return self._up(timeout, nodes)

    def down(self) -> list[str]:
        """Stop the processes ``up`` started (by PID, newest first); return their names."""
        with self._locked():
            return self._down()

    def _up(self, timeout: float, nodes: tuple[NodeSpec, ...]) -> Path:
        if self.is_up():
            return self.kubeconfig
        self._down()
        self._check_binaries()
        if self.root.exists():
            real.unmount_under(self.root)  # a crashed real node may leave volumes mounted
            shutil.rmtree(self.root)
        (self.root / "logs").mkdir(parents=True)
        (self.root / "pki").mkdir()
        token = secrets.token_hex(24)
        state: dict = {
            "ports": {
                "etcd": free_port(),
                "etcd_peer": free_port(),
                "apiserver": free_port(),
            },
            "pids": {},
        }
        self._write_pki(token)
        self._write_kubeconfig(state, token)
        deadline = time.monotonic() + timeout
        if self.real_node:
            # The host network first: the API server's certificate and the relay use its
            # gateway address.
            real.setup_host_network(self.real_node, SERVICE_CIDR)

        self._start(state, "etcd", self._etcd_args(state))
        self._start(state, "kube-apiserver", self._apiserver_args(state))
        self._wait(state, "kube-apiserver", deadline, lambda: self._get(state, "/readyz") == "ok")
        self._start(state, "kube-controller-manager", self._controller_manager_args())
        self._start(state, "kube-scheduler", self._scheduler_args())
        self._start(state, "kwok", self._kwok_args())
        self.apply_manifests([build_node_manifest(n) for n in nodes])
        self._wait(state, "kwok", deadline, lambda: self._nodes_ready(len(nodes)))
        self._wait(
            state,
            "kube-controller-manager",
            deadline,
            lambda: (
                self.kubectl("get", "serviceaccount", "default", "-n", "default").returncode == 0
            ),
        )
        if self.real_node:
            self._up_real_node(state, deadline)
        return self.kubeconfig

    def _up_real_node(self, state: dict, deadline: float) -> None:
        """containerd (with the images), the API relay, CoreDNS, kube-proxy, the kubelet, then
        kube-router; ready when the node is Ready and CoreDNS answers."""
        spec, paths = self.real_node, self.node_paths
        assert spec is not None
        pki = self.root / "pki"
        for d in (paths.containerd, paths.cni_conf_dir, paths.kubelet, paths.pod_logs):
            d.mkdir(parents=True, exist_ok=True)
        config = paths.containerd / "config.toml"
        config.write_text(real.build_containerd_config(paths, self.sandbox_image))
        real.write_json(
            paths.cni_conf_dir / "10-subnetes.conflist",
            real.build_cni_conflist(spec, SERVICE_CIDR),
        )
        self._start(state, "containerd", ["--config", str(config)])
        self._wait(state, "containerd", deadline, paths.containerd_socket.exists)
        self.import_images()

        api = state["ports"]["apiserver"]
        self._start(
            state, "apiserver-relay",
            [f"TCP-LISTEN:{spec.relay_port},bind={spec.gateway},fork,reuseaddr",
             f"TCP:127.0.0.1:{api}"],
        )  # fmt: skip
        self.apply_manifests(real.build_kubernetes_endpoints(spec))

        names = ("dns_health", "dns_ready", "kp_health", "kp_metrics", "kubelet", "kubelet_healthz")
        ports = {k: free_port() for k in names}
        state["ports"] |= ports
        corefile = paths.root / "Corefile"
        corefile.write_text(
            real.build_corefile(spec, self.kubeconfig, ports["dns_health"], ports["dns_ready"])
        )
        self._start(state, "coredns", ["-conf", str(corefile)])
        proxy_config = real.write_json(
            paths.root / "kube-proxy.json",
            real.build_kube_proxy_config(
                spec, self.kubeconfig, ports["kp_health"], ports["kp_metrics"]
            ),
        )
        self._start(state, "kube-proxy", [f"--config={proxy_config}"])

        kubelet_config = real.write_json(
            paths.root / "kubelet.json",
            real.build_kubelet_config(
                spec, paths, pki / "ca.crt", ports["kubelet"], ports["kubelet_healthz"]
            ),
        )
        self._write_node_kubeconfig()
        labels = f"subnetes.io/pool={spec.pool},node.kubernetes.io/instance-type=real-{spec.pool}"
        self._start(
            state, "kubelet",
            [f"--config={kubelet_config}", f"--kubeconfig={paths.root / 'kubelet.kubeconfig'}",
             f"--root-dir={paths.kubelet}", f"--cert-dir={paths.root / 'kubelet-pki'}",
             f"--hostname-override={spec.name}", f"--node-ip={spec.gateway}",
             f"--node-labels={labels}", "--v=1"],
        )  # fmt: skip
        self._wait(state, "kubelet", deadline, lambda: real.node_ready(self.kubectl, spec.name))
        # kube-router finds its node by name: only once the kubelet has registered it.
        self._start(
            state, "kube-router", real.build_kube_router_args(spec, self.kubeconfig, SERVICE_CIDR)
        )
        self._wait(
            state, "coredns", deadline,
            lambda: self._get_http(f"http://127.0.0.1:{ports['dns_ready']}/ready") == "OK",
        )  # fmt: skip

    def _down(self) -> list[str]:
        state = self._read_state()
        pids = self.running_pids()
        stopped = []
        for name in reversed(COMPONENTS + NODE_COMPONENTS):
            pid = pids.get(name)
            if pid is None:
                continue
            _terminate(pid)
            stopped.append(name)
        if state.get("real_node"):
            self._clean_real_node(real.RealNodeSpec(**state["real_node"]))
        if state:
            state["pids"] = {}
            self._write_state(state)
        return stopped

    def _clean_real_node(self, spec: real.RealNodeSpec) -> None:
        """Containers outlive kubelet and containerd (their shims are separate processes):
        kill them, then undo mounts, network namespaces, the bridge and kube-proxy's rules."""
        real.kill_pod_processes()
        real.kill_shims(self.node_paths.containerd_socket)
        real.remove_cni_netns()
        real.unmount_under(self.root)
        real.teardown_host_network(spec, SERVICE_CIDR, self.bins)

    # ---- helpers for callers -----------------------------------------------------------

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run the pinned kubectl against this cluster."""
        proc = subprocess.run(
            [str(self.bins / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def helm(
        self, *args: str, input: str | None = None, check: bool = False, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run the pinned helm against this cluster (its own cache, no user config)."""
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CACHE_HOME": str(self.root / "helm" / "cache"),
            "HELM_CONFIG_HOME": str(self.root / "helm" / "config"),
            "HELM_DATA_HOME": str(self.root / "helm" / "data"),
        }
        proc = subprocess.run(
            [str(self.bins / "helm"), *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise ClusterError(f"helm {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def import_images(self) -> None:
        """Import ``images`` into the real node's runtime (again: a rebuilt image replaces the
        old one under the same name)."""
        for archive in self.images:
            real.import_image("ctr", self.node_paths.containerd_socket, archive)

    def token_kubeconfig(
        self, namespace: str, service_account: str, path: Path, duration: str = "2h"
    ) -> Path:
        """Write a kubeconfig that authenticates as ``service_account`` (a minted token), with
        this cluster's server and CA: for running a component under its own RBAC."""
        token = self.kubectl(
            "create", "token", service_account, "-n", namespace, f"--duration={duration}",
            check=True,
        ).stdout.strip()  # fmt: skip
        config = json.loads(self.kubeconfig.read_text())
        config["users"] = [{"name": service_account, "user": {"token": token}}]
        for ctx in config.get("contexts", []):
            ctx["context"]["user"] = service_account
            ctx["context"]["namespace"] = namespace
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
        return path

    def apply_manifests(self, manifests: list[dict]) -> None:
        """``kubectl apply`` a list of objects (JSON is valid YAML)."""
        doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests})
        self.kubectl("apply", "-f", "-", input=doc, check=True)

    # ---- internals -----------------------------------------------------------------------

    def _check_binaries(self) -> None:
        missing = [
            c
            for c in (*self.components, "kubectl")
            if c not in real.SYSTEM_BINARIES and not (self.bins / c).exists()
        ]
        if missing:
            raise ClusterError(
                f"control-plane binaries missing in {self.bins}: {', '.join(missing)}; "
                "run `bash hack/build-control-plane.sh` (or `make cluster-up`)"
            )
        if self.real_node and (packages := real.missing_prerequisites()):
            raise ClusterError(
                "the real node needs these Debian packages: " + " ".join(packages)
                + " (apt-get install them; see the README's prerequisites)"
            )  # fmt: skip
        for image in self.images:
            if not image.exists():
                raise ClusterError(f"image archive missing: {image} (run hack/build-images.sh)")

    def _write_pki(self, token: str) -> None:
        pki = self.root / "pki"

        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=pki)

        extra_ip = f",IP:{self.real_node.gateway}" if self.real_node else ""

        openssl("genrsa", "-out", "ca.key", "2048")
        openssl(
            "req", "-x509", "-new", "-key", "ca.key", "-days", "3650",
            "-subj", "/CN=subnetes-local-ca", "-out", "ca.crt",
        )  # fmt: skip
        openssl("genrsa", "-out", "apiserver.key", "2048")
        (pki / "san.cnf").write_text(
            f"subjectAltName=IP:127.0.0.1,IP:10.96.0.1{extra_ip},DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc,"
            "DNS:kubernetes.default.svc.cluster.local\n"
        )
        openssl(
            "req", "-new", "-key", "apiserver.key", "-subj", "/CN=kube-apiserver",
            "-out", "apiserver.csr",
        )  # fmt: skip
        openssl(
            "x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "3650", "-extfile", "san.cnf", "-out", "apiserver.crt",
        )  # fmt: skip
        openssl("genrsa", "-out", "sa.key", "2048")
        if self.real_node:
            # The kubelet's identity for the Node authorizer, and the API server's client
            # certificate towards kubelets (logs, exec).
            for name, subject in (
                ("node", f"/O=system:nodes/CN=system:node:{self.real_node.name}"),
                ("kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client"),
            ):
                openssl("genrsa", "-out", f"{name}.key", "2048")
                openssl(
                    "req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr"
                )
                openssl(
                    "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                    "-CAcreateserial", "-days", "3650", "-out", f"{name}.crt",
                )  # fmt: skip
        # Static admin token: the harness's own identity (system:masters), never a workload's.
        (pki / "token.csv").write_text(f'{token},subnetes-admin,subnetes-admin,"system:masters"\n')
        for f in pki.iterdir():
            f.chmod(0o600)

    def _write_kubeconfig(self, state: dict, token: str) -> None:
        ca = (self.root / "pki" / "ca.crt").read_text()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "subnetes-local",
                    "cluster": {
                        "server": f"https://127.0.0.1:{state['ports']['apiserver']}",
                        "certificate-authority-data": base64.b64encode(ca.encode()).decode(),
                    },
                }
            ],
            "users": [{"name": "subnetes-admin", "user": {"token": token}}],
            "contexts": [
                {
                    "name": "subnetes-local",
                    "context": {"cluster": "subnetes-local", "user": "subnetes-admin"},
                }
            ],
            "current-context": "subnetes-local",
        }
        self.kubeconfig.write_text(json.dumps(config, indent=2))
        self.kubeconfig.chmod(0o600)
        state["token"] = token
        if self.real_node:
            state["real_node"] = dataclasses.asdict(self.real_node)
        self._write_state(state)

    def _write_node_kubeconfig(self) -> None:
        """The kubelet's kubeconfig: the admin kubeconfig's cluster, the node's certificate."""
        pki = self.root / "pki"
        config = json.loads(self.kubeconfig.read_text())
        config["users"] = [
            {
                "name": "node",
                "user": {
                    "client-certificate": str(pki / "node.crt"),
                    "client-key": str(pki / "node.key"),
                },
            }
        ]
        config["contexts"][0]["context"]["user"] = "node"
        path = self.node_paths.root / "kubelet.kubeconfig"
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)

    def _etcd_args(self, state: dict) -> list[str]:
        p = state["ports"]
        return [
            "--name=node0",
            f"--data-dir={self.root / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{p['etcd']}",
            f"--advertise-client-urls=http://127.0.0.1:{p['etcd']}",
            f"--listen-peer-urls=http://127.0.0.1:{p['etcd_peer']}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{p['etcd_peer']}",
            f"--initial-cluster=node0=http://127.0.0.1:{p['etcd_peer']}",
            "--listen-metrics-urls=",
            "--auto-compaction-retention=1",
            "--unsafe-no-fsync",  # throwaway test data: speed over durability
            "--log-level=warn",
        ]

    def _apiserver_args(self, state: dict) -> list[str]:
        pki = self.root / "pki"
        return [
            f"--etcd-servers=http://127.0.0.1:{state['ports']['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",  # endpoints refuse loopback IPs
            f"--secure-port={state['ports']['apiserver']}",
            f"--cert-dir={self.root / 'apiserver-certs'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--token-auth-file={pki / 'token.csv'}",
            "--authorization-mode=Node,RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-account-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            "--profiling=false",
            "--v=1",
            *(
                [f"--enable-admission-plugins={','.join(self.admission_plugins)}"]
                if self.admission_plugins
                else []
            ),
            *(
                [
                    f"--kubelet-client-certificate={pki / 'kubelet-client.crt'}",
                    f"--kubelet-client-key={pki / 'kubelet-client.key'}",
                    "--kubelet-preferred-address-types=InternalIP",
                ]
                if self.real_node
                else []
            ),
        ]

    def _component_common(self) -> list[str]:
        return [
            f"--kubeconfig={self.kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            # client-go's defaults (20 requests/s, burst 30 for the controller-manager; 50/100 for
            # the scheduler) are for a shared production API server. Here they throttled a
            # 1,000-neuron rollout: StatefulSets waited for their pods while the
            # controller-manager was at a fifth of a core (hack/scale_operator.py).
            "--kube-api-qps=200",
            "--kube-api-burst=400",
        ]

    def _controller_manager_args(self) -> list[str]:
        pki = self.root / "pki"
        return [
            *self._component_common(),
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            "--use-service-account-credentials=false",
            "--concurrent-gc-syncs=5",
        ]

    def _scheduler_args(self) -> list[str]:
        return self._component_common()

    def _kwok_args(self) -> list[str]:
        return [
            f"--kubeconfig={self.kubeconfig}",
            f"--config={REPO_ROOT / 'hack' / 'kwok' / 'stages.yaml'}",
            # Only the fake nodes: a real kubelet's Node and pods are never kwok's.
            f"--manage-nodes-with-annotation-selector={'='.join(KWOK_NODE_ANNOTATION)}",
            f"--cidr={POD_CIDR}",
            "--node-ip=127.0.0.1",
            "--node-lease-duration-seconds=40",
        ]

    def _start(self, state: dict, name: str, args: list[str]) -> None:
        exe = real.SYSTEM_BINARIES.get(name, self.bins / name)
        log = open(self.log_path(name), "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            [str(exe), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the caller; stopped by PID in down()
            cwd=self.root,
        )
        log.close()
        self._children[name] = proc
        state["pids"][name] = proc.pid
        state.setdefault("exes", {})[name] = str(exe)
        self._write_state(state)

    def _get_http(self, url: str) -> str:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=5) as resp:
            return resp.read().decode()

    def _get(self, state: dict, path: str) -> str:
        ctx = ssl.create_default_context(cafile=str(self.root / "pki" / "ca.crt"))
        req = urllib.request.Request(
            f"https://127.0.0.1:{state['ports']['apiserver']}{path}",
            headers={"Authorization": f"Bearer {state['token']}"},
        )
        # No ProxyHandler: a proxy variable in the environment must not catch loopback traffic.
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)
        )
        with opener.open(req, timeout=5) as resp:
            return resp.read().decode()

    def _nodes_ready(self, count: int) -> bool:
        out = self.kubectl(
            "get", "nodes", "-o",
            "jsonpath={range .items[*]}{.status.conditions[?(@.type=='Ready')].status}{'\\n'}{end}",
        )  # fmt: skip
        return out.returncode == 0 and out.stdout.split().count("True") >= count

    def _wait(
        self, state: dict, component: str, deadline: float, ready: Callable[[], bool]
    ) -> None:
        while time.monotonic() < deadline:
            for name, proc in self._children.items():
                if proc.poll() is not None:
                    raise ClusterError(f"{name} exited during start-up:\n{self._tail(name)}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise ClusterError(
            f"timed out waiting for {component}; its log ends:\n{self._tail(component)}"
        )

    def _tail(self, component: str, lines: int = 30) -> str:
        try:
            text = self.log_path(component).read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def real_node_cluster_dir() -> Path:
    """The state directory of the cluster with a real node (the e2e suite's)."""
    return cache_dir() / "e2e-cluster"


# Admission plugins a hardened cluster enables: the charts' RBAC must satisfy them for real.
HARDENED_ADMISSION_PLUGINS = ("OwnerReferencesPermissionEnforcement", "NodeRestriction")
# Next to a real CPU node, only the kwok GPU nodes: every CPU pod then runs for real.
REAL_NODE_KWOK_NODES = tuple(n for n in DEFAULT_NODES if n.gpus)


def real_node_cluster(
    root: Path | None = None, images: dict[str, Path] | None = None
) -> LocalCluster:
    """The cluster with a real node: its images built (cached) and imported on ``up``.

    Start it with ``up(nodes=REAL_NODE_KWOK_NODES)`` (kwok GPU nodes, scheduled, not run).
    """
    if images is None:
        from subnetes.localnet.image import ImageBuildError, build_images

        try:
            images = build_images()
        except ImageBuildError as exc:
            raise ClusterError(f"building the real node's images failed: {exc}") from exc
    return LocalCluster(
        root=root or real_node_cluster_dir(),
        real_node=real.RealNodeSpec(),
        images=tuple(images.values()),
        sandbox_image=next((n for n in images if "pause" in n), LocalCluster.sandbox_image),
        admission_plugins=HARDENED_ADMISSION_PLUGINS,
    )


def _is_our_process(pid: int, exe: Path) -> bool:
    """True if ``pid`` still runs the binary we started (guards against reused PIDs)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        return False
    return Path(cmdline) == exe


def _terminate(pid: int, grace: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)
            if waited:
                return
        except ChildProcessError:
            pass  # not our child: poll /proc instead
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    """``python -m subnetes.localnet.cluster up|down|status [--real-node]``."""
    parser = argparse.ArgumentParser(prog="subnetes-cluster", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, default=None, help="cluster state directory")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--real-node",
        action="store_true",
        help="the cluster with a real node (root; builds the images): ~/.cache/subnetes/e2e-cluster",
    )
    args = parser.parse_args(argv)
    try:
        nodes = DEFAULT_NODES
        if args.real_node:
            # down/status need no images: only up imports them.
            cluster = real_node_cluster(args.dir, images=None if args.action == "up" else {})
            nodes = REAL_NODE_KWOK_NODES
        else:
            cluster = LocalCluster(root=args.dir) if args.dir else LocalCluster()
        if args.action == "up":
            started = time.monotonic()
            kubeconfig = cluster.up(timeout=args.timeout, nodes=nodes)
            print(f"control plane ready in {time.monotonic() - started:.1f}s")
            print(f"export KUBECONFIG={kubeconfig}")
        elif args.action == "down":
            stopped = cluster.down()
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        else:
            up = cluster.is_up()
            print(f"{'up' if up else 'down'}; kubeconfig: {cluster.kubeconfig}")
            return 0 if up else 1
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
