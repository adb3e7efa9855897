// Command kube is a whole Kubernetes control plane in one binary, built from the Go module proxy so
// that StoryBang's end-to-end tests get a real API server on machines without Docker (see
// scripts/cluster.sh, which starts it).
//
// It dispatches on its first argument, or on the name it is called by (a bin/kubectl symlink):
//
//	kube etcd | kube-apiserver | kube-controller-manager | kube-scheduler | kubectl | version  [flags]
//
// Each command sees exactly the arguments it would see as a binary of its own.
package main

import (
	"fmt"
	"os"
	_ "time/tzdata" // CronJob time zones, as the upstream binaries do

	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics on /metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // the kubernetes_build_info metric
	"k8s.io/component-base/version"
	kubectl "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"

	"storybang/tools/cluster/multicall"
)

// commands maps a name to its entry point; each one exits the process itself.
var commands = map[string]func(){
	"etcd":                    func() { etcdmain.Main(os.Args) },
	"kube-apiserver":          func() { os.Exit(cli.Run(apiserver.NewAPIServerCommand())) },
	"kube-controller-manager": func() { os.Exit(cli.Run(controllermanager.NewControllerManagerCommand())) },
	"kube-scheduler":          func() { os.Exit(cli.Run(scheduler.NewSchedulerCommand())) },
	"kubectl":                 runKubectl,
	"version":                 func() { fmt.Println(version.Get().String()) },
}

func main() {
	multicall.Main("kube", commands)
}

// runKubectl mirrors k8s.io/kubernetes/cmd/kubectl: the log verbosity is read before the command
// is built, because building it already logs (plugins, .kuberc).
func runKubectl() {
	logs.GlogSetter(kubectl.GetLogVerbosity(os.Args)) //nolint:errcheck // as upstream
	if err := cli.RunNoErrOutput(kubectl.NewDefaultKubectlCommand()); err != nil {
		kubectlutil.CheckErr(err)
	}
}
