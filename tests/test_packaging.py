"""The wheel ships every subpackage: pyproject's explicit package list matches the tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_python_package_folder_is_listed_in_pyproject() -> None:
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(tool["packages"])
    found = set()
    for package, folder in tool["package-dir"].items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            found.add(".".join([package, *rel.parts]))
    missing = sorted(found - listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert not sorted(listed - found), "pyproject lists packages that do not exist"


# Distribution name -> the module our code would import (where the two differ).
IMPORT_NAMES = {
    "pyyaml": "yaml",
    "bittensor-wallet": "bittensor_wallet",
    "prometheus-client": "prometheus_client",
    "opentelemetry-sdk": "opentelemetry.sdk",
    "opentelemetry-exporter-otlp-proto-http": "opentelemetry.exporter.otlp.proto.http",
    "kubernetes-asyncio": "kubernetes_asyncio",
}


def _runtime_dependencies() -> list[tuple[str, bool]]:
    """(distribution name, has a comment line just above it) for each runtime dependency."""
    text = (REPO / "pyproject.toml").read_text()
    block = text.split("\ndependencies = [\n", 1)[1].split("\n]", 1)[0].splitlines()
    out = []
    for i, line in enumerate(block):
        line = line.strip()
        if line.startswith('"'):
            name = line.strip('",').split("[")[0]
            for op in (">", "<", "=", "!", "~"):
                name = name.split(op)[0]
            out.append((name, i > 0 and block[i - 1].strip().startswith("#")))
    return out


def test_every_runtime_dependency_is_used_or_explained() -> None:
    """A runtime dependency nothing imports is dead weight in every image, unless it says why."""
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    sources = "\n".join(
        p.read_text()
        for folder in set(tool["package-dir"].values())
        for p in (REPO / folder).rglob("*.py")
    )
    unused = []
    for dist, explained in _runtime_dependencies():
        module = IMPORT_NAMES.get(dist, dist.replace("-", "_"))
        used = f"import {module}" in sources or f"from {module}" in sources
        # SQLAlchemy loads a driver by URL scheme (postgresql+psycopg://), not by import.
        used = used or f"+{module}://" in sources
        if not used and not explained:
            unused.append(dist)
    assert not unused, (
        f"runtime dependencies nothing imports (move to an extra or explain): {unused}"
    )
