"""A real node for the local cluster: kubelet, containerd with runc, CNI, kube-proxy, CoreDNS.

Pods scheduled here run for real, in containers, with addresses on a local bridge. The
network stays on this machine: the bridge has no uplink, pods get routes only to the pod
subnet and the Service range (no default route), the host routes the Service range into the
bridge (never out of the machine), and two FORWARD rules drop anything crossing between the
bridge and any other interface. Nothing here masquerades.

Pods reach the API server through a relay on the bridge's gateway address (the API server
itself stays bound to loopback), and resolve Service names through CoreDNS, which runs on the
host bound to the gateway address. kube-router, in firewall-only mode, enforces NetworkPolicies
(kube-proxy does not), so the charts' policies are tested for real. The pure builders below make every config file; the
``RealNode`` edge applies them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CLUSTER_DOMAIN = "cluster.local"
CNI_BIN_DIR = Path("/usr/lib/cni")
SYSTEM_BINARIES = {
    "containerd": Path("/usr/bin/containerd"),
    "apiserver-relay": Path("/usr/bin/socat"),
}
# Debian packages the real node needs, by a file each installs (.ci/run installs them; the
# README lists them).
PREREQUISITES = {
    "containerd": Path("/usr/bin/containerd"),
    "runc": Path("/usr/sbin/runc"),
    "containernetworking-plugins": CNI_BIN_DIR / "bridge",
    "iptables": Path("/usr/sbin/iptables"),
    "conntrack": Path("/usr/sbin/conntrack"),
    "socat": Path("/usr/bin/socat"),
    "ipset": Path("/usr/sbin/ipset"),
}


@dataclass(frozen=True)
class RealNodeSpec:
    """One real node: its name, pool label and the bridge network its pods live on."""

    name: str = "subnetes-node-0"
    pool: str = "cpu"
    bridge: str = "snbr0"
    subnet: str = "10.244.0.0/24"
    relay_port: int = 6443  # pods reach the API server at <gateway>:relay_port

    @property
    def gateway(self) -> str:
        """The host's address on the bridge: kubelet's node IP, DNS, the API relay."""
        return str(next(ipaddress.ip_network(self.subnet).hosts()))


@dataclass(frozen=True)
class NodePaths:
    """Where one node's state lives inside the cluster directory."""

    root: Path

    @property
    def containerd(self) -> Path:
        return self.root / "containerd"

    @property
    def containerd_socket(self) -> Path:
        return self.containerd / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def kubelet(self) -> Path:
        return self.root / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"


# ---- pure builders --------------------------------------------------------------------------


def build_containerd_config(paths: NodePaths, sandbox_image: str) -> str:
    """containerd 1.6 config (version 2): private root/state/socket, runc, CNI from the node dir.

    ``restrict_oom_score_adj``: root here lacks CAP_SYS_RESOURCE, so a negative oom_score_adj
    (the CRI asks -998 for sandboxes) would make runc fail; with it, scores never go below
    containerd's own.
    """
    c = paths.containerd
    return f"""version = 2
root = "{c / "root"}"
state = "{c / "state"}"
disabled_plugins = ["io.containerd.internal.v1.tracing", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{paths.containerd_socket}"

[ttrpc]
  address = "{c / "containerd.sock.ttrpc"}"

[debug]
  level = "warn"

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = false

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{paths.cni_conf_dir}"
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
"""


def build_cni_conflist(spec: RealNodeSpec, service_cidr: str) -> dict:
    """The pods' network: a bridge with no masquerade and no default route.

    Pods get the pod subnet on-link and one route, to the Service range via the gateway,
    where kube-proxy's rules send it to a pod. Nothing else is routable from a pod.
    """
    return {
        "cniVersion": "1.0.0",
        "name": "subnetes",
        "plugins": [
            {
                "type": "bridge",
                "bridge": spec.bridge,
                "isGateway": True,
                "isDefaultGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": spec.subnet, "gateway": spec.gateway}]],
                    "routes": [{"dst": service_cidr}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": False},
        ],
    }


def build_kubelet_config(
    spec: RealNodeSpec, paths: NodePaths, ca_file: Path, kubelet_port: int, healthz_port: int
) -> dict:
    """KubeletConfiguration for this machine: cgroup v1 (cgroupfs), containerd, cluster DNS on
    the gateway, no host resolv.conf for pods (nothing resolves outside the cluster)."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,  # this machine's hierarchy is cgroup v1 (hybrid)
        "cgroupDriver": "cgroupfs",
        "containerRuntimeEndpoint": f"unix://{paths.containerd_socket}",
        "address": spec.gateway,
        "port": kubelet_port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca_file)},
        },
        "authorization": {"mode": "Webhook"},
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterDNS": [spec.gateway],
        "resolvConf": "",
        "podLogsDir": str(paths.pod_logs),
        "failSwapOn": False,
        "serializeImagePulls": False,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "200Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "maxPods": 110,
        "nodeStatusUpdateFrequency": "4s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "10s",
        "makeIPTablesUtilChains": False,
        "protectKernelDefaults": False,
        "cgroupsPerQOS": True,
        "enforceNodeAllocatable": ["pods"],
        "shutdownGracePeriod": "0s",
    }


def build_kube_proxy_config(
    spec: RealNodeSpec, kubeconfig: Path, healthz_port: int, metrics_port: int
) -> dict:
    """KubeProxyConfiguration: iptables mode, health and metrics on loopback, NodePorts only on
    the gateway address, no conntrack sysctl changes (the VM refuses some)."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "mode": "iptables",
        "hostnameOverride": spec.name,
        "clusterCIDR": spec.subnet,
        "bindAddress": "127.0.0.1",
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "nodePortAddresses": [f"{spec.gateway}/32"],
        "conntrack": {"maxPerCore": 0, "min": 0},
        "iptables": {"masqueradeAll": False, "localhostNodePorts": False, "syncPeriod": "5s"},
    }


def build_corefile(spec: RealNodeSpec, kubeconfig: Path, health_port: int, ready_port: int) -> str:
    """Cluster DNS on the gateway address. No ``forward``: names outside the cluster get no
    answer from upstream, because nothing here may dial a resolver beyond this machine."""
    return f""".:53 {{
    bind {spec.gateway}
    errors
    health 127.0.0.1:{health_port}
    ready 127.0.0.1:{ready_port}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
    cache 5
    loadbalance
}}
"""


def build_kube_router_args(spec: RealNodeSpec, kubeconfig: Path, service_cidr: str) -> list[str]:
    """kube-router as a NetworkPolicy enforcer only: no routing, no service proxy (kube-proxy
    does that), no CNI config of its own, no listening ports."""
    return [
        f"--kubeconfig={kubeconfig}",
        f"--hostname-override={spec.name}",
        "--run-firewall=true",
        "--run-router=false",
        "--run-service-proxy=false",
        "--run-loadbalancer=false",
        "--enable-cni=false",
        "--enable-ipv6=false",
        f"--service-cluster-ip-range={service_cidr}",
        "--health-port=0",
        "--metrics-port=0",
        "--iptables-sync-period=5s",
        "--v=1",
    ]


def build_kubernetes_endpoints(spec: RealNodeSpec) -> list[dict]:
    """Endpoints for the default ``kubernetes`` Service: the relay on the gateway.

    The API server runs with ``--endpoint-reconciler-type=none`` (it binds loopback, which
    Endpoints refuse), so the harness writes them; kube-proxy then sends 10.96.0.1:443 there.
    """
    port = {"name": "https", "port": spec.relay_port, "protocol": "TCP"}
    return [
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
            },
            "subsets": [{"addresses": [{"ip": spec.gateway}], "ports": [port]}],
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {
                    "kubernetes.io/service-name": "kubernetes",
                    "endpointslice.kubernetes.io/managed-by": "subnetes-harness",
                },
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [spec.gateway], "conditions": {"ready": True}}],
            "ports": [port],
        },
    ]


def forward_guard_rules(spec: RealNodeSpec) -> list[list[str]]:
    """iptables FORWARD rules (as argument lists after the chain name) that keep pod traffic on
    the bridge: nothing forwarded from the bridge to another interface or back."""
    return [
        ["-i", spec.bridge, "!", "-o", spec.bridge, "-j", "DROP"],
        ["!", "-i", spec.bridge, "-o", spec.bridge, "-j", "DROP"],
    ]


# ---- host edges -----------------------------------------------------------------------------


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=60)


def missing_prerequisites() -> list[str]:
    """Debian packages the real node needs and this machine lacks."""
    return [pkg for pkg, path in PREREQUISITES.items() if not os.access(path, os.X_OK)]


def setup_host_network(spec: RealNodeSpec, service_cidr: str) -> None:
    """Create the bridge with the gateway address, route the Service range into it, enable
    forwarding between bridge ports (and nowhere else), and let bridged traffic see iptables."""
    if _run("ip", "link", "show", spec.bridge, check=False).returncode != 0:
        _run("ip", "link", "add", spec.bridge, "type", "bridge")
    prefix = ipaddress.ip_network(spec.subnet).prefixlen
    addrs = _run("ip", "-o", "-4", "addr", "show", "dev", spec.bridge).stdout
    if f" {spec.gateway}/{prefix} " not in addrs:
        _run("ip", "addr", "add", f"{spec.gateway}/{prefix}", "dev", spec.bridge)
    _run("ip", "link", "set", spec.bridge, "up")
    # Host-originated traffic to a Service IP goes into the bridge, never to the uplink.
    _run("ip", "route", "replace", service_cidr, "dev", spec.bridge)
    # In mangle, which runs before filter: kube-router and kube-proxy put ACCEPT rules at the
    # top of filter FORWARD, and nothing they write may come before these.
    for rule in forward_guard_rules(spec):
        if _run("iptables", "-t", "mangle", "-C", "FORWARD", *rule, check=False).returncode:
            _run("iptables", "-t", "mangle", "-I", "FORWARD", "1", *rule)
    Path("/proc/sys/net/ipv4/ip_forward").write_text("1")
    nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if nf.exists():
        nf.write_text("1")


def teardown_host_network(spec: RealNodeSpec, service_cidr: str, bins: Path) -> None:
    """Undo ``setup_host_network`` and kube-proxy's and kube-router's rules and ipsets (best
    effort: used on ``down``)."""
    if (bins / "kube-proxy").exists():
        _run(str(bins / "kube-proxy"), "--cleanup", check=False)
    remove_kube_chains()  # kube-router's own cleanup leaves its filter chains behind
    for rule in forward_guard_rules(spec):
        _run("iptables", "-t", "mangle", "-D", "FORWARD", *rule, check=False)
    _run("ip", "route", "del", service_cidr, "dev", spec.bridge, check=False)
    _run("ip", "link", "del", spec.bridge, check=False)


def without_kube_rules(dump: str) -> str:
    """An ``iptables-save`` dump minus every chain, jump and rule of the node's Kubernetes
    components (all their chains are named KUBE-*)."""
    return "\n".join(line for line in dump.splitlines() if "KUBE-" not in line) + "\n"


def remove_kube_chains() -> None:
    """Remove the KUBE-* chains and rules from the filter, nat and mangle tables."""
    for table in ("filter", "nat", "mangle"):
        dump = _run("iptables-save", "-t", table, check=False).stdout
        if "KUBE-" in dump:
            subprocess.run(
                ["iptables-restore", "-T", table], input=without_kube_rules(dump), text=True,
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip


def kill_pod_processes() -> int:
    """Kill every process in the kubelet's pod cgroups (containers outlive containerd and
    kubelet, whose shims are separate processes); return how many were signalled."""
    killed = 0
    for hierarchy in ("pids", "memory", "cpu"):
        base = Path("/sys/fs/cgroup") / hierarchy / "kubepods"
        if not base.exists():
            continue
        for procs in base.rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                for line in procs.read_text().split():
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(line), signal.SIGKILL)
                        killed += 1
    return killed


def kill_shims(containerd_socket: Path) -> None:
    """Kill the runc shims this node's containerd started (found by their -address flag)."""
    needle = str(containerd_socket).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmdline.split(b"\0")[0] and needle in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def unmount_under(root: Path) -> None:
    """Unmount everything mounted below ``root`` (kubelet volumes, overlay rootfs, netns),
    deepest first, so the directory can be removed."""
    prefix = str(root.resolve()) + "/"
    mounts = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if target.startswith(prefix):
            mounts.append(target)
    for target in sorted(set(mounts), key=len, reverse=True):
        _run("umount", "-l", target, check=False)


def remove_cni_netns() -> None:
    """Remove the network namespaces containerd's CRI made for pods (cni-<uuid>)."""
    netns = Path("/var/run/netns")
    if not netns.exists():
        return
    for entry in netns.glob("cni-*"):
        _run("umount", "-l", str(entry), check=False)
        with contextlib.suppress(OSError):
            entry.unlink()


def import_image(ctr: str, socket: Path, archive: Path) -> None:
    """Import an OCI archive into the node's containerd (namespace k8s.io, where the CRI looks)."""
    _run(
        ctr, "--address", str(socket), "-n", "k8s.io", "images", "import", str(archive)
    )  # fmt: skip


def node_ready(kubectl: Callable[..., subprocess.CompletedProcess[str]], name: str) -> bool:
    """True once the node is registered and Ready (its runtime and CNI are up)."""
    out = kubectl(
        "get", "node", name, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"
    )
    return out.returncode == 0 and out.stdout.strip() == "True"


def write_json(path: Path, data: dict) -> Path:
    """Write a config file (JSON is valid YAML for the Kubernetes components)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path
