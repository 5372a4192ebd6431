#!/usr/bin/env bash
# Type-check the installed package with mypy (settings: pyproject.toml [tool.mypy]).
# hack/typecheck.py lays out subnetes.* as setuptools maps it (chain/ -> subnetes.chain, ...)
# under build/typecheck/, because type checkers cannot follow the editable install's import hook.
# Extra arguments go to mypy. Its cache in ~/.cache/subnetes/mypy makes a warm run take seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec .venv/bin/python hack/typecheck.py "$@"
