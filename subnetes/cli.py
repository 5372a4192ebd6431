"""The ``subnetes`` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``subnetes`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    print("subnetes: no commands yet", file=sys.stderr)
    return 2
