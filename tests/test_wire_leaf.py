"""The wire package is a leaf: it never imports the rest of Subnetes (issue 12)."""

from __future__ import annotations

import ast
from pathlib import Path

WIRE = Path(__file__).resolve().parents[1] / "wire"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_wire_imports_only_itself_and_libraries() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in WIRE.glob("*.py")
        for name in _imported_modules(path)
        if name.startswith("subnetes") and not name.startswith("subnetes.wire")
    }
    assert not offenders, f"wire/ must stay a leaf, but imports {sorted(offenders)}"
