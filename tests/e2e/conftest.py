"""End-to-end fixtures: a local cluster with a REAL node (kubelet, containerd, runc, CNI,
kube-proxy, CoreDNS) next to kwok GPU nodes, with the product image built here and imported.

Never skipped: a missing prerequisite (a Debian package, a binary, an image) fails the run with
a message that says what to install. Every test under tests/e2e is marked ``e2e``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from subnetes.localnet.cluster import DEFAULT_NODES, LocalCluster, cache_dir
from subnetes.localnet.node import RealNodeSpec

E2E_CLUSTER_DIR = cache_dir() / "e2e-cluster"
# Admission plugins a hardened cluster enables: the chart's RBAC must satisfy them.
ADMISSION_PLUGINS = ("OwnerReferencesPermissionEnforcement", "NodeRestriction")


def build_images() -> dict[str, Path]:
    """Build (cached) the pause and product images; return name -> OCI archive."""
    from subnetes.localnet.image import build_images as build

    return build()


@pytest.fixture(scope="session")
def images() -> dict[str, Path]:
    return build_images()


@pytest.fixture(scope="session")
def real_cluster(images: dict[str, Path]) -> Iterator[LocalCluster]:
    """The e2e cluster: kwok GPU nodes (scheduled, not run) plus one real CPU node."""
    pause = next(name for name in images if "pause" in name)
    cluster = LocalCluster(
        root=E2E_CLUSTER_DIR,
        real_node=RealNodeSpec(),
        images=tuple(images.values()),
        sandbox_image=pause,
        admission_plugins=ADMISSION_PLUGINS,
    )
    was_up = cluster.is_up()
    cluster.up(timeout=300, nodes=tuple(n for n in DEFAULT_NODES if n.gpus))
    if was_up:
        cluster.import_images()  # a rebuilt image replaces the one a previous run imported
    yield cluster
    if not was_up and os.environ.get("CI") == "true":
        cluster.down()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
