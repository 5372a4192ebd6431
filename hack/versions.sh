# Pinned versions of the control-plane tools (sourced by hack/ scripts).
# Changing a pin rebuilds that tool once; the binaries are cached outside the repo.
K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.22.0
KUBE_ROUTER_VERSION=v2.1.0
# promtool (alert-rule checks and unit tests); Prometheus 3.x's Go module is tagged v0.3xx.y.
PROMETHEUS_VERSION=v0.316.0
# Flux's controllers (one Flux release: source v1.9 serves the source API the other two require);
# each must match the require line of its wrapper module hack/tools/flux-<name>/go.mod.
FLUX_SOURCE_CONTROLLER_VERSION=v1.9.3
FLUX_KUSTOMIZE_CONTROLLER_VERSION=v1.9.6
FLUX_HELM_CONTROLLER_VERSION=v1.6.4
# Argo CD: only its CRDs (hack/fetch-gitops-crds.sh) to validate examples/gitops/argocd;
# v3.6 needs go >= 1.27.
ARGOCD_VERSION=v3.5.7
SUBNETES_CACHE="${SUBNETES_CACHE:-$HOME/.cache/subnetes}"
BIN_DIR="$SUBNETES_CACHE/bin"
