#!/usr/bin/env bash
# Fetch the CRDs of the GitOps tools examples/gitops targets, from their Go modules through the
# module proxy, so the examples are validated against the schemas those releases serve:
#   argocd: Application, ApplicationSet, AppProject: manifests/crds/ of github.com/argoproj/argo-cd/v3
#   flux: GitRepository & co., Kustomization, HelmRelease: config/crd/bases/ of the modules of
#         source-, kustomize- and helm-controller (the pins the Flux build uses; only the CRDs
#         here, so the pure tests need no build)
# Cached by version under $SUBNETES_CACHE/crds/<module>-<version>/ (a pin change fetches once).
# Prints those folders, one a line; fails (no cache left behind) when a module cannot be fetched.
# Usage: hack/fetch-gitops-crds.sh argocd|flux
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

# fetch NAME MODULE VERSION SUBDIR: copy SUBDIR/*.yaml of MODULE@VERSION into the cache.
fetch() {
  local name=$1 module=$2 version=$3 subdir=$4
  local out="$SUBNETES_CACHE/crds/$name-$version"
  if [ ! -f "$out/.complete" ]; then
    local work json dir
    work=$(mktemp -d)
    # Outside any go.mod: a plain module download, nothing built. Only the module's zip (~55 MB
    # for Argo CD) is fetched, not its dependencies.
    if ! json=$(cd "$work" && go mod download -json "$module@$version" 2>&1); then
      echo "error: cannot fetch $module@$version through the Go module proxy:" >&2
      echo "$json" >&2
      rm -rf "$work"
      return 1
    fi
    rm -rf "$work"
    dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    cp "$dir/$subdir"/*.yaml "$out.tmp/"
    touch "$out.tmp/.complete"
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
  echo "$out"
}

case "${1:-}" in
  argocd) fetch argo-cd github.com/argoproj/argo-cd/v3 "$ARGOCD_VERSION" manifests/crds ;;
  flux)
    for c in source kustomize helm; do
      pin="FLUX_${c^^}_CONTROLLER_VERSION"
      fetch "flux-$c-controller" "github.com/fluxcd/$c-controller" "${!pin}" config/crd/bases
    done
    ;;
  *) echo "usage: $0 argocd|flux" >&2; exit 2 ;;
esac
