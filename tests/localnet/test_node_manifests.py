"""Pure checks of the simulated node manifests (no cluster needed)."""

from __future__ import annotations

from subnetes.localnet.cluster import DEFAULT_NODES, NodeSpec, build_node_manifest


def test_gpu_node_advertises_gpus_with_gfd_labels_and_taint() -> None:
    node = build_node_manifest(NodeSpec("g", "gpu", gpus=4, gpu_product="NVIDIA-A100"))
    status, labels = node["status"], node["metadata"]["labels"]
    assert status["capacity"]["nvidia.com/gpu"] == "4"
    assert status["allocatable"] == status["capacity"]
    assert labels["nvidia.com/gpu.product"] == "NVIDIA-A100"
    assert labels["nvidia.com/gpu.count"] == "4"
    assert node["spec"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    ]


def test_cpu_node_has_no_gpu_and_no_taint() -> None:
    node = build_node_manifest(NodeSpec("c", "cpu"))
    assert "nvidia.com/gpu" not in node["status"]["capacity"]
    assert node["spec"]["taints"] == []
    assert node["metadata"]["labels"]["subnetes.io/pool"] == "cpu"


def test_default_pools_have_two_cpu_and_two_gpu_nodes() -> None:
    pools = [n.pool for n in DEFAULT_NODES]
    assert pools.count("cpu") == 2 and pools.count("gpu") == 2
    assert len({n.name for n in DEFAULT_NODES}) == len(DEFAULT_NODES)
