"""The real node's config builders: the network stays on the machine, cgroup v1 is allowed,
kwok keeps its hands off the real node, and every server binds where it should."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from subnetes.localnet import node as real
from subnetes.localnet.cluster import SERVICE_CIDR, LocalCluster

SPEC = real.RealNodeSpec()
PATHS = real.NodePaths(Path("/tmp/x/node"))


def test_gateway_is_first_host_of_the_pod_subnet() -> None:
    assert SPEC.gateway == "10.244.0.1"
    assert ipaddress.ip_address(SPEC.gateway) in ipaddress.ip_network(SPEC.subnet)


def test_cni_never_masquerades_and_gives_pods_no_default_route() -> None:
    conf = real.build_cni_conflist(SPEC, SERVICE_CIDR)
    bridge = conf["plugins"][0]
    assert bridge["type"] == "bridge"
    assert bridge["ipMasq"] is False
    assert bridge["isDefaultGateway"] is False
    routes = bridge["ipam"]["routes"]
    # Only the Service range is routed (via the gateway, where kube-proxy DNATs to pods).
    assert routes == [{"dst": SERVICE_CIDR}]
    assert all(r["dst"] not in ("0.0.0.0/0", "::/0") for r in routes)
    portmap = conf["plugins"][1]
    assert portmap["snat"] is False


def test_forward_guard_drops_everything_crossing_the_bridge_boundary() -> None:
    rules = real.forward_guard_rules(SPEC)
    assert ["-i", SPEC.bridge, "!", "-o", SPEC.bridge, "-j", "DROP"] in rules
    assert ["!", "-i", SPEC.bridge, "-o", SPEC.bridge, "-j", "DROP"] in rules


def test_kubelet_allows_cgroup_v1_uses_cgroupfs_and_no_host_dns() -> None:
    cfg = real.build_kubelet_config(SPEC, PATHS, Path("/ca.crt"), 10250, 10248)
    assert cfg["failCgroupV1"] is False
    assert cfg["cgroupDriver"] == "cgroupfs"
    assert cfg["containerRuntimeEndpoint"] == f"unix://{PATHS.containerd_socket}"
    assert cfg["resolvConf"] == ""  # pods never inherit the host's (outside) resolver
    assert cfg["clusterDNS"] == [SPEC.gateway]
    assert cfg["readOnlyPort"] == 0
    assert cfg["authentication"]["anonymous"]["enabled"] is False
    assert cfg["healthzBindAddress"] == "127.0.0.1"


def test_kube_proxy_binds_loopback_and_never_masquerades_all() -> None:
    cfg = real.build_kube_proxy_config(SPEC, Path("/kc"), 1, 2)
    assert cfg["healthzBindAddress"].startswith("127.0.0.1:")
    assert cfg["metricsBindAddress"].startswith("127.0.0.1:")
    assert cfg["iptables"]["masqueradeAll"] is False
    assert cfg["nodePortAddresses"] == [f"{SPEC.gateway}/32"]


def test_containerd_restricts_oom_score_and_uses_the_node_dirs() -> None:
    toml = real.build_containerd_config(PATHS, "localhost/subnetes/pause:3.10")
    assert "restrict_oom_score_adj = true" in toml
    assert 'sandbox_image = "localhost/subnetes/pause:3.10"' in toml
    assert f'conf_dir = "{PATHS.cni_conf_dir}"' in toml
    assert 'BinaryName = "/usr/sbin/runc"' in toml
    assert 'stream_server_address = "127.0.0.1"' in toml


def test_corefile_binds_gateway_and_forwards_nowhere() -> None:
    corefile = real.build_corefile(SPEC, Path("/kc"), 1, 2)
    assert f"bind {SPEC.gateway}" in corefile
    assert "forward" not in corefile
    assert "health 127.0.0.1:1" in corefile


def test_kubernetes_service_endpoints_point_at_the_relay() -> None:
    endpoints, endpoint_slice = real.build_kubernetes_endpoints(SPEC)
    assert endpoints["subsets"][0]["addresses"] == [{"ip": SPEC.gateway}]
    assert endpoints["subsets"][0]["ports"][0]["port"] == SPEC.relay_port
    assert endpoint_slice["metadata"]["labels"]["kubernetes.io/service-name"] == "kubernetes"
    assert endpoint_slice["endpoints"][0]["addresses"] == [SPEC.gateway]


def test_kwok_manages_only_annotated_fake_nodes() -> None:
    """kwok with --manage-all-nodes would take over the real kubelet's Node and its pods."""
    args = LocalCluster(root=Path("/tmp/x"))._kwok_args()
    assert "--manage-all-nodes=true" not in args
    assert "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake" in args


def test_real_node_adds_its_components_and_api_server_flags() -> None:
    plain = LocalCluster(root=Path("/tmp/x"))
    with_node = LocalCluster(root=Path("/tmp/x"), real_node=SPEC, admission_plugins=("A", "B"))
    assert set(with_node.components) - set(plain.components) == {
        "containerd", "apiserver-relay", "coredns", "kube-proxy", "kube-router", "kubelet",
    }  # fmt: skip
    state = {"ports": {"etcd": 1, "apiserver": 2}}
    args = with_node._apiserver_args(state)
    assert "--enable-admission-plugins=A,B" in args
    assert any(a.startswith("--kubelet-client-certificate=") for a in args)
    assert not any(a.startswith("--kubelet-client") for a in plain._apiserver_args(state))


def test_teardown_drops_only_the_kubernetes_chains() -> None:
    dump = "\n".join(
        [
            "*filter",
            ":INPUT ACCEPT [0:0]",
            ":KUBE-ROUTER-INPUT - [0:0]",
            "-A INPUT -m comment --comment x -j KUBE-ROUTER-INPUT",
            "-A INPUT -s 192.0.2.7/32 -j DROP",
            "-A KUBE-ROUTER-INPUT -j ACCEPT",
            "COMMIT",
        ]
    )
    kept = real.without_kube_rules(dump)
    assert "KUBE-" not in kept
    assert "-A INPUT -s 192.0.2.7/32 -j DROP" in kept
    assert kept.splitlines()[0] == "*filter" and kept.splitlines()[-1] == "COMMIT"
