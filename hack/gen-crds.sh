#!/usr/bin/env bash
# Regenerate what is derived from Python sources of truth: crds/*.yaml from operator/crds/,
# copied into the platform chart's crds/, and the chart's operator ClusterRole rules from
# operator/rbac.py. `--check` only verifies crds/ is current (tests check the chart copies).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/python -m subnetes.operator.crds "$@"
if [ "${1:-}" != "--check" ]; then
  cp crds/*.yaml charts/subnetes/crds/
  .venv/bin/python - <<'PY'
import yaml
from subnetes.operator.rbac import RULES
with open("charts/subnetes/files/operator-clusterrole-rules.yaml", "w") as f:
    f.write("# Generated from operator/rbac.py by hack/gen-crds.sh; do not edit.\n")
    yaml.safe_dump(RULES, f, sort_keys=False)
PY
fi
