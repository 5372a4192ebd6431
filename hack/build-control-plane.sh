#!/usr/bin/env bash
# Build the upstream control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok, helm) and the real node's kubelet, kube-proxy, CoreDNS and
# kube-router from Go modules, through the module proxy.
# Each tool is cached under $SUBNETES_CACHE/bin/<tool>-<version>/; a tool is rebuilt
# only when its pin (hack/versions.sh or its wrapper go.mod) changes.
# The stable names in $BIN_DIR/ are symlinks to the pinned builds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$BIN_DIR"

log() { echo "[build-control-plane] $*" >&2; }

# key = version + hash of the wrapper module, so a go.mod edit also rebuilds.
wrapper_key() { cat "$here/tools/$1/go.mod" "$here/tools/$1/go.sum" | sha256sum | cut -c1-12; }

link() {  # link NAME DIR
  ln -sfn "$2/$1" "$BIN_DIR/$1"
}

build_k8s() {
  local out="$SUBNETES_CACHE/k8s-$K8S_VERSION-$(wrapper_key k8s)"
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)
  if [ ! -x "$out/kube-proxy" ]; then
    log "building kubernetes $K8S_VERSION (cold: ~8-16 min on 2 cores)"
    local minor; minor=$(echo "$K8S_VERSION" | cut -d. -f2)
    local date; date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    local ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
      ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=$date"
    done
    mkdir -p "$out.tmp"
    (cd "$here/tools/k8s" && go build -trimpath -ldflags "$ld" -o "$out.tmp/" \
      "${bins[@]/#/k8s.io/kubernetes/cmd/}")
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
  for b in "${bins[@]}"; do link "$b" "$out"; done
}

build_etcd() {
  local out="$SUBNETES_CACHE/etcd-$ETCD_VERSION-$(wrapper_key etcd)"
  if [ ! -x "$out/etcd" ]; then
    log "building etcd $ETCD_VERSION"
    mkdir -p "$out.tmp"
    (cd "$here/tools/etcd" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3)
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
  link etcd "$out"
}

build_coredns() {  # cluster DNS for the real node's pods (wrapper module: a slim plugin set)
  local out="$SUBNETES_CACHE/coredns-$(wrapper_key coredns)"
  if [ ! -x "$out/coredns" ]; then
    log "building coredns ($(grep coredns/coredns "$here/tools/coredns/go.mod" | head -1 | xargs))"
    mkdir -p "$out.tmp"
    (cd "$here/tools/coredns" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/coredns" .)
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
  link coredns "$out"
}

build_go_install() {  # build_go_install NAME MODULE/cmd/X VERSION [LDFLAGS]
  local name=$1 pkg=$2 version=$3 ld=${4:-}
  local out; out="$SUBNETES_CACHE/$name-$version-$(echo "$ld" | sha256sum | cut -c1-8)"
  if [ ! -x "$out/$name" ]; then
    log "building $name $version"
    mkdir -p "$out.tmp"
    GOBIN="$out.tmp" GOFLAGS= go install -trimpath -ldflags "-s -w $ld" "$pkg@$version"
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
  link "$name" "$out"
}

build_kwok() { build_go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION"; }
# NetworkPolicy enforcement on the real node (firewall mode only).
build_kube_router() {
  build_go_install kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$KUBE_ROUTER_VERSION"
}
build_helm() {
  # Stamp the Kubernetes version helm assumes offline (`helm template`), else it is v1.20.
  local minor; minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  build_go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" \
    "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(etcd kwok helm coredns kube_router k8s)
start=$(date +%s)
for t in "${tools[@]}"; do "build_$t"; done
log "done in $(( $(date +%s) - start ))s: $(ls "$BIN_DIR" | tr '\n' ' ')"
