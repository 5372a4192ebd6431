#!/usr/bin/env bash
# The README's first command: a whole local network. Builds the control plane once (cached),
# then runs chain + operator + compute subnet with a live view (Ctrl-C stops it all).
# Extra arguments go to the demo (e.g. --headless --epochs 3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash hack/prereqs.sh demo
bash hack/setup.sh
# One line per tool: built (first time only, with its elapsed time) or cached.
bash hack/build-control-plane.sh
exec .venv/bin/python -m subnetes.localnet.demo "$@"
