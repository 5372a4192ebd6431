"""CI lints: ``make test`` (hack/test.sh, what CI runs) runs ruff's checks before any test."""

from __future__ import annotations

from pathlib import Path

TEST_SH = Path(__file__).resolve().parents[1] / "hack" / "test.sh"


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
