#!/usr/bin/env bash
# Regenerate crds/*.yaml from operator/crds/ (the one source of truth) and copy them into the
# platform chart's crds/; `--check` only verifies crds/ is current.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/python -m subnetes.operator.crds "$@"
if [ "${1:-}" != "--check" ]; then
  cp crds/*.yaml charts/subnetes/crds/
fi
