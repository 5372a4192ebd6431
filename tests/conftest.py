"""Shared pytest fixtures: the real local control plane and a fresh namespace per test.

Cluster tests are never skipped in CI: if the control plane cannot be started, the
``cluster`` fixture errors, and a session in CI that skipped any ``cluster`` test fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from subnetes.localnet.cluster import LocalCluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    """The loopback control plane, started once per session (reused if already up).

    Outside CI it is left running for the next session (``make cluster-down`` stops it);
    parallel sessions share it, each test in its own namespace."""
    local = LocalCluster()
    was_up = local.is_up()
    local.up()
    os.environ["KUBECONFIG"] = str(local.kubeconfig)
    yield local
    if not was_up and os.environ.get("CI") == "true":
        local.down()


@pytest.fixture
def namespace(cluster: LocalCluster) -> Iterator[str]:
    """A fresh namespace whose default ServiceAccount exists, deleted after the test."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.kubectl("create", "namespace", name, check=True)
    cluster.kubectl(
        "wait", "--for=create", "serviceaccount/default", "-n", name, "--timeout=60s", check=True
    )
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI, a skipped cluster or e2e test is a failure, never a silent pass."""
    if os.environ.get("CI") != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = [
        r
        for r in (reporter.stats.get("skipped", []) if reporter else [])
        if {"cluster", "e2e"} & set(getattr(r, "keywords", {}))
    ]
    if skipped:
        names = ", ".join(r.nodeid for r in skipped)
        print(f"\nERROR: cluster or e2e tests were skipped in CI: {names}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
