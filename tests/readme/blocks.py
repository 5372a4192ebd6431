"""The shell blocks of the README and the docs, as data (pure: no processes, no cluster).

A block is a fenced code block tagged ``sh``, ``bash``, ``shell`` or ``console``. Its key names
the page, the section it sits under and its place there (``README.md#by-hand-the-kubectl-session/0``)
so a table can say, block by block, which test runs it or why none does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHELL_TAGS = frozenset({"sh", "bash", "shell", "console"})
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# A trailing `&` (before an optional comment) starts a command in the background.
BACKGROUND = re.compile(r"^(?P<cmd>.*?[^&|])\s*&\s*(?:#.*)?$")


@dataclass(frozen=True)
class Block:
    """One shell block: ``page`` (relative to the repository), its ``section`` slug, its index
    among the section's shell blocks, the line its text starts on, and the text."""

    page: str
    section: str
    index: int
    line: int
    text: str

    @property
    def key(self) -> str:
        return f"{self.page}#{self.section}/{self.index}"


@dataclass(frozen=True)
class Command:
    """One command of a block: continuation lines joined; ``background`` when it ends in ``&``
    (``text`` is then the command without it)."""

    text: str
    background: bool = False

    @property
    def is_export(self) -> bool:
        return self.text.startswith("export ")

    @property
    def is_watch(self) -> bool:
        return bool(re.search(r"\s(-w|--watch)(\s|$)", _code(self.text)))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def shell_blocks(page: Path, repo: Path) -> list[Block]:
    """The shell blocks of one Markdown page, in order."""
    rel = page.relative_to(repo).as_posix()
    blocks: list[Block] = []
    section, counts = "", dict[str, int]()
    fence: str | None = None
    tag, start, body = "", 0, list[str]()
    for n, line in enumerate(page.read_text().splitlines(), start=1):
        if fence is None:
            m = FENCE.match(line)
            if m:
                fence, tag, start, body = m.group(1), m.group(2).lower(), n + 1, []
                continue
            h = HEADING.match(line)
            if h:
                section = slug(h.group(2))
            continue
        if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            if tag in SHELL_TAGS:
                index = counts.get(section, 0)
                counts[section] = index + 1
                blocks.append(Block(rel, section, index, start, "\n".join(body)))
            fence = None
            continue
        body.append(line)
    return blocks


def pages(repo: Path) -> list[Path]:
    """The pages users read: README.md and docs/ (specs included)."""
    return [repo / "README.md", *sorted((repo / "docs").rglob("*.md"))]


def all_blocks(repo: Path) -> list[Block]:
    """Every shell block of every page users read."""
    return [b for p in pages(repo) for b in shell_blocks(p, repo)]


def _code(line: str) -> str:
    """``line`` without a trailing comment (a ``#`` that starts a word outside quotes)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
        elif ch == "\\":
            continue
    return line.rstrip()


def commands(text: str) -> list[Command]:
    """The commands of a block's text: comment-only and blank lines dropped, ``\\``
    continuations joined, a trailing ``&`` marking a background command."""
    out: list[Command] = []
    pending = ""
    for raw in text.splitlines():
        code = _code(raw)
        if not pending and not code.strip():
            continue
        if code.endswith("\\"):
            pending += code[:-1].rstrip() + " "
            continue
        line = (pending + code.strip()).strip()
        pending = ""
        m = BACKGROUND.match(line)
        out.append(Command(m.group("cmd").strip(), True) if m else Command(line))
    if pending.strip():
        out.append(Command(pending.strip()))
    return out
