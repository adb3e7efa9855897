#!/usr/bin/env bash
# A real Kubernetes control plane for StoryBang's end-to-end tests, without Docker.
#
#   scripts/cluster.sh build   build bin/kube (etcd, kube-apiserver, kube-controller-manager,
#                              kube-scheduler, kubectl), bin/kwok and bin/helm when missing or stale
#                              (CLUSTER_NODE=real: also bin/kube-node, bin/pause and bin/coredns)
#   scripts/cluster.sh up      start a fresh cluster on 127.0.0.1, all state under .cluster/
#   scripts/cluster.sh down    stop it (safe to run on a half-started or absent cluster)
#   scripts/cluster.sh load IMAGE...
#                              copy local podman images into the real node's containerd
#
# Pods are scheduled to fake nodes that kwok keeps Ready and whose pods it marks Running: no
# container ever runs. Ports can be moved with CLUSTER_ETCD_PORT (and +1 for etcd peers),
# CLUSTER_APISERVER_PORT, CLUSTER_CONTROLLER_MANAGER_PORT and CLUSTER_SCHEDULER_PORT; its state
# directory (default .cluster/) with CLUSTER_STATE, so two clusters can run side by side.
#
# CLUSTER_NODE=real (for build and up; scripts/e2e.sh, and so `make test`, asks for it) adds a real node,
# storybang-node-0, where containers do run: kubelet and kube-proxy (bin/kube-node, built from the
# same k8s.io/kubernetes as bin/kube but as a binary of its own, so bin/kube's build is unchanged),
# containerd with runc, and the CNI bridge, host-local and portmap plugins (Debian: apt-get install
# containerd runc containernetworking-plugins conntrack). Its state (containerd's root, the
# kubelet's pods, the network namespaces) stays under the state directory; its pods get addresses
# of 10.246.0.0/24 on the bridge storybang0, reachable from the host. It is tainted
# storybang.io/real-node:NoSchedule, so only pods that tolerate it land there and the fake nodes
# keep everything else. Its pods have cluster DNS: CoreDNS (bin/coredns, tools/coredns) runs on the
# host, listening on the node's address only, behind the Service kube-system/kube-dns (10.96.0.10)
# as in any cluster. No registry is needed: the sandbox image is made from bin/pause, and
# `load` imports images built here (scripts/images.sh). It needs root and a machine of its own
# (the kubelet's port CLUSTER_KUBELET_PORT, default 10250 with 10248 for its health, 10249 and
# 10256 for kube-proxy, 10247 and 10246 for CoreDNS's health and readiness; port 53 of the node's
# address; cgroups under /storybang); the kubelet runs in a mount namespace of its own, where the
# kernel settings it insists on (vm.overcommit_memory, kernel.panic, …) are set on copies, so that
# the host's stay as they are. `down` removes it all: containers, mounts, network namespaces, the
# bridge, iptables rules, cgroups.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$root/bin
state=${CLUSTER_STATE:-$root/.cluster}
pki=$state/pki
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
LOG_PREFIX=cluster PROC_DIR=$state/pids LOG_DIR=$state/logs

# Reproducible builds with the Go that is installed: never download another toolchain.
export GOTOOLCHAIN=local

# kwok v0.7.0 is built against Kubernetes 1.33 and drives 1.34 unchanged; helm v3.19 is the line
# built against Kubernetes 1.34 (client-go v0.34), the version pinned in tools/cluster/go.mod.
KWOK_VERSION=v0.7.0
HELM_VERSION=v3.19.5

etcd_port=${CLUSTER_ETCD_PORT:-12379}
etcd_peer_port=$((etcd_port + 1))
apiserver_port=${CLUSTER_APISERVER_PORT:-16443}
controller_manager_port=${CLUSTER_CONTROLLER_MANAGER_PORT:-16444}
scheduler_port=${CLUSTER_SCHEDULER_PORT:-16445}
service_cidr=10.96.0.0/16

node_mode=${CLUSTER_NODE:-fake}
[[ $node_mode == fake || $node_mode == real ]] || die "CLUSTER_NODE must be fake or real, not $node_mode"
# The real node's settings and its start, stop and clean-up (write_node_config, start_node,
# drain_node, clean_node, cmd_load).
# shellcheck source=scripts/cluster-node.sh
. "$root/scripts/cluster-node.sh"

# Stopped in this order: the reverse of start-up (the real node's parts are stopped in any case,
# so that a `down` without CLUSTER_NODE stops a real node too).
components=(coredns kube-proxy kubelet containerd kwok kube-scheduler kube-controller-manager kube-apiserver etcd)

# ---------------------------------------------------------------------------------------------
# build

# stale TARGET SOURCE...: true when TARGET is missing or older than any SOURCE.
stale() {
  local target=$1 source
  shift
  [[ -x $target ]] || return 0
  for source; do [[ $source -nt $target ]] && return 0; done
  return 1
}

# module_version BINARY MODULE: the version of MODULE that BINARY was built from, if any.
module_version() {
  [[ -x $1 ]] || return 0
  go version -m "$1" 2>/dev/null | awk -v mod="$2" '$1 == "mod" && $2 == mod { print $3 }'
}

timed() {
  local what=$1 start=$SECONDS
  shift
  log "building $what"
  "$@"
  log "built $what in $((SECONDS - start))s"
}

kube_current() {
  local dir=$root/tools/cluster
  # This script is a source too: it holds the version stamps of build_kube.
  ! stale "$bin/kube" "$dir/go.mod" "$dir/go.sum" "$dir"/*.go "$dir"/multicall/*.go "${BASH_SOURCE[0]}"
}

# kube_ldflags: the linker flags of bin/kube and bin/kube-node.
kube_ldflags() {
  local dir=$root/tools/cluster version major minor release_time
  version=$(cd "$dir" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
  [[ $version =~ ^v([0-9]+)\.([0-9]+)\. ]] || die "unexpected Kubernetes version $version"
  major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
  # The release's own publication time as the build date keeps the binary reproducible.
  release_time=$(cd "$dir" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
  # What hack/lib/version.sh sets for an official build. Helm and kubectl read gitVersion from the
  # API server, and without it the binary claims v0.0.0 and Helm refuses the cluster. The commit is
  # left empty rather than unknown: the module proxy serves the released tree without its history.
  local ldflags=(-s -w)
  local pkg key
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    for key in gitVersion=$version gitMajor=$major gitMinor=$minor buildDate=$release_time gitCommit= gitTreeState=clean; do
      ldflags+=("-X=$pkg.$key")
    done
  done
  echo "${ldflags[*]}"
}

build_kube() {
  local ldflags
  ldflags=$(kube_ldflags)
  (cd "$root/tools/cluster" && nice go build -trimpath -ldflags="$ldflags" -o "$bin/kube" .)
  touch "$bin/kube" # go build leaves an identical binary untouched; mark it checked
  ln -sfn kube "$bin/kubectl"
}

node_current() {
  local dir=$root/tools/cluster
  ! stale "$bin/kube-node" "$dir/go.mod" "$dir/go.sum" "$dir"/node/*.go "$dir"/multicall/*.go "${BASH_SOURCE[0]}"
}

build_node() {
  local ldflags
  ldflags=$(kube_ldflags)
  (cd "$root/tools/cluster" && nice go build -trimpath -ldflags="$ldflags" -o "$bin/kube-node" ./node)
  touch "$bin/kube-node"
}

pause_current() { ! stale "$bin/pause" "$root/tools/cluster/pause/main.go"; }

build_pause() {
  # Static: it is the only file of the sandbox image.
  (cd "$root/tools/cluster" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$bin/pause" ./pause)
  touch "$bin/pause"
}

coredns_current() {
  local dir=$root/tools/coredns
  ! stale "$bin/coredns" "$dir/go.mod" "$dir/go.sum" "$dir"/*.go
}

build_coredns() {
  # -trimpath and cgo as for bin/kube, so that what the two share at the same versions (the
  # standard library, a few dozen of k8s.io's packages) comes from Go's build cache.
  (cd "$root/tools/coredns" && nice go build -trimpath -ldflags='-s -w' -o "$bin/coredns" .)
  touch "$bin/coredns"
}

kwok_current() { [[ $(module_version "$bin/kwok" sigs.k8s.io/kwok) == "$KWOK_VERSION" ]]; }

build_kwok() {
  GOBIN=$bin nice go install -trimpath -ldflags=-s\ -w "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
}

helm_current() { [[ $(module_version "$bin/helm" helm.sh/helm/v3) == "$HELM_VERSION" ]]; }

build_helm() {
  # Helm's Makefile stamps its version and the Kubernetes version it assumes when no cluster is
  # asked (`helm template`, `helm lint`); left unset those say "v3.19" and Kubernetes 1.20.
  local kube_minor
  kube_minor=$(cd "$root/tools/cluster" && go list -m -f '{{.Version}}' k8s.io/kubernetes | cut -d. -f2)
  local ldflags=(-s -w "-X=helm.sh/helm/v3/internal/version.version=$HELM_VERSION")
  local pkg
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=("-X=$pkg.k8sVersionMajor=1" "-X=$pkg.k8sVersionMinor=$kube_minor")
  done
  GOBIN=$bin nice go install -trimpath -ldflags="${ldflags[*]}" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

cmd_build() {
  mkdir -p "$bin"
  local start=$SECONDS
  local tool tools=(kube kwok helm)
  if [[ $node_mode == real ]]; then
    tools+=(node pause coredns)
    # The node's runtime and network, and what builds and imports the images it runs.
    local pkg missing=()
    for pkg in containerd runc conntrack containernetworking-plugins podman debootstrap; do
      installed "$pkg" || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
      ((EUID == 0)) || die "installing ${missing[*]} needs root"
      log "installing ${missing[*]}"
      apt_install "${missing[@]}"
    fi
  fi
  for tool in "${tools[@]}"; do
    local file=bin/$tool
    [[ $tool != node ]] || file=bin/kube-node
    if "${tool}_current"; then
      log "$file is up to date"
    else
      timed "$file" "build_$tool"
    fi
  done
  log "tools ready in $((SECONDS - start))s"
}

# ---------------------------------------------------------------------------------------------
# certificates and kubeconfigs

# new_ca NAME SUBJECT: a self-signed certificate authority.
new_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -sha256 \
    -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}

# issue NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES] [CA]: a key and a certificate signed by
# CA (default: ca).
issue() {
  local name=$1 subject=$2 usage=$3 sans=${4:-} ca=${5:-ca}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
    -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 365 -sha256 -out "$pki/$name.crt" -extfile <(
      echo "basicConstraints=critical,CA:FALSE"
      echo "keyUsage=critical,digitalSignature,keyEncipherment"
      echo "extendedKeyUsage=$usage"
      [[ -z $sans ]] || echo "subjectAltName=$sans"
    ) 2>/dev/null
  rm "$pki/$name.csr"
}

# kubeconfig NAME: a kubeconfig for the client certificate NAME, credentials inlined so the file
# can be copied on its own.
kubeconfig() {
  local name=$1
  cat >"$state/$name.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: storybang
  cluster:
    server: https://127.0.0.1:$apiserver_port
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$pki/$name.crt")
    client-key-data: $(base64 -w0 "$pki/$name.key")
contexts:
- name: storybang
  context:
    cluster: storybang
    user: $name
current-context: storybang
EOF
}

make_pki() {
  mkdir -p "$pki"
  new_ca ca /CN=storybang-test-ca
  issue apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,IP:${service_cidr%.0/*}.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  # system:masters bypasses RBAC: the identity of the person and of the tests.
  issue admin "/O=system:masters/CN=storybang-admin" clientAuth
  # The bootstrap RBAC policy grants these user names exactly what each component needs.
  issue controller-manager "/CN=system:kube-controller-manager" clientAuth
  issue scheduler "/CN=system:kube-scheduler" clientAuth
  # The aggregation layer (metrics APIs and the like) proxies with a client certificate of its own
  # CA, as kubeadm sets it up; the controller manager and scheduler also read that CA at start.
  new_ca front-proxy-ca /CN=storybang-front-proxy-ca
  issue front-proxy-client /CN=front-proxy-client clientAuth "" front-proxy-ca
  # Service-account tokens are signed by the controller manager and the API server, checked by the latter.
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/service-account.key" 2>/dev/null
  openssl pkey -in "$pki/service-account.key" -pubout -out "$pki/service-account.pub" 2>/dev/null
  if [[ $node_mode == real ]]; then
    # The kubelet as the Node authorizer knows it, its serving certificate (which the API server
    # checks when it proxies logs and exec), the API server's identity towards it, and kube-proxy
    # (the bootstrap policy binds system:node-proxier to that name).
    issue kubelet "/O=system:nodes/CN=system:node:$node_name" clientAuth
    issue kubelet-server "/CN=$node_name" serverAuth "IP:$node_ip,DNS:$node_name"
    issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
    issue kube-proxy /CN=system:kube-proxy clientAuth
    # CoreDNS, bound to the ClusterRole system:coredns by start_coredns.
    issue coredns /CN=coredns clientAuth
    kubeconfig kubelet
    kubeconfig kube-proxy
    kubeconfig coredns
  fi
  chmod 600 "$pki"/*.key
  kubeconfig admin
  kubeconfig controller-manager
  kubeconfig scheduler
  cp "$state/admin.kubeconfig" "$state/kubeconfig"
}

# ---------------------------------------------------------------------------------------------
# processes

https_ok() { # URL: 200 with body "ok" from a component, trusting our CA and showing the admin cert
  [[ $(curl -fsS --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$1") == ok ]]
}

insecure_ok() { # URL: the controller manager and scheduler serve /healthz on self-signed certs
  [[ $(curl -fsSk --max-time 5 "$1") == ok ]]
}

kubectl() { "$bin/kube" kubectl --kubeconfig "$state/kubeconfig" "$@"; }

start_control_plane() {
  # With fake nodes no pod ever dials the "kubernetes" Service, and 127.0.0.1 is no valid endpoint
  # of it: the API server listens on loopback alone and keeps no endpoints for it. The real node's
  # pods (the operator's, above all) reach it as in any cluster, through that Service: the API server
  # also listens on the node's address (every address: it starts before the node's bridge exists;
  # only clients with a certificate or token of this cluster get further than discovery), and
  # advertises it as the Service's endpoint.
  local listen=(--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --endpoint-reconciler-type=none)
  local node_flags=()
  if [[ $node_mode == real ]]; then
    listen=(--bind-address=0.0.0.0 --advertise-address="$node_ip")
    node_flags=(
      --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt"
      --kubelet-client-key="$pki/apiserver-kubelet-client.key"
      --kubelet-certificate-authority="$pki/ca.crt"
      --kubelet-preferred-address-types=InternalIP
    )
  fi
  proc_start etcd "$bin/kube" etcd \
    --name=storybang --data-dir="$state/etcd" \
    --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster="storybang=http://127.0.0.1:$etcd_peer_port" \
    --unsafe-no-fsync=true `# throwaway test data: durability only costs time` \
    --log-level=warn
  proc_wait etcd 30 curl -fsS --max-time 2 "http://127.0.0.1:$etcd_port/health"

  # PodSecurity is on by default; it is listed so that the contract (every pod runs under the
  # "restricted" Pod Security Standard, docs/architecture.md) stays visible.
  proc_start kube-apiserver "$bin/kube" kube-apiserver \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    "${listen[@]}" --secure-port="$apiserver_port" \
    --cert-dir="$state/apiserver" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction,PodSecurity \
    --allow-privileged=true `# so that PodSecurity, not a global switch, is what refuses privileged pods` \
    --service-cluster-ip-range="$service_cidr" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/service-account.pub" \
    --service-account-signing-key-file="$pki/service-account.key" \
    --api-audiences=https://kubernetes.default.svc.cluster.local \
    --requestheader-client-ca-file="$pki/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$pki/front-proxy-client.crt" --proxy-client-key-file="$pki/front-proxy-client.key" \
    --profiling=false "${node_flags[@]}"
  proc_wait kube-apiserver 120 https_ok "https://127.0.0.1:$apiserver_port/readyz"

  # Cloud controllers are no-ops without a cloud; everything else runs, among them the garbage
  # collector (ownerReference cascades) and the service-account token controller.
  proc_start kube-controller-manager "$bin/kube" kube-controller-manager \
    --kubeconfig="$state/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$state/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$state/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$controller_manager_port" --cert-dir="$state/controller-manager" \
    --controllers='*,-service-lb-controller,-node-route-controller,-cloud-node-lifecycle-controller' \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$pki/service-account.key" \
    --root-ca-file="$pki/ca.crt" \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --service-cluster-ip-range="$service_cidr" \
    --leader-elect=false --profiling=false
  proc_start kube-scheduler "$bin/kube" kube-scheduler \
    --kubeconfig="$state/scheduler.kubeconfig" \
    --authentication-kubeconfig="$state/scheduler.kubeconfig" \
    --authorization-kubeconfig="$state/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$scheduler_port" --cert-dir="$state/scheduler" \
    --leader-elect=false --profiling=false
  proc_wait kube-controller-manager 60 insecure_ok "https://127.0.0.1:$controller_manager_port/healthz"
  proc_wait kube-scheduler 60 insecure_ok "https://127.0.0.1:$scheduler_port/healthz"
}

service_account_ready() { kubectl -n default get serviceaccount default; }

cmd_up() {
  local tool
  for tool in kube kwok; do
    [[ -x $bin/$tool ]] || die "bin/$tool is missing: run scripts/cluster.sh build"
  done
  [[ -x $root/${VENV:-.venv}/bin/python ]] || die "${VENV:-.venv} is missing: run make install"
  cmd_down
  rm -rf "$state"
  mkdir -p "$state/pids" "$state/logs"
  local start_time=$SECONDS
  # A failed start leaves nothing running, but keeps the logs to read.
  trap 'log "start-up failed; stopping what was started"; cmd_down' EXIT
  make_pki
  start_control_plane
  # Heartbeats through node leases: without them kwok patches node status about once a minute,
  # later than the node lifecycle controller's grace period on a loaded machine, so nodes flap to
  # NotReady and every pod on them loses its Ready condition.
  proc_start kwok "$bin/kwok" --kubeconfig="$state/kubeconfig" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr=10.244.0.1/16 --node-ip=127.0.0.1 --node-lease-duration-seconds=40
  # Fake nodes (storybang_testing.kube, the same as the kind set-up's of tests/e2e): kwok manages
  # only the nodes carrying its annotation, keeps them Ready and moves their pods to Running.
  "$root/${VENV:-.venv}/bin/python" -m storybang_testing.kube fake-nodes | kubectl apply -f - >/dev/null
  proc_wait kwok 60 kubectl wait --for=condition=Ready node --all --timeout=5s
  # Pods are refused until the service-account controller has made the namespace's default account.
  proc_wait kube-controller-manager 60 service_account_ready
  [[ $node_mode == fake ]] || start_node
  trap - EXIT
  log "cluster up in $((SECONDS - start_time))s; logs in $state/logs"
  echo "export KUBECONFIG=$state/kubeconfig"
}

cmd_down() {
  [[ -d $state/pids ]] || return 0
  [[ ! -d $state/containerd ]] || drain_node
  local name
  for name in "${components[@]}"; do proc_stop "$name" 10; done
  [[ ! -d $state/containerd ]] || clean_node
}

case ${1:-} in
build) cmd_build ;;
up) cmd_up ;;
down) cmd_down ;;
load)
  shift
  cmd_load "$@"
  ;;
*)
  echo "usage: $0 build|up|down|load IMAGE..." >&2
  exit 2
  ;;
esac
