#!/usr/bin/env bash
# `make e2e` (and `make test`): the whole system on a real Kubernetes API server with a real node.
#
#   1. builds bin/kube, bin/kwok, bin/helm, and for the real node bin/kube-node, bin/pause and
#      bin/coredns (with containerd, runc, the CNI plugins and podman from Debian's packages) when
#      missing or stale (scripts/cluster.sh build), the images the real node runs (scripts/images.sh
#      cluster previous: StoryBang's three, the datastores', and the previous release's two, which
#      the upgrade test starts from; podman's layer cache makes it seconds when nothing changed) and
#      bin/keda-webhooks (scripts/keda.sh build)
#   2. starts a cluster with its real node (CLUSTER_NODE=real scripts/cluster.sh up) and stops it on
#      exit, whatever happens
#   3. runs tests/e2e (Helm chart, the operator out of the cluster on the chart's RBAC, manifests/,
#      and on the real node: the storybang image in real containers, test_real_node.py, and the
#      chart's whole platform with a writer's journey through it, test_platform.py, and the
#      previous release's platform upgraded to this one with a writer's data, test_platform_upgrade.py)
#   4. runs operator/tests/cluster (the operator in-process, on the RBAC of operator/rbac.yaml)
#
# The real node needs root and a machine of its own (scripts/cluster.sh). E2E_REAL_NODE=0 leaves it
# out, and with it the tests marked real_node, on a machine that cannot run one; `make test` never
# sets it. E2E_CLUSTER=kind uses the current kind context instead of steps 1-2 (see
# tests/e2e/cluster.py), without the real-node tests, which need this cluster's node. Extra
# arguments go to both pytest runs (e.g. `scripts/e2e.sh -x`).
#
# `scripts/e2e.sh real` (`make e2e-real`) runs only the tests marked real_node, on a cluster of
# their own with the real node: the quick loop while working on the images or the node.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
PY="$ROOT/$VENV/bin/python"
KUBECTL="$ROOT/bin/kubectl"
started=$SECONDS

log() { printf '[e2e] %s\n' "$*" >&2; }

if [[ ${1:-} == real ]]; then
  shift
  export CLUSTER_NODE=real
  scripts/cluster.sh build
  step=$SECONDS
  scripts/images.sh cluster previous
  log "images ready in $((SECONDS - step))s"
  trap 'scripts/cluster.sh down' EXIT
  scripts/cluster.sh up >/dev/null
  export STORYBANG_E2E_KUBECONFIG="${CLUSTER_STATE:-$ROOT/.cluster}/kubeconfig"
  status=0
  "$PY" -m pytest tests/e2e -m real_node "$@" || status=$?
  log "done in $((SECONDS - started))s ($([[ $status == 0 ]] && echo passed || echo FAILED))"
  exit "$status"
fi

marks=()
case "${E2E_CLUSTER:-local}" in
  local)
    if [[ ${E2E_REAL_NODE:-1} == 0 ]]; then
      log "E2E_REAL_NODE=0: no real node, and none of the tests marked real_node"
      marks=(-m "not real_node")
    else
      export CLUSTER_NODE=real
    fi
    scripts/cluster.sh build  # podman too, for the real node
    if [[ -n ${CLUSTER_NODE:-} ]]; then
      step=$SECONDS
      scripts/images.sh cluster previous
      log "images ready in $((SECONDS - step))s"
    fi
    # KEDA's admission webhooks (tests/e2e/keda.py), built from tools/keda when missing or stale.
    scripts/keda.sh build
    trap 'scripts/cluster.sh down' EXIT
    scripts/cluster.sh up >/dev/null
    kubeconfig="${CLUSTER_STATE:-$ROOT/.cluster}/kubeconfig"
    ;;
  kind)
    marks=(-m "not real_node")
    command -v kubectl >/dev/null && KUBECTL=$(command -v kubectl)
    trap '"$PY" tests/e2e/cluster.py kind-down' EXIT
    kubeconfig=$("$PY" tests/e2e/cluster.py kind-up)
    ;;
  *)
    echo "E2E_CLUSTER must be local or kind" >&2
    exit 2
    ;;
esac
export STORYBANG_E2E_KUBECONFIG="$kubeconfig"
kubectl() { "$KUBECTL" --kubeconfig "$kubeconfig" "$@"; }

log "tests/e2e"
status=0
"$PY" -m pytest tests/e2e "${marks[@]}" "$@" || status=$?

# operator/tests/cluster runs the operator with exactly operator/rbac.yaml: a ServiceAccount bound
# to that ClusterRole (renamed, so that it cannot meet the chart's), and a token of it.
log "operator/tests/cluster"
rbac_ns=storybang-operator-tests
rbac_name=storybang-operator-tests
applied() { "$@" --dry-run=client -o yaml | kubectl apply -f - >/dev/null; }
applied kubectl create namespace "$rbac_ns"
applied kubectl -n "$rbac_ns" create serviceaccount storybang-operator
sed "0,/^  name: storybang-operator\$/s//  name: $rbac_name/" operator/rbac.yaml | kubectl apply -f - >/dev/null
applied kubectl create clusterrolebinding "$rbac_name" --clusterrole="$rbac_name" \
  --serviceaccount="$rbac_ns:storybang-operator"
operator_kubeconfig="$(dirname "$kubeconfig")/operator-tests.kubeconfig"
kubectl -n "$rbac_ns" create token storybang-operator --duration=2h |
  "$PY" -m storybang_testing.kube kubeconfig "$kubeconfig" "$operator_kubeconfig"
(cd operator && STORYBANG_E2E_OPERATOR_KUBECONFIG="$operator_kubeconfig" \
  "$PY" -m pytest -p no:cacheprovider tests/cluster "$@") || status=$?
kubectl delete clusterrolebinding "$rbac_name" --ignore-not-found >/dev/null
kubectl delete clusterrole "$rbac_name" --ignore-not-found >/dev/null
kubectl delete namespace "$rbac_ns" --wait=false --ignore-not-found >/dev/null

log "done in $((SECONDS - started))s ($([[ $status == 0 ]] && echo passed || echo FAILED))"
exit "$status"
