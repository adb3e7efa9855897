// Command pause holds a pod's namespaces on the real node of scripts/cluster.sh, as
// registry.k8s.io/pause does elsewhere (no registry is reachable on the machines that run the
// tests, so the sandbox image is made here from this binary alone). It sleeps until SIGINT or
// SIGTERM, and reaps the orphans it inherits when the pod shares its process namespace.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
