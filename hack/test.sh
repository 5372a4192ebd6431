#!/usr/bin/env bash
# The README's test command: sets everything up, then runs every test.
# The control plane builds in the background while the pure-Python tests run; then the
# cluster tests run against it. A cluster that cannot be built or started fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
logs="${TMPDIR:-/tmp}/subnetes-test-logs"
mkdir -p "$logs"

bash hack/setup.sh
started=$(date +%s)
bash hack/build-control-plane.sh > "$logs/build.log" 2>&1 &
build_pid=$!

status=0
.venv/bin/pytest -m "not cluster" "$@" || status=$?

if ! wait "$build_pid"; then
  echo "error: building the control plane failed; last lines of $logs/build.log:" >&2
  tail -n 40 "$logs/build.log" >&2
  exit 1
fi
echo "control plane built in $(( $(date +%s) - started ))s (from the start of the tests)"
.venv/bin/pytest -m cluster "$@" || status=$?
exit "$status"
