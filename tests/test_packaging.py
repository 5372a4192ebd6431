"""The wheel ships every subpackage: pyproject's explicit package list matches the tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
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
    # A data-only package (static files, no __init__.py) is listed with its package-data.
    data_only = set(tool.get("package-data", {}))
    assert not sorted(listed - found - data_only), "pyproject lists packages that do not exist"


def test_wheel_builds_without_warnings_and_ships_the_dashboard(tmp_path: Path) -> None:
    """Issue 14 #2: `make setup` printed a long setuptools warning (the dashboard folder was not
    in the packages list). Build the wheel offline with the venv's setuptools, from a copy of
    the sources (an in-tree build would write build/ into the shared tree)."""
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in set(tool["package-dir"].values()):
        shutil.copytree(REPO / folder, src / folder, ignore=skip)
    out = tmp_path / "dist"
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=120,
        cwd=tmp_path,  # not the repo: its operator/ folder would shadow the stdlib's operator
    )  # fmt: skip
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    assert "warning" not in log.lower(), log
    (wheel,) = out.glob("subnetes-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in ("index.html", "app.js", "style.css"):
        assert f"subnetes/chain/dashboard/{asset}" in names, sorted(names)
        assert f"subnetes/gateway/dashboard/{asset}" in names, sorted(names)  # the router's
    assert "subnetes/chain/dashboard.py" in names
    # Issue 18 #3: the chain upgrades its schema from the installed package (no source tree).
    for script in ("env.py", "script.py.mako", "versions/0001_initial.py"):
        assert f"subnetes/chain/migrations/{script}" in names, sorted(names)


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
