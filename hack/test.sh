#!/usr/bin/env bash
# The README's test command: sets everything up, then runs every test.
# The control plane and the images build in the background while the pure-Python tests run;
# then the cluster tests run against it, then the end-to-end tests on a real node. A cluster
# that cannot be built or started, or a missing prerequisite, fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
logs="${TMPDIR:-/tmp}/subnetes-test-logs"
mkdir -p "$logs"

# A missing prerequisite (README) stops the run here, in one line, before any long work.
bash hack/prereqs.sh test
bash hack/setup.sh
# Argo CD's and Flux's CRDs (from their Go modules, cached) for the pure schema tests of
# examples/gitops: seconds, and a proxy that cannot be reached stops the run here.
bash hack/fetch-gitops-crds.sh argocd > /dev/null
bash hack/fetch-gitops-crds.sh flux > /dev/null
# However the run ends: say which control planes the tests left running, and how to stop them.
trap 'bash hack/left-running.sh' EXIT

# Lint and type-check first, as `make lint` does (issue 12 #7): a failure fails the run at once.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
bash hack/typecheck.sh

started=$(date +%s)
echo "building the control plane and the images in the background while the pure tests run" \
  "(first time only, ~20 min; progress: $logs/build.log, $logs/images.log)"
# promtool (Prometheus's rule checker, for the alert-rule and dashboard tests) and Flux's
# controllers (tests/gitops/test_flux_live.py) only the tests need, not the demo or cluster-up:
# built here after the default set, before the cluster tests.
{ bash hack/build-control-plane.sh && bash hack/build-control-plane.sh promtool flux; } \
  > "$logs/build.log" 2>&1 &
build_pid=$!
# The real node's images (Debian root filesystem, locked wheels, pause) build at the same time.
bash hack/build-images.sh > "$logs/images.log" 2>&1 &
images_pid=$!

status=0
.venv/bin/pytest -m "not cluster and not e2e" "$@" || status=$?

await_build() {  # await_build WHAT PID LOG: a failed background build fails the run loudly
  if ! wait "$2"; then
    echo "error: building $1 failed; last lines of $3:" >&2
    tail -n 40 "$3" >&2
    exit 1
  fi
  echo "$1 built in $(( $(date +%s) - started ))s (from the start of the tests)"
}

await_build "the control plane" "$build_pid" "$logs/build.log"
.venv/bin/pytest -m "cluster and not e2e" "$@" || status=$?

await_build "the images" "$images_pid" "$logs/images.log"
# End to end on the real node: the charts' pods in real containers.
.venv/bin/pytest -m e2e "$@" || status=$?
exit "$status"
