#!/usr/bin/env bash
# Stop exactly the control-plane processes that cluster-up started (by PID).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec .venv/bin/python -m subnetes.localnet.cluster down "$@"
