# shellcheck shell=bash
# The real node of scripts/cluster.sh (CLUSTER_NODE=real): kubelet and kube-proxy (bin/kube-node),
# containerd with runc, the CNI bridge, and CoreDNS (bin/coredns) for its pods' DNS. Sourced by
# cluster.sh, whose variables ($root, $bin, $state, $pki, $node_mode, $service_cidr) and functions
# (log, die, proc_*, kubectl, timed) it uses; see cluster.sh's header for what the node is and what
# it needs.

node_name=storybang-node-0
kubelet_port=${CLUSTER_KUBELET_PORT:-10250}
kubelet_healthz_port=$((kubelet_port - 2))
pod_subnet=10.246.0.0/24
pod_bridge=storybang0
node_ip=${pod_subnet%.0/*}.1 # the bridge's own address: the pods' gateway and the node's address
cni_network=storybang-real-node
# Cgroups of the real node's pods: /sys/fs/cgroup/<controller>/storybang/kubepods/...
cgroup_root=storybang
# The sandbox image, made from bin/pause: its tag changes with the binary's content.
pause_image=localhost/storybang-pause
containerd_socket=$state/containerd/containerd.sock
# The cluster DNS: the Service kube-system/kube-dns at the address kubeadm gives it, its one
# endpoint CoreDNS on the node's address. Its health and readiness are served on 127.0.0.1.
dns_service_ip=${service_cidr%.0/*}.10
dns_health_port=$((kubelet_port - 3))
dns_ready_port=$((kubelet_port - 4))
cni_bin=${CLUSTER_CNI_BIN:-/usr/lib/cni}

ctr() { command ctr --address "$containerd_socket" --namespace k8s.io "$@"; }

# pause_ref: the sandbox image's name, tagged with bin/pause's digest.
pause_ref() { echo "$pause_image:$(sha256sum "$bin/pause" | cut -c1-12)"; }

write_node_config() {
  mkdir -p "$state/cni/net.d" "$state/containerd" "$state/kubelet" "$state/pod-logs"
  # One network: the bridge, pods' addresses from host-local (its leases under the state
  # directory), masquerading for traffic that leaves the node, hostPort through portmap.
  cat >"$state/cni/net.d/10-$cni_network.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$cni_network",
  "plugins": [
    {
      "type": "bridge", "bridge": "$pod_bridge", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$state/cni/ipam",
        "ranges": [[{"subnet": "$pod_subnet", "gateway": "$node_ip"}]], "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  # containerd 1.6 (Debian bookworm's): every path of its own under the state directory, the
  # network namespaces of pods too, and runc's state, so that `down` finds all of it.
  cat >"$state/containerd/config.toml" <<EOF
version = 2
root = "$state/containerd/root"
state = "$state/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "$containerd_socket"
[ttrpc]
  address = "$containerd_socket.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$state/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$(pause_ref)"
  netns_mounts_under_state_dir = true
  # Sandboxes ask for an OOM score of -998, Guaranteed pods -997; where lowering a score is refused
  # (as in some sandboxed VMs) that fails every pod, so scores are kept at containerd's own or above.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$state/containerd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_bin"
    conf_dir = "$state/cni/net.d"
EOF
  # Image garbage collection is off (100%) and eviction thresholds low: images are imported, never
  # pulled, and a busy disk on a test machine must not evict the pods under test.
  cat >"$state/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: $kubelet_port
healthzBindAddress: 127.0.0.1
healthzPort: $kubelet_healthz_port
readOnlyPort: 0
tlsCertFile: $pki/kubelet-server.crt
tlsPrivateKeyFile: $pki/kubelet-server.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$containerd_socket
cgroupDriver: cgroupfs
cgroupRoot: /$cgroup_root
failCgroupV1: false
failSwapOn: false
podLogsDir: $state/pod-logs
clusterDomain: cluster.local
clusterDNS: [$dns_service_ip]
registerWithTaints:
- {key: storybang.io/real-node, effect: NoSchedule}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, nodefs.inodesFree: 1%, imagefs.available: 1%}
EOF
  cat >"$state/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $state/kube-proxy.kubeconfig}
hostnameOverride: $node_name
bindAddress: $node_ip
healthzBindAddress: 127.0.0.1:$((kubelet_port + 6))
metricsBindAddress: 127.0.0.1:$((kubelet_port - 1))
mode: iptables
clusterCIDR: $pod_subnet
conntrack: {maxPerCore: 0} # leave the host's conntrack table size as it is
EOF
  # cluster.local (and the reverse zones of Services' addresses) from the API server, the rest
  # from the host's resolvers. Bound to the node's address only: the host's own resolver, if it
  # listens on port 53 elsewhere, stays as it is. Pods are not given names (`pods disabled`, the
  # default), so CoreDNS needs no access to them.
  cat >"$state/Corefile" <<EOF
.:53 {
    bind $node_ip
    errors
    log
    health 127.0.0.1:$dns_health_port
    ready 127.0.0.1:$dns_ready_port
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $state/coredns.kubeconfig
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
EOF
}

# pause_archive DIR: the sandbox image as a docker-archive tar on stdout: bin/pause alone, run as
# 65535 as registry.k8s.io/pause is.
pause_archive() {
  local dir=$1 layer_digest config_digest
  mkdir -p "$dir/root"
  cp "$bin/pause" "$dir/root/pause"
  tar -C "$dir/root" --numeric-owner --owner=0 --group=0 --mtime=@0 -cf "$dir/layer.tar" pause
  layer_digest=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$layer_digest" >"$dir/config.json"
  config_digest=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  mv "$dir/config.json" "$dir/$config_digest.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$config_digest" "$(pause_ref)" >"$dir/manifest.json"
  tar -C "$dir" -cf - manifest.json "$config_digest.json" layer.tar
}

# kubelet_namespace: the files that stand for the kernel settings the kubelet sets at start
# (container_manager_linux.go, setupKernelTunables), bind-mounted over /proc/sys in the kubelet's
# own mount namespace; and the kubelet's directory made a shared mount, so that what it mounts
# there (secrets, projected tokens) reaches containerd in the host's namespace.
kubelet_namespace() {
  local tunable
  mkdir -p "$state/kubelet-sysctl"
  for tunable in vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes; do
    cp "/proc/sys/$tunable" "$state/kubelet-sysctl/${tunable//\//.}"
  done
  mount --bind "$state/kubelet" "$state/kubelet"
  mount --make-shared "$state/kubelet"
}

# The cgroup hierarchies (v1) the kubelet puts its pods in, each with /storybang made; cpuset's
# needs its CPUs and memory nodes before anything can join it.
make_cgroups() {
  local mnt
  for mnt in $(awk '$3 == "cgroup" { print $2 }' /proc/mounts); do
    mkdir -p "$mnt/$cgroup_root"
    if [[ -e $mnt/cpuset.cpus ]]; then
      cat "$mnt/cpuset.cpus" >"$mnt/$cgroup_root/cpuset.cpus"
      cat "$mnt/cpuset.mems" >"$mnt/$cgroup_root/cpuset.mems"
    fi
  done
}

timed_step() { # WHAT COMMAND...: run COMMAND and log how long it took
  local what=$1 start=$SECONDS
  shift
  "$@"
  log "$what in $((SECONDS - start))s"
}

containerd_ready() { command ctr --address "$containerd_socket" version; }

node_ready() { kubectl wait --for=condition=Ready "node/$node_name" --timeout=5s; }

start_containerd() {
  proc_start containerd containerd --config "$state/containerd/config.toml"
  proc_wait containerd 30 containerd_ready
  pause_archive "$state/pause-image" | ctr images import - >/dev/null
  rm -rf "$state/pause-image"
}

start_kubelet() {
  kubelet_namespace
  # shellcheck disable=SC2016 # $1 and $@ belong to the inner bash
  PROC_PROGRAM=kube-node proc_start kubelet unshare --mount --propagation unchanged -- bash -c '
    for file in "$0"/*; do
      tunable=${file##*/}
      mount --bind "$file" "/proc/sys/${tunable//.//}"
    done
    exec "$@"' "$state/kubelet-sysctl" \
    "$bin/kube-node" kubelet --config="$state/kubelet.yaml" --kubeconfig="$state/kubelet.kubeconfig" \
    --root-dir="$state/kubelet" --hostname-override="$node_name" --node-ip="$node_ip"
  proc_wait kubelet 60 curl -fsS --max-time 2 "http://127.0.0.1:$kubelet_healthz_port/healthz"
  proc_wait kubelet 120 node_ready
}

start_kube_proxy() {
  proc_start kube-proxy "$bin/kube-node" kube-proxy --config="$state/kube-proxy.yaml"
  proc_wait kube-proxy 60 curl -fsS --max-time 2 "http://127.0.0.1:$((kubelet_port + 6))/healthz"
}

# cluster_dns_objects: what makes CoreDNS the cluster's DNS. The ClusterRole is CoreDNS's own
# system:coredns less what `pods verified` and `endpoints` would need; the Service has no selector,
# since CoreDNS is no pod: its EndpointSlice, labelled as not the EndpointSlice controller's, names
# the node's address, and kube-proxy routes the Service there like any other.
cluster_dns_objects() {
  cat <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: system:coredns}
rules:
- apiGroups: [""]
  resources: [services, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: system:coredns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:coredns}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: coredns}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $dns_service_ip
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-$node_name
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: cluster.storybang.io}
addressType: IPv4
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
endpoints:
- addresses: [$node_ip]
  conditions: {ready: true}
  nodeName: $node_name
EOF
}

start_coredns() {
  cluster_dns_objects | kubectl apply -f - >/dev/null
  proc_start coredns "$bin/coredns" -conf "$state/Corefile"
  # Ready once the kubernetes plugin has listed what it watches: its RBAC is right.
  proc_wait coredns 60 curl -fsS --max-time 2 "http://127.0.0.1:$dns_ready_port/ready"
}

start_node() {
  local tool
  ((EUID == 0)) || die "a real node needs root (bridges, mounts, cgroups, iptables)"
  for tool in kube-node pause coredns; do
    [[ -x $bin/$tool ]] || die "bin/$tool is missing: run CLUSTER_NODE=real scripts/cluster.sh build"
  done
  for tool in containerd runc unshare conntrack podman; do
    command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt-get install containerd runc conntrack podman)"
  done
  [[ -x $cni_bin/bridge ]] || die "no CNI plugins in $cni_bin (Debian: apt-get install containernetworking-plugins)"
  write_node_config
  # The bridge exists before any pod, with the node's address on it: the kubelet serves there.
  ip link add "$pod_bridge" type bridge
  ip addr add "$node_ip/${pod_subnet#*/}" dev "$pod_bridge"
  ip link set "$pod_bridge" up
  make_cgroups
  timed_step "containerd started" start_containerd
  timed_step "kubelet started, node Ready" start_kubelet
  timed_step "kube-proxy started" start_kube_proxy
  timed_step "CoreDNS started" start_coredns
}

# drain_node: delete the real node's pods while the kubelet and the API server still run, so that
# the kubelet stops their containers and the runtime takes down their networks as it should.
drain_node() {
  proc_running kubelet && proc_running kube-apiserver || return 0
  kubectl delete pods --all-namespaces --field-selector="spec.nodeName=$node_name" --grace-period=5 --wait=false \
    >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    [[ -z $(kubectl get pods --all-namespaces --field-selector="spec.nodeName=$node_name" -o name 2>/dev/null) ]] && return 0
    sleep 0.5
  done
  log "pods of $node_name still there after 60s: removing them by force"
}

# drop_chain IPTABLES TABLE CHAIN: CHAIN, and every rule that jumps to it, gone from TABLE.
drop_chain() {
  local iptables=$1 table=$2 chain=$3 jumps rule
  jumps=$("$iptables-save" -t "$table" 2>/dev/null | grep -E -- "^-A .* -j $chain\$" || true)
  while read -r rule; do
    [[ -z $rule ]] || eval "$iptables -t $table -D ${rule#-A }" || true
  done <<<"$jumps"
  "$iptables" -t "$table" -F "$chain" 2>/dev/null && "$iptables" -t "$table" -X "$chain" 2>/dev/null || true
}

# clean_node: whatever the processes left: containers, shims, mounts, network namespaces, the
# bridge, iptables rules and chains, cgroups. Safe to run twice.
clean_node() {
  local id pid cmdline mnt table chain rule
  if [[ -d $state/containerd/runc/k8s.io ]]; then
    for id in $(runc --root "$state/containerd/runc/k8s.io" list -q 2>/dev/null); do
      runc --root "$state/containerd/runc/k8s.io" delete --force "$id" >/dev/null 2>&1 || true
    done
  fi
  # The shims of this containerd (they outlive it by design), found by the socket they serve.
  for pid in $(pgrep -f containerd-shim || true); do
    cmdline=$(tr '\0' ' ' 2>/dev/null </proc/"$pid"/cmdline || true)
    if [[ $cmdline == *" -address $containerd_socket "* ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  # Deepest first: overlay root file systems, volumes, network namespaces, the kubelet's directory.
  for mnt in $(awk -v dir="$state/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$mnt" 2>/dev/null || true
  done
  ip link del "$pod_bridge" 2>/dev/null || true
  # The bridge plugin's masquerading: a chain per pod, jumped to from POSTROUTING with a comment
  # naming the network.
  local rules
  rules=$(iptables-save -t nat | grep '^-A POSTROUTING .*-m comment' | grep -F -- "$cni_network" || true)
  while read -r rule; do
    [[ -n $rule ]] || continue
    chain=${rule##* -j }
    eval "iptables -t nat -D ${rule#-A }" || true
    iptables -t nat -F "$chain" 2>/dev/null && iptables -t nat -X "$chain" 2>/dev/null || true
  done <<<"$rules"
  if [[ -f $state/kube-proxy.yaml ]]; then
    "$bin/kube-node" kube-proxy --cleanup --config="$state/kube-proxy.yaml" >>"$LOG_DIR/kube-proxy.log" 2>&1 || true
  fi
  # The kubelet's own chains: its canaries (watched to learn that a firewall reload flushed the
  # tables), the hint of which iptables it used, and KUBE-FIREWALL (no martian packets to
  # 127.0.0.0/8), which INPUT and OUTPUT jump to.
  local iptables
  for iptables in iptables ip6tables; do
    for table in mangle nat filter; do drop_chain "$iptables" "$table" KUBE-KUBELET-CANARY; done
    drop_chain "$iptables" mangle KUBE-IPTABLES-HINT
    drop_chain "$iptables" filter KUBE-FIREWALL
  done
  for mnt in $(awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts); do
    if [[ -d $mnt/$cgroup_root ]]; then
      find "$mnt/$cgroup_root" -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
  done
  # The unpacked images (a gigabyte and more) go; the logs stay to be read.
  rm -rf "$state/containerd" "$state/kubelet" "$state/pod-logs" "$state/cni/ipam" "$state/kubelet-sysctl"
}

# load IMAGE...: podman's IMAGEs into the real node's containerd, where pods asking for them with
# imagePullPolicy: Never (or IfNotPresent) find them.
cmd_load() {
  (($# > 0)) || die "usage: $0 load IMAGE..."
  containerd_ready >/dev/null 2>&1 || die "no real node is up: CLUSTER_NODE=real scripts/cluster.sh up"
  local image start id
  for image; do
    start=$SECONDS
    podman image exists "$image" || die "no image $image in podman's storage (scripts/images.sh builds them)"
    # Each import is labelled with podman's image id: the same image is not imported twice.
    id=$(podman image inspect --format '{{.Id}}' "$image")
    if [[ -n $(ctr images ls -q "name==\"$image\",labels.\"storybang.io/podman-id\"==\"$id\"") ]]; then
      log "$image is loaded already"
      continue
    fi
    podman save "$image" | ctr images import - >/dev/null
    ctr images label "$image" "storybang.io/podman-id=$id" >/dev/null
    log "loaded $image in $((SECONDS - start))s"
  done
}
