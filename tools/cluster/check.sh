#!/usr/bin/env bash
# Checks that the cluster started by `scripts/cluster.sh up` behaves as StoryBang's e2e tests
# assume: the right version, Pod Security admission, scheduling onto kwok's fake nodes, garbage
# collection through owner references, service-account tokens, and Helm. Run it through
# `scripts/cluster.sh check`; it works in a namespace of its own and deletes it at the end.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export KUBECONFIG=$root/.cluster/kubeconfig
ns=cluster-check-$$
failures=0

kubectl() { "$root/bin/kube" kubectl "$@"; }
helm() { "$root/bin/helm" "$@"; }
pass() { printf 'ok    %s\n' "$*"; }
fail() {
  printf 'FAIL  %s\n' "$*"
  failures=$((failures + 1))
}

# eventually SECONDS COMMAND...: true once COMMAND succeeds within SECONDS.
eventually() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

cleanup() {
  kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  helm uninstall cluster-check -n "$ns-helm" >/dev/null 2>&1 || true
  kubectl delete namespace "$ns-helm" --wait=false >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
tmp=$(mktemp -d)
trap cleanup EXIT

# restricted_pod_spec INDENT: a pod spec that the "restricted" Pod Security Standard admits.
restricted_pod_spec() {
  sed "s/^/$1/" <<'EOF'
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  seccompProfile: {type: RuntimeDefault}
containers:
- name: app
  image: registry.k8s.io/pause:3.10
  resources: {requests: {cpu: 100m, memory: 64Mi}}
  securityContext:
    allowPrivilegeEscalation: false
    capabilities: {drop: [ALL]}
EOF
}

# --- version: Helm and kubectl read it from the server ---------------------------------------
server_version=$(kubectl version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1)
want_version=$(cd "$root/tools/cluster" && GOTOOLCHAIN=local go list -m -f '{{.Version}}' k8s.io/kubernetes)
if [[ $server_version == "$want_version" ]]; then pass "server version $server_version"; else fail "server version '$server_version', want $want_version"; fi

# --- nodes -----------------------------------------------------------------------------------
if kubectl wait --for=condition=Ready node/kwok-node-0 node/kwok-gpu-0 --timeout=30s >/dev/null; then
  pass "fake nodes Ready"
else
  fail "fake nodes not Ready"
fi
gpus=$(kubectl get node kwok-gpu-0 -o jsonpath='{.status.allocatable.nvidia\.com/gpu}')
if [[ $gpus -ge 1 ]]; then pass "kwok-gpu-0 offers $gpus nvidia.com/gpu"; else fail "kwok-gpu-0 offers no GPU"; fi

# --- Pod Security admission ------------------------------------------------------------------
kubectl create namespace "$ns" >/dev/null
kubectl label namespace "$ns" pod-security.kubernetes.io/enforce=restricted >/dev/null
if kubectl -n "$ns" run privileged --image=registry.k8s.io/pause:3.10 \
  --overrides='{"spec":{"containers":[{"name":"privileged","image":"registry.k8s.io/pause:3.10","securityContext":{"privileged":true}}]}}' \
  >"$tmp/privileged.out" 2>&1; then
  fail "privileged pod admitted in a restricted namespace"
elif grep -q 'violates PodSecurity "restricted' "$tmp/privileged.out"; then
  pass "privileged pod rejected by PodSecurity"
else
  fail "privileged pod rejected, but not by PodSecurity: $(cat "$tmp/privileged.out")"
fi

# --- a restricted Deployment runs on a fake node -----------------------------------------------
cat >"$tmp/deployment.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
$(restricted_pod_spec '      ')
EOF
kubectl -n "$ns" apply -f "$tmp/deployment.yaml" >"$tmp/apply.out" 2>&1 || fail "deployment refused: $(cat "$tmp/apply.out")"
if kubectl -n "$ns" rollout status deployment/web --timeout=60s >/dev/null 2>&1 &&
  kubectl -n "$ns" wait --for=jsonpath='{.status.phase}'=Running pod -l app=web --timeout=30s >/dev/null 2>&1; then
  pass "restricted deployment's pods Running on $(kubectl -n "$ns" get pod -l app=web -o jsonpath='{.items[*].spec.nodeName}')"
else
  fail "restricted deployment did not become Running: $(kubectl -n "$ns" get pod -o wide 2>&1)"
fi

# --- garbage collection: Deployment -> ReplicaSet -> Pods --------------------------------------
none_left() { [[ -z $(kubectl -n "$ns" get "$1" -l app=web -o name) ]]; }
kubectl -n "$ns" delete deployment web --wait=false >/dev/null
if eventually 60 none_left replicasets && eventually 60 none_left pods; then
  pass "deleting the Deployment garbage-collected its ReplicaSet and Pods"
else
  fail "ReplicaSet or Pods left after deleting the Deployment: $(kubectl -n "$ns" get rs,pod 2>&1)"
fi

# --- GPU pods go to the GPU node ---------------------------------------------------------------
cat >"$tmp/gpu.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: gpu}
spec:
$(restricted_pod_spec '  ' | sed 's/resources: {requests: {cpu: 100m, memory: 64Mi}}/resources: {limits: {nvidia.com\/gpu: 1}}/')
EOF
kubectl -n "$ns" apply -f "$tmp/gpu.yaml" >/dev/null
if kubectl -n "$ns" wait --for=jsonpath='{.status.phase}'=Running pod/gpu --timeout=60s >/dev/null 2>&1 &&
  [[ $(kubectl -n "$ns" get pod gpu -o jsonpath='{.spec.nodeName}') == kwok-gpu-0 ]]; then
  pass "pod asking for nvidia.com/gpu Running on kwok-gpu-0"
else
  fail "GPU pod not Running on kwok-gpu-0: $(kubectl -n "$ns" get pod gpu -o wide 2>&1)"
fi

# --- service accounts ----------------------------------------------------------------------------
if eventually 30 kubectl -n "$ns" get serviceaccount default && kubectl -n "$ns" create token default >/dev/null; then
  pass "service-account token issued"
else
  fail "no service-account token"
fi
if eventually 30 kubectl -n "$ns" get configmap kube-root-ca.crt; then
  pass "kube-root-ca.crt published into the namespace"
else
  fail "kube-root-ca.crt missing"
fi

# --- Helm ----------------------------------------------------------------------------------------
if helm version >/dev/null && helm list -A >/dev/null; then pass "helm version, helm list -A"; else fail "helm version or list"; fi
# A kubeVersion constraint makes Helm compare against the server's version: it fails on v0.0.0.
mkdir -p "$tmp/chart/templates"
cat >"$tmp/chart/Chart.yaml" <<EOF
apiVersion: v2
name: cluster-check
version: 0.1.0
kubeVersion: ">= 1.30.0-0"
EOF
cat >"$tmp/chart/templates/configmap.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: {{ .Release.Name }}}
data: {kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}}
EOF
if helm install cluster-check "$tmp/chart" -n "$ns-helm" --create-namespace --wait --timeout 60s >"$tmp/helm.out" 2>&1 &&
  [[ $(kubectl -n "$ns-helm" get configmap cluster-check -o jsonpath='{.data.kubeVersion}') == "$want_version" ]]; then
  pass "helm install of a chart with kubeVersion constraint"
else
  fail "helm install: $(cat "$tmp/helm.out")"
fi

if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
