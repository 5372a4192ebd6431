#!/usr/bin/env bash
# Build the upstream control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok, helm) and the real node's kubelet, kube-proxy, CoreDNS and
# kube-router from Go modules, through the module proxy.
# Each tool is cached under $SUBNETES_CACHE/bin/<tool>-<version>/; a tool is rebuilt
# only when its pin (hack/versions.sh or its wrapper go.mod) changes.
# The stable names in $BIN_DIR/ are symlinks to the pinned builds.
# Progress: one line per tool on stderr ("building X (first time only; cached in ...) ... 1m 2m
# done in 312 s"); go's own output (minutes of `go: downloading`) goes to a log per tool under
# $SUBNETES_CACHE/logs/, shown only when a build fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$BIN_DIR"

log() { echo "[build-control-plane] $*" >&2; }
LOG_DIR="$SUBNETES_CACHE/logs"
mkdir -p "$LOG_DIR"

# run_logged WHAT LOGNAME CMD...: run CMD with its output in $LOG_DIR/LOGNAME.log, printing one
# progress line: what is being built, a mark each minute, and the elapsed time when done.
# The marks matter: a cold build is many silent minutes on a small machine (issue 14 #2).
run_logged() {
  local what=$1 log_file="$LOG_DIR/$2.log" t0=$SECONDS pid marks=0
  shift 2
  printf '[build-control-plane] building %s (first time only; cached in %s) ... ' \
    "$what" "${BIN_DIR/#$HOME/\~}" >&2
  "$@" > "$log_file" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2> /dev/null; do
    sleep 1
    if (( (SECONDS - t0) / 60 > marks )); then
      marks=$(( (SECONDS - t0) / 60 ))
      printf '%dm ' "$marks" >&2
    fi
  done
  if ! wait "$pid"; then
    printf 'FAILED after %d s; last lines of %s:\n' "$(( SECONDS - t0 ))" "$log_file" >&2
    tail -n 30 "$log_file" >&2
    return 1
  fi
  printf 'done in %d s\n' "$(( SECONDS - t0 ))" >&2
}

cached() { log "$1: cached (${BIN_DIR/#$HOME/\~})"; }

# key = version + hash of the wrapper module, so a go.mod edit also rebuilds.
wrapper_key() { cat "$here/tools/$1/go.mod" "$here/tools/$1/go.sum" | sha256sum | cut -c1-12; }

link() {  # link NAME DIR
  ln -sfn "$2/$1" "$BIN_DIR/$1"
}

build_k8s() {
  local out="$SUBNETES_CACHE/k8s-$K8S_VERSION-$(wrapper_key k8s)"
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)
  if [ ! -x "$out/kube-proxy" ]; then
    local minor; minor=$(echo "$K8S_VERSION" | cut -d. -f2)
    local date; date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    local ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
      ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=$date"
    done
    mkdir -p "$out.tmp"
    (cd "$here/tools/k8s" && run_logged \
      "kubernetes $K8S_VERSION (${bins[*]}; cold: ~8-25 min on 2 cores)" kubernetes \
      go build -trimpath -ldflags "$ld" -o "$out.tmp/" "${bins[@]/#/k8s.io/kubernetes/cmd/}")
    rm -rf "$out" && mv "$out.tmp" "$out"
  else
    cached "kubernetes $K8S_VERSION"
  fi
  for b in "${bins[@]}"; do link "$b" "$out"; done
}

build_etcd() {
  local out="$SUBNETES_CACHE/etcd-$ETCD_VERSION-$(wrapper_key etcd)"
  if [ ! -x "$out/etcd" ]; then
    mkdir -p "$out.tmp"
    (cd "$here/tools/etcd" && run_logged "etcd $ETCD_VERSION" etcd \
      go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3)
    rm -rf "$out" && mv "$out.tmp" "$out"
  else
    cached "etcd $ETCD_VERSION"
  fi
  link etcd "$out"
}

build_coredns() {  # cluster DNS for the real node's pods (wrapper module: a slim plugin set)
  local out="$SUBNETES_CACHE/coredns-$(wrapper_key coredns)"
  local version; version=$(awk '$0 ~ "coredns/coredns v" {print $NF; exit}' "$here/tools/coredns/go.mod")
  if [ ! -x "$out/coredns" ]; then
    mkdir -p "$out.tmp"
    (cd "$here/tools/coredns" && run_logged "coredns $version" coredns \
      go build -trimpath -ldflags "-s -w" -o "$out.tmp/coredns" .)
    rm -rf "$out" && mv "$out.tmp" "$out"
  else
    cached "coredns $version"
  fi
  link coredns "$out"
}

build_go_install() {  # build_go_install NAME MODULE/cmd/X VERSION [LDFLAGS] [BUILD TAGS]
  local name=$1 pkg=$2 version=$3 ld=${4:-} tags=${5:-}
  local key; key=$(echo "$ld${tags:+ tags=$tags}" | sha256sum | cut -c1-8)
  local out="$SUBNETES_CACHE/$name-$version-$key"
  if [ ! -x "$out/$name" ]; then
    mkdir -p "$out.tmp"
    GOBIN="$out.tmp" GOFLAGS= run_logged "$name $version" "$name" \
      go install -trimpath ${tags:+-tags "$tags"} -ldflags "-s -w $ld" "$pkg@$version"
    rm -rf "$out" && mv "$out.tmp" "$out"
  else
    cached "$name $version"
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

build_promtool() {
  # Prometheus's rule checker and rule unit-test runner (tests/observability); the module has
  # no replace directives, so `go install` at the pinned tag works without a wrapper module.
  # v0.3XX.Y is the Go tag of Prometheus 3.XX.Y: stamp that version for `promtool --version`.
  # remove_all_sd (Prometheus's own build tag) leaves out the cloud service discoveries (AWS,
  # Azure, GCE...), which the rule commands never use: 60 % less CPU for a cold build.
  local v="3.${PROMETHEUS_VERSION#v0.3}"
  build_go_install promtool github.com/prometheus/prometheus/cmd/promtool "$PROMETHEUS_VERSION" \
    "-X github.com/prometheus/common/version.Version=$v" remove_all_sd
}

# Flux's controllers (tests/gitops/test_flux_*.py run them out of cluster). Their go.mod files
# carry replace directives (./api, go-digest, kustomize), which `go install pkg@version` refuses,
# so each builds from a wrapper module under hack/tools/flux-<name>/ (its go.mod: the upstream one
# at the pinned tag, renamed). Flux's CRDs ship in the same module (config/crd/bases): copied next
# to the binary, so the CRDs installed always match the controller that serves them.
build_flux_controller() {  # build_flux_controller NAME VERSION
  local name=$1 version=$2 dir="$here/tools/flux-$1"
  if ! grep -q "github.com/fluxcd/$name $version\$" "$dir/go.mod"; then
    log "hack/versions.sh pins $name $version but $dir/go.mod does not require it"
    return 1
  fi
  local out="$SUBNETES_CACHE/flux-$name-$version-$(wrapper_key "flux-$name")"
  if [ ! -x "$out/$name" ]; then
    mkdir -p "$out.tmp/crds"
    (cd "$dir" && run_logged "flux $name $version" "flux-$name" \
      go build -trimpath -ldflags "-s -w" -o "$out.tmp/$name" "github.com/fluxcd/$name")
    local src; src=$(cd "$dir" && go list -m -f '{{.Dir}}' "github.com/fluxcd/$name")
    cp "$src"/config/crd/bases/*.yaml "$out.tmp/crds/"
    rm -rf "$out" && mv "$out.tmp" "$out"
  else
    cached "flux $name $version"
  fi
  link "$name" "$out"
}
build_flux() {
  build_flux_controller source-controller "$FLUX_SOURCE_CONTROLLER_VERSION"
  build_flux_controller kustomize-controller "$FLUX_KUSTOMIZE_CONTROLLER_VERSION"
  build_flux_controller helm-controller "$FLUX_HELM_CONTROLLER_VERSION"
}

# Sourced (tests call run_logged): define the functions only.
[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(etcd kwok helm coredns kube_router k8s)
start=$(date +%s)
for t in "${tools[@]}"; do "build_$t"; done
log "done in $(( $(date +%s) - start ))s: $(ls "$BIN_DIR" | tr '\n' ' ')"
