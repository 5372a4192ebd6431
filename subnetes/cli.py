"""The ``subnetes`` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``subnetes`` command."""
    import click

    from subnetes.chain.cli import register_commands

    argv = list(sys.argv[1:] if argv is None else argv)
    root = click.Group("subnetes", help="Subnetes: Bittensor-style subnets on Kubernetes.")
    register_commands(root)
    try:
        root.main(args=argv, prog_name="subnetes", standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
