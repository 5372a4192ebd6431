#!/usr/bin/env bash
# Build (once, cached) and start the local control plane; prints the KUBECONFIG to use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash hack/setup.sh
bash hack/build-control-plane.sh
exec .venv/bin/python -m subnetes.localnet.cluster up "$@"
