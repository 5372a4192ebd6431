"""Type-check the package as it is installed: ``subnetes.*`` laid out the way setuptools maps it.

pyproject.toml maps ``subnetes.chain`` onto ``chain/``, ``subnetes.operator`` onto ``operator/``
and so on, and the dev install is an editable import hook that type checkers cannot follow. A
wheel build per run would be slow and needs a recent setuptools; instead this lays out the
installed tree as symbolic links to the sources under build/typecheck/ (from the same
``[tool.setuptools]`` tables the wheel is built from), runs mypy on it with the venv's
site-packages for third-party types, and prints each error at its source path (``chain/x.py``,
not ``build/typecheck/subnetes/chain/x.py``) so an editor can jump to it.

Usage: python hack/typecheck.py [mypy args...]; exits with mypy's status. mypy's cache lives in
$SUBNETES_CACHE/mypy (default ~/.cache/subnetes/mypy), beside the project's other build caches,
so it outlives a fresh checkout: a warm run takes seconds, a cold one about half a minute.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TREE = REPO / "build" / "typecheck"
CACHE = Path(os.environ.get("SUBNETES_CACHE", Path.home() / ".cache" / "subnetes")) / "mypy"


def package_sources(repo: Path = REPO) -> dict[str, Path]:
    """Each package in pyproject's ``[tool.setuptools] packages`` -> the folder it is built from.

    Follows setuptools' rule: the longest dotted prefix named in ``package-dir`` maps the package,
    the rest of the name is a path below that folder; an unmapped package is its own path.
    """
    setuptools_cfg = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]
    package_dir: dict[str, str] = setuptools_cfg.get("package-dir", {})
    sources = {}
    for package in setuptools_cfg["packages"]:
        parts = package.split(".")
        folder = repo.joinpath(*parts)
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in package_dir:
                folder = repo.joinpath(package_dir[prefix], *parts[cut:])
                break
        sources[package] = folder
    return sources


def build_tree(tree: Path = TREE, repo: Path = REPO) -> dict[Path, Path]:
    """Lay out the installed package under ``tree`` as links; returns link -> source file."""
    if tree.exists():
        shutil.rmtree(tree)
    links = {}
    for package, folder in package_sources(repo).items():
        target = tree.joinpath(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted(folder.glob("*.py")):
            link = target / source.name
            link.symlink_to(source)
            links[link] = source
    return links


def main(argv: list[str]) -> int:
    """Build the tree, run mypy on it and print its report with source paths."""
    TREE.parent.mkdir(parents=True, exist_ok=True)
    # One run at a time per checkout: a second run would rebuild the tree under the first.
    with (TREE.parent / ".typecheck.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _check(argv)


def _check(argv: list[str]) -> int:
    links = build_tree()
    # Longest link path first, so subnetes/operator/crds/x.py is not cut at subnetes/operator/.
    rewrites = sorted(
        ((os.path.relpath(link, REPO), os.path.relpath(src, REPO)) for link, src in links.items()),
        key=lambda pair: -len(pair[0]),
    )
    mypy = [sys.executable, "-m", "mypy", "--cache-dir", str(CACHE), *argv]
    done = subprocess.run(
        [*mypy, os.path.relpath(TREE / "subnetes", REPO)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in (done.stdout + done.stderr).splitlines():
        for link, src in rewrites:
            if line.startswith(link + ":"):
                line = src + line[len(link) :]
                break
        print(line)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
