"""``python -m subnetes.operator [kopf run options]``: run the operator.

Equivalent to ``kopf run -m subnetes.operator.handlers --liveness http://127.0.0.1:8080/healthz``
plus the given options (e.g. ``--standalone -n my-namespace``, or ``-A`` for all namespaces).
"""

from __future__ import annotations

import sys

from kopf.cli import main as kopf_main


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a.startswith("--liveness") for a in args):
        args += ["--liveness", "http://127.0.0.1:8080/healthz"]
    kopf_main(["run", "-m", "subnetes.operator.handlers", *args], prog_name="subnetes-operator")


if __name__ == "__main__":
    main()
