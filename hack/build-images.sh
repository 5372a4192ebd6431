#!/usr/bin/env bash
# Build the product image (localhost/subnetes:dev) and the pod sandbox image
# (localhost/subnetes/pause:3.10) as OCI archives, without Docker or a registry, for
# `ctr -n k8s.io images import` on the local real node. See docs/images.md.
#
# Output contract: one line per image on stdout, "<image name> <archive path>"; progress
# on stderr. Idempotent and cached under ${SUBNETES_CACHE:-~/.cache/subnetes}/images: the base
# layer (Debian + Python + requirements.lock) rebuilds only when the lock or the package list
# changes (minutes; needs root, mmdebstrap and Debian's mirror), the app layer when the
# sources change (seconds). Options: --product-name, --pause-name, --cache-dir, --json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x .venv/bin/python ] || bash hack/setup.sh >&2
exec .venv/bin/python -m subnetes.localnet.image "$@"
