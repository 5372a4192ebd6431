"""Docs and docstrings name things that exist, and link nothing outside the repository.

Users get the repository alone: a link to ``../shared/...`` or a module name that was renamed
away sends a reader nowhere. Pure checks on the text (no imports of the packages).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The folders behind the import namespace (``subnetes.chain`` -> ``chain/``), from pyproject.
PACKAGE_DIRS: dict[str, Path] = {
    name: REPO / folder
    for name, folder in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ].items()
}
SKIP_PARTS = {".venv", ".git", "build", "dist", "node_modules", "__pycache__"}


def _files(*suffixes: str) -> list[Path]:
    return [
        p
        for p in REPO.rglob("*")
        if p.suffix in suffixes
        and p.is_file()
        and not SKIP_PARTS & set(p.relative_to(REPO).parts)
        and not p.relative_to(REPO).as_posix().startswith(("hack/tools/", "subnetes.egg-info/"))
    ]


def _module_file(dotted: str) -> Path | None:
    """The source file of module ``dotted`` (``subnetes.chain.block``), or None."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        root = PACKAGE_DIRS.get(".".join(parts[:i]))
        if root is None:
            continue
        rest = parts[i:]
        base = root.joinpath(*rest)
        for cand in (base.with_suffix(".py"), base / "__init__.py"):
            if rest and cand.is_file():
                return cand
        return root / "__init__.py" if not rest else None
    return None


def unresolved_names(text: str) -> list[str]:
    """``subnetes.<package>.<module>[.<name>...]`` references whose module file is missing, or
    whose trailing names the module's text never mentions."""
    packages = "|".join(re.escape(p.split(".", 1)[1]) for p in PACKAGE_DIRS if "." in p)
    bad = []
    for m in re.finditer(rf"\bsubnetes\.(?:{packages})(?:\.[A-Za-z_]\w*)+", text):
        parts = m.group(0).split(".")
        for i in range(len(parts), 1, -1):
            src = _module_file(".".join(parts[:i]))
            if src is not None:
                body = src.read_text()
                if not all(re.search(rf"\b{re.escape(a)}\b", body) for a in parts[i:]):
                    bad.append(m.group(0))
                break
        else:
            bad.append(m.group(0))
    return bad


def test_dotted_module_names_in_code_and_docs_exist() -> None:
    bad = {
        f"{p.relative_to(REPO)}: {name}"
        for p in _files(".py", ".md")
        if p != Path(__file__).resolve()  # this file's own counter-examples
        for name in unresolved_names(p.read_text(errors="replace"))
    }
    assert not bad, sorted(bad)


def test_file_names_in_docstrings_exist() -> None:
    """A ``name.py`` in a docstring or comment of the package code names a file of the repo."""
    existing = {p.name for p in _files(".py")}
    bad = []
    for root in {d for d in PACKAGE_DIRS.values()}:
        for p in root.rglob("*.py"):
            for m in re.finditer(r"``([\w/]+\.py)``", p.read_text()):
                if m.group(1).rsplit("/", 1)[-1] not in existing:
                    bad.append(f"{p.relative_to(REPO)}: {m.group(1)}")
    assert not bad, bad


def test_markdown_links_stay_inside_the_repository() -> None:
    """Relative links of README.md and docs/ resolve to a file or folder of the repository."""
    bad = []
    for md in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        for m in re.finditer(r"\]\(([^)\s]+)\)", md.read_text()):
            target = m.group(1).split("#", 1)[0]
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # an anchor in the page, or an absolute URL
            path = (md.parent / target).resolve()
            if not path.is_relative_to(REPO) or not path.exists():
                bad.append(f"{md.relative_to(REPO)}: {m.group(1)}")
    assert not bad, bad


def test_unresolved_names_catches_a_renamed_module() -> None:
    assert unresolved_names("``subnetes.sdk.chain_http`` and ``subnetes.chain.block``") == [
        "subnetes.sdk.chain_http"
    ]
    assert unresolved_names("subnetes.chain.block.produce_block") == []
    assert unresolved_names("subnetes.chain.block.no_such_function") == [
        "subnetes.chain.block.no_such_function"
    ]


# A spec or design page named in code or docs: ``specs/x.md`` or ``DESIGN.md``.
SPEC_REFERENCE = re.compile(r"(?<![\w/.])((?:[\w.]+/)*(?:specs/[\w-]+\.md|DESIGN\.md))")


def unresolved_spec_references(text: str) -> list[str]:
    """Spec/design page names in ``text`` that are not a file of the repository's docs/ folder."""
    bad = []
    for m in SPEC_REFERENCE.finditer(text):
        name = m.group(1)
        rel = name if name.startswith("docs/") else f"docs/{name}"
        if name.startswith(("../", "shared/")) or not (REPO / rel).is_file():
            bad.append(name)
    return bad


def test_spec_pages_named_in_code_and_docs_are_in_the_repository() -> None:
    """The design decisions live in docs/specs/; naming a page users do not get is a dead end."""
    bad = {
        f"{p.relative_to(REPO)}: {name}"
        for p in _files(".py", ".md")
        if p != Path(__file__).resolve()
        for name in unresolved_spec_references(p.read_text(errors="replace"))
    }
    assert not bad, sorted(bad)


def test_unresolved_spec_references_catches_outside_pages() -> None:
    assert unresolved_spec_references("see shared/specs/yuma.md and DESIGN.md") == [
        "shared/specs/yuma.md",
        "DESIGN.md",
    ]
    assert unresolved_spec_references("see docs/specs/yuma.md or specs/chain.md") == []
