"""CI lints: ``make test`` (hack/test.sh, what CI runs) runs ruff's checks and the type check
before any test."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
TEST_SH = REPO / "hack" / "test.sh"


def _commands() -> list[str]:
    lines = [ln.strip() for ln in TEST_SH.read_text().splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def test_test_sh_fails_on_the_first_failed_command() -> None:
    assert "set -euo pipefail" in _commands()


def test_ruff_check_and_format_run_before_the_tests() -> None:
    cmds = _commands()
    first_pytest = next(i for i, c in enumerate(cmds) if "pytest" in c)
    for lint in (".venv/bin/ruff check .", ".venv/bin/ruff format --check ."):
        assert lint in cmds, f"hack/test.sh does not run {lint!r}"
        assert cmds.index("bash hack/setup.sh") < cmds.index(lint) < first_pytest


def test_type_check_runs_before_the_tests() -> None:
    cmds = _commands()
    first_pytest = next(i for i, c in enumerate(cmds) if "pytest" in c)
    check = "bash hack/typecheck.sh"
    assert check in cmds, f"hack/test.sh does not run {check!r}"
    assert cmds.index(".venv/bin/ruff format --check .") < cmds.index(check) < first_pytest


def _typecheck_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("typecheck", REPO / "hack" / "typecheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_type_check_sees_the_installed_layout(tmp_path: Path) -> None:
    """mypy checks subnetes.* as setuptools installs it: every module of every package folder,
    at its import path (operator/crds/subnet.py as subnetes/operator/crds/subnet.py)."""
    links = _typecheck_module().build_tree(tmp_path, REPO)
    by_import_path = {link.relative_to(tmp_path).as_posix(): src for link, src in links.items()}
    assert by_import_path["subnetes/operator/crds/subnet.py"] == REPO / "operator/crds/subnet.py"
    assert by_import_path["subnetes/cli.py"] == REPO / "subnetes/cli.py"
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    sources = {
        py
        for folder in set(tool["package-dir"].values())
        for py in (REPO / folder).rglob("*.py")
        if (py.parent / "__init__.py").exists()
    }
    assert set(links.values()) == sources
    assert all(link.resolve() == src for link, src in links.items())
