#!/usr/bin/env bash
# Regenerate the image lock files from pyproject.toml's runtime dependencies:
#   requirements.lock       the CPU image (Dockerfile and hack/build-images.sh)
#   requirements-cuda.lock  the Dockerfile's VARIANT=cuda image (adds the `gpu` extra),
#                           constrained to the CPU lock so both images share every common pin.
# Exact versions with every artifact's sha256, for CPython 3.11 (Debian bookworm's python3) on
# linux x86_64 (glibc 2.36), wheels only. Run it after changing pyproject.toml's dependencies
# (tests/localnet/test_image_lock.py fails until you do). Optional: UPGRADE=1 moves every pin
# to the newest allowed version; otherwise pins already in the lock are kept where possible.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV_VERSION=0.13.8
cache="${SUBNETES_CACHE:-$HOME/.cache/subnetes}"
uv_env="$cache/tools/uv-$UV_VERSION"
if [ ! -x "$uv_env/bin/uv" ]; then
  python3 -m venv "$uv_env"
  "$uv_env/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
upgrade=()
[ "${UPGRADE:-0}" = 1 ] && upgrade=(--upgrade)
compile() {  # compile OUTPUT [uv pip compile args...]
  local out=$1
  shift
  "$uv_env/bin/uv" pip compile pyproject.toml --quiet \
    --python-version 3.11 --python-platform x86_64-manylinux_2_36 \
    --only-binary :all: --generate-hashes --no-strip-extras \
    --custom-compile-command "bash hack/lock-deps.sh" \
    --cache-dir "$cache/uv" "${upgrade[@]}" -o "$out" "$@"
}
compile requirements.lock
compile requirements-cuda.lock --extra gpu -c requirements.lock
echo "locked: $(grep -c '^[A-Za-z0-9]' requirements.lock) packages in requirements.lock," \
  "$(grep -c '^[A-Za-z0-9]' requirements-cuda.lock) in requirements-cuda.lock"
