// Command kube-node is the node half of the Kubernetes in StoryBang's tests: kubelet and
// kube-proxy in one binary, built from the same k8s.io/kubernetes module as bin/kube, for the real
// node that `CLUSTER_NODE=real scripts/cluster.sh up` starts (see scripts/cluster.sh).
//
// It is a binary of its own, not more commands of bin/kube, so that the control plane's build (all
// that `make test` needs) neither grows nor waits for the kubelet's dependencies (cAdvisor, the CRI
// client, the volume plugins).
//
// It dispatches on its first argument, or on the name it is called by:
//
//	kube-node kubelet | kube-proxy  [flags]
//
// Each command sees exactly the arguments it would see as a binary of its own.
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics on /metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // the kubernetes_build_info metric
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"

	"storybang/tools/cluster/multicall"
)

// commands maps a name to its entry point; each one exits the process itself.
var commands = map[string]func(){
	"kubelet":    func() { os.Exit(cli.Run(kubelet.NewKubeletCommand(context.Background()))) },
	"kube-proxy": func() { os.Exit(cli.Run(proxy.NewProxyCommand())) },
}

func main() {
	multicall.Main("kube-node", commands)
}
