#!/usr/bin/env bash
# The README's "run a local network" command. Today: the local control plane with its
# simulated CPU and GPU nodes. It grows into chain + operator + workloads as they land.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash hack/cluster-up.sh
kubeconfig="$(.venv/bin/python -c 'from subnetes.localnet.cluster import LocalCluster; print(LocalCluster().kubeconfig)')"
kubectl="$HOME/.cache/subnetes/bin/kubectl --kubeconfig=$kubeconfig"
echo
$kubectl get nodes -L subnetes.io/pool -L nvidia.com/gpu.product \
  -o custom-columns='NAME:.metadata.name,POOL:.metadata.labels.subnetes\.io/pool,GPUS:.status.allocatable.nvidia\.com/gpu,PRODUCT:.metadata.labels.nvidia\.com/gpu\.product,STATUS:.status.conditions[?(@.type=="Ready")].status'
echo
echo "The control plane keeps running. Use it with:"
echo "  export KUBECONFIG=$kubeconfig PATH=\$HOME/.cache/subnetes/bin:\$PATH"
echo "Stop it with: make cluster-down"
