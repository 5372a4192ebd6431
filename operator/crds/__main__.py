"""``python -m subnetes.operator.crds [--check] [--out DIR]``: write or check crds/*.yaml and
the subnet chart's values schema derived from them (charts/subnet/values.schema.json)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .chart_values import render_values_schema
from .render import stale_files, write

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_SCHEMA = REPO_ROOT / "charts" / "subnet" / "values.schema.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m subnetes.operator.crds", description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "crds", help="output folder")
    parser.add_argument(
        "--chart-schema",
        type=Path,
        default=CHART_SCHEMA,
        help="the subnet chart's values.schema.json",
    )
    parser.add_argument(
        "--check", action="store_true", help="only report stale files; exit 1 if any"
    )
    args = parser.parse_args(argv)
    schema = render_values_schema()
    schema_stale = not args.chart_schema.is_file() or args.chart_schema.read_text() != schema
    if args.check:
        stale = [str(args.out / name) for name in stale_files(args.out)]
        stale += [str(args.chart_schema)] if schema_stale else []
        for path in stale:
            print(f"stale: {path} (run hack/gen-crds.sh)", file=sys.stderr)
        return 1 if stale else 0
    for name in write(args.out):
        print(f"wrote {args.out / name}")
    if schema_stale:
        args.chart_schema.write_text(schema)
        print(f"wrote {args.chart_schema}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
