#!/usr/bin/env bash
# Create .venv and install subnetes (editable) with its test extras. Idempotent: skips
# pip when pyproject.toml has not changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: Python >= 3.11 is required (found $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.subnetes-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # pip's and setuptools' chatter (e.g. the editable-install notice) goes to a log; a failure
  # shows its tail (issue 14 #2: a first run starts with no warnings).
  log=.venv/pip-install.log
  echo "installing subnetes and its test extras into .venv (log: $log)"
  if ! { .venv/bin/pip install --quiet --upgrade pip \
    && .venv/bin/pip install --quiet -e '.[test]'; } > "$log" 2>&1; then
    echo "error: pip install failed; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
