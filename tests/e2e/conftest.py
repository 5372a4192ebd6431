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

from subnetes.localnet.cluster import REAL_NODE_KWOK_NODES, LocalCluster, real_node_cluster
from subnetes.localnet.image import build_images


@pytest.fixture(scope="session")
def images() -> dict[str, Path]:
    """The pause and product images, built (cached): name -> OCI archive."""
    return build_images()


@pytest.fixture(scope="session")
def real_cluster(images: dict[str, Path]) -> Iterator[LocalCluster]:
    """The e2e cluster: kwok GPU nodes (scheduled, not run) plus one real CPU node."""
    cluster = real_node_cluster(images=images)
    was_up = cluster.is_up()
    cluster.up(timeout=300, nodes=REAL_NODE_KWOK_NODES)
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
