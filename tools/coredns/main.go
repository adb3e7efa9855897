// Command coredns is the cluster DNS of the real node that `CLUSTER_NODE=real scripts/cluster.sh up`
// starts: CoreDNS with only the plugins that serving cluster.local from the API server and
// forwarding everything else takes, built the way CoreDNS documents for a custom plugin set
// (coredns.io/2017/07/25/compile-time-enabling-or-disabling-plugins/). A stock CoreDNS compiles in
// every plugin, the clouds' SDKs among them; this one has the Kubernetes client of bin/kube's
// release (see go.mod).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	// Each package registers its directive when imported.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// directives is the subset of CoreDNS's plugin.cfg, in its order: a query passes through the
// plugins in this order, whatever order the Corefile names them in.
var directives = []string{
	"reload",      // the Corefile is read again when it changes
	"bind",        // listen on the node's address only: the host's own resolver keeps port 53
	"ready",       // /ready once the kubernetes plugin has synced with the API server
	"health",      // /health for scripts/cluster.sh to wait on
	"errors",      // errors to the log
	"log",         // queries to the log (when the Corefile asks)
	"loadbalance", // A and AAAA records shuffled, as kube-dns does
	"cache",       // answers kept for their TTL
	"kubernetes",  // cluster.local from Services and EndpointSlices
	"loop",        // refuse to start when forwarding would come back to this server
	"forward",     // everything else to the host's resolvers
}

func init() {
	dnsserver.Directives = directives
}

func main() {
	coremain.Run()
}
