#!/usr/bin/env bash
# Check the README's prerequisites before any long work (issue 14 #2): `bash hack/prereqs.sh demo`
# (make demo) or `bash hack/prereqs.sh test` (make test: also the real node, PostgreSQL and
# Chromium). A missing one stops the run with one line naming it and the command that installs
# it. The Debian package list here, .ci/run and the README's list agree
# (tests/test_hack_scripts.py).
# PREREQ_ROOT prefixes the system paths checked (tests point it at a fake root); PREREQ_UID
# stands in for `id -u`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
mode=${1:-test}
root=${PREREQ_ROOT:-}

missing=()   # "what (why)" for the message
packages=()  # Debian packages that provide them

need_file() {  # need_file PACKAGE PATH WHY [EXTRA_PACKAGES...]: PATH must be executable
  local pkg=$1 path=$2 why=$3
  shift 3
  if [ ! -x "$root$path" ]; then
    missing+=("$pkg ($why)")
    packages+=("$pkg" "$@")
  fi
}

# Python >= 3.11 with venv (Debian splits venv/ensurepip into python3-venv).
if ! command -v python3 > /dev/null; then
  missing+=("python3 (>= 3.11)")
  packages+=(python3 python3-venv)
elif ! python3 -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2> /dev/null; then
  missing+=("python3 >= 3.11 with venv (found $(python3 --version 2>&1))")
  packages+=(python3 python3-venv)
fi

# Go builds the control plane once; with every pinned binary cached it is not needed.
cached=1
for b in etcd kwok helm coredns kube-router kube-apiserver kube-controller-manager \
  kube-scheduler kubectl kubelet kube-proxy; do
  [ -x "$BIN_DIR/$b" ] || cached=0
done
# make test also builds Flux's controllers (tests/gitops/test_flux_live.py).
if [ "$mode" = test ]; then
  for b in source-controller kustomize-controller helm-controller; do
    [ -x "$BIN_DIR/$b" ] || cached=0
  done
fi
go_hint=""
if [ "$cached" = 0 ]; then
  go_minor=$( (go env GOVERSION 2> /dev/null || true) | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
  if [ -z "$go_minor" ] || [ "$go_minor" -lt 26 ]; then
    missing+=("go >= 1.26 (builds the control plane once; found: $(go env GOVERSION 2> /dev/null || echo none))")
    go_hint="; Go from https://go.dev/dl/ (Debian's golang package is older)"
  fi
fi

need_file openssl /usr/bin/openssl "the local cluster's certificates"

if [ "$mode" = test ]; then
  # The e2e suite runs a real kubelet node (PREREQ_UID: tests simulate a user).
  if [ "${PREREQ_UID:-$(id -u)}" != 0 ]; then
    missing+=("root (the end-to-end suite runs a real kubelet node: sudo make test)")
  fi
  # PostgreSQL's server binaries: the chain storage tests run on both SQLite and PostgreSQL.
  if [ -z "${SUBNETES_PG_BINDIR:-}" ] && ! compgen -G "$root/usr/lib/postgresql/*/bin/initdb" > /dev/null; then
    missing+=("postgresql (the chain storage tests)")
    packages+=(postgresql)
  fi
  if [ ! -x "${SUBNETES_CHROMIUM:-$root/usr/bin/chromium}" ]; then
    missing+=("chromium (the dashboard browser test)")
    packages+=(chromium fonts-dejavu-core)
  fi
  # The end-to-end suite's real node and the image build (localnet/node.py PREREQUISITES).
  need_file containerd /usr/bin/containerd "the real node's container runtime"
  need_file runc /usr/sbin/runc "the real node's container runtime"
  need_file containernetworking-plugins /usr/lib/cni/bridge "the real node's pod network"
  need_file iptables /usr/sbin/iptables "kube-proxy on the real node"
  need_file conntrack /usr/sbin/conntrack "kube-proxy on the real node"
  need_file socat /usr/bin/socat "the real node's API relay"
  need_file ipset /usr/sbin/ipset "kube-router's network policies"
  need_file mmdebstrap /usr/bin/mmdebstrap "the image build"
fi

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "${PREREQ_UID:-$(id -u)}" = 0 ] || sudo="sudo "
  install=""
  if [ ${#packages[@]} -gt 0 ]; then
    install="; install: ${sudo}apt-get install -y --no-install-recommends ${packages[*]}"
  fi
  what=$(printf '%s, ' "${missing[@]}")
  echo "error: make $mode needs: ${what%, }${install}${go_hint} (see the README's prerequisites)" >&2
  exit 1
fi
