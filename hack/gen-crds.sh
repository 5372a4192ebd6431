#!/usr/bin/env bash
# Regenerate crds/*.yaml from operator/crds/ (the one source of truth); `--check` only verifies.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec .venv/bin/python -m subnetes.operator.crds "$@"
