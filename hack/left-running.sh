#!/usr/bin/env bash
# Say which local control planes are still running and how to stop them (issue 14 #2).
# hack/test.sh runs this when it ends: outside CI the test fixtures leave the clusters up on
# purpose (the next run reuses them; tests/conftest.py, tests/e2e/conftest.py), so say so.
# PYTHON: the interpreter with subnetes installed (default .venv/bin/python).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=${PYTHON:-.venv/bin/python}
[ -x "$py" ] || exit 0  # setup never ran: nothing can have been started
cmd="python -m subnetes.localnet.cluster"
for flag in "" --real-node; do
  # shellcheck disable=SC2086  # $flag is empty or one word
  if "$py" -m subnetes.localnet.cluster status $flag > /dev/null 2>&1; then
    what="the local control plane"
    [ -z "$flag" ] || what="the real-node cluster (as root)"
    echo "note: $what is left running for the next run to reuse;" \
      "stop it: .venv/bin/$cmd down${flag:+ $flag}"
  fi
done
exit 0
