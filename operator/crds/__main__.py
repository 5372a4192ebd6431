"""``python -m subnetes.operator.crds [--check] [--out DIR]``: write or check crds/*.yaml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .render import stale_files, write

REPO_ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m subnetes.operator.crds", description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "crds", help="output folder")
    parser.add_argument(
        "--check", action="store_true", help="only report stale files; exit 1 if any"
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.out)
        for name in stale:
            print(f"stale: {args.out / name} (run hack/gen-crds.sh)", file=sys.stderr)
        return 1 if stale else 0
    for name in write(args.out):
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
