"""Operator benchmark (part of `make bench`): prints figures, asserts nothing.

1. Time for N Generators (and their Platform) to become Ready under the operator, against
   `kubectl apply --server-side` of the same children (rendered by the operator's own pure
   builders) reaching the same state: every worker Deployment available. Both on the same
   cluster, fake nodes and pods alike, so that the ratio is the operator's overhead.
2. API writes per resync of converged resources (the answer should be 0), counted by the API
   server itself (`apiserver_request_total`, mutating verbs that are not dry runs, on what the
   operator writes), and by the operator's own counters; with the reads and dry-run applies a
   resync costs.
3. API requests per second in that steady state, by verb, from `apiserver_request_total`: over
   the same resync periods with the operator running, then over as long a window once it has
   stopped (the controllers and kwok alone). The difference is the operator's; the counter has
   no label for the client.

    .venv/bin/python tests/e2e/bench_operator.py                 # N = 100 and 500
    .venv/bin/python tests/e2e/bench_operator.py --sizes 1000    # the issue's 1,000 Generators
    .venv/bin/python tests/e2e/bench_operator.py --sizes 50 --resyncs 2

It starts `scripts/cluster.sh up` (and `down` after), or uses STORYBANG_E2E_KUBECONFIG.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from cluster import local_cluster
from conftest import platform_secrets
from kube import REPO, Cluster, eventually, eventually_gone, example
from operator_process import OperatorProcess
from storybang_operator import specs
from storybang_operator.builders import generator as generator_builder
from storybang_operator.builders import platform as platform_builder
from storybang_operator.builders import workerscaling
from storybang_testing.kube import fake_node
from storybang_testing.redis import redis_server

BENCH_NODES = 2  # extra fake nodes, 1,000 pods each: the default two hold 110 each
MAX_SIZE = BENCH_NODES * 1000  # one worker pod per Generator
RESYNC_SECONDS = 10
# What the operator writes; native kinds' status subresources are the controllers' to write.
OPERATOR_RESOURCES = {
    "deployments", "horizontalpodautoscalers", "configmaps", "serviceaccounts", "services",
    "ingresses", "networkpolicies", "poddisruptionbudgets", "persistentvolumeclaims",
    "scaledobjects", "triggerauthentications",
    "platforms", "domainservices", "generators", "modelservers",
}  # fmt: skip
CUSTOM = {"platforms", "domainservices", "generators", "modelservers"}
WRITE_VERBS = {"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"}
SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def generators(n: int) -> list[dict[str, Any]]:
    """N story Generators calling an external API (no ModelServer to wait for)."""
    template = example("generator-story-xai.yaml")
    template["spec"]["backends"] = [b for b in template["spec"]["backends"] if "external" in b]
    docs = []
    for i in range(n):
        doc = copy.deepcopy(template)
        doc["metadata"]["name"] = f"story-{i:03d}"
        docs.append(doc)
    return docs


def rendered(cluster: Cluster, namespace: str, n: int) -> list[dict[str, Any]]:
    """The children the operator would make, from its pure builders, without owners (nothing
    owns them when kubectl applies them). The resources are defaulted by the API server itself
    (a server-side dry run), as the operator receives them."""
    docs = [example("platform.yaml"), *generators(n)]
    done = cluster.kubectl(
        "apply", "--server-side", "--dry-run=server", "-n", namespace, "-o", "json", "-f", "-",
        stdin=yaml.safe_dump_all(docs), timeout=patience(n),
    )  # fmt: skip
    found = json.loads(done.stdout)
    bodies = found["items"] if found.get("kind") == "List" else [found]
    [plat] = [specs.parse(b, specs.Platform) for b in bodies if b["kind"] == "Platform"]
    manifests = platform_builder.build(plat, [])
    for body in bodies:
        if body["kind"] == "Generator":
            gen = specs.parse(body, specs.Generator)
            plan = workerscaling.plan(gen, keda=False, queue_depth=0, current=None)
            manifests += generator_builder.build(gen, plat, {}, plan=plan)
    for manifest in manifests:
        manifest["metadata"].pop("ownerReferences", None)
        manifest["metadata"]["labels"].pop("storybang.io/owner-uid", None)
    return manifests


def patience(n: int) -> float:
    """How long N Generators (or their children) may take to be applied or become Ready: 900s,
    and more beyond 500 on a machine that has two cores."""
    return max(900.0, 1.8 * n)


def apply_server_side(cluster: Cluster, namespace: str, docs: list[dict[str, Any]]) -> None:
    cluster.kubectl(
        "apply", "--server-side", "--field-manager=bench", "-n", namespace, "-f", "-",
        stdin=yaml.safe_dump_all(docs), timeout=patience(len(docs)),
    )  # fmt: skip


def available_deployments(cluster: Cluster, namespace: str) -> int:
    items = cluster.apps.list_namespaced_deployment(namespace).items
    return sum(1 for d in items if d.spec.replicas and d.status.available_replicas == d.spec.replicas)


def ready_generators(cluster: Cluster, namespace: str) -> int:
    def ready(obj: dict[str, Any]) -> bool:
        st = obj.get("status") or {}
        cond = next((c for c in st.get("conditions", []) if c["type"] == "Ready"), {})
        return cond.get("status") == "True" and st.get("observedGeneration") == obj["metadata"]["generation"]

    return sum(1 for g in cluster.resources(namespace, "Generator") if ready(g))


@contextlib.contextmanager
def namespace(cluster: Cluster, redis_url: str) -> Iterator[str]:
    name = cluster.create_namespace("bench")
    platform_secrets(cluster, name, redis_url)
    try:
        yield name
    finally:
        cluster.delete_namespace(name)
        # The next measurement should not pay for this one's 500 pods going away.
        eventually_gone(lambda: cluster.core.read_namespace(name), timeout=patience(MAX_SIZE))


def time_kubectl(cluster: Cluster, redis_url: str, n: int) -> float:
    with namespace(cluster, redis_url) as ns:
        docs = rendered(cluster, ns, n)
        started = time.monotonic()
        apply_server_side(cluster, ns, docs)
        eventually(lambda: available_deployments(cluster, ns) == n, timeout=patience(n), interval=1)
        return time.monotonic() - started


def time_operator(
    cluster: Cluster, redis_url: str, n: int, log_dir: Path, resyncs: int
) -> tuple[float, dict[str, float], dict[str, tuple[float, float]]]:
    """Seconds to Ready; with `resyncs`, the writes of that many resync periods and the
    requests per second by verb with the operator and without."""
    with namespace(cluster, redis_url) as ns:
        operator = OperatorProcess(
            cluster.kubeconfig,
            [ns],
            log_dir / f"operator-{n}.log",
            {
                "STORYBANG_OPERATOR_RESYNC_SECONDS": str(RESYNC_SECONDS),
                "STORYBANG_OPERATOR_RESYNC_INITIAL_DELAY_SECONDS": "5",
                "STORYBANG_OPERATOR_RETRY_DELAY_SECONDS": "15",
                "STORYBANG_OPERATOR_KEDA_CHECK_SECONDS": "300",
            },
        ).start()
        try:
            docs = [example("platform.yaml"), *generators(n)]
            started = time.monotonic()
            apply_server_side(cluster, ns, docs)
            eventually(lambda: ready_generators(cluster, ns) == n, timeout=patience(n), interval=1)
            elapsed = time.monotonic() - started
            writes, running = count_resync_writes(cluster, operator, ns, resyncs) if resyncs else ({}, {})
        finally:
            operator.stop()
        if not resyncs:
            return elapsed, writes, {}
        # The same cluster and resources, the operator stopped: what the rest asks meanwhile.
        time.sleep(RESYNC_SECONDS)  # its last requests (and watches) have ended
        before = apiserver_requests(cluster)
        time.sleep(resyncs * RESYNC_SECONDS)
        alone = per_second(apiserver_requests(cluster) - before, resyncs * RESYNC_SECONDS)
        verbs = sorted(set(running) | set(alone))
        return elapsed, writes, {verb: (running.get(verb, 0.0), alone.get(verb, 0.0)) for verb in verbs}


def per_second(delta: Counter[tuple[str, str, str, str]], seconds: float) -> dict[str, float]:
    """Requests per second by verb; dry runs apart (`PATCH (dry run)`: the operator's compares)."""
    by_verb: Counter[str] = Counter()
    for (verb, dry_run, _, _), value in delta.items():
        by_verb[f"{verb} (dry run)" if dry_run else verb] += value
    return {verb: value / seconds for verb, value in by_verb.items()}


def kopf_in_progress(cluster: Cluster, ns: str) -> list[str]:
    """Resources on which Kopf keeps a handler's progress (a retry to come)."""
    done = {
        "operator.storybang.io/last-handled-configuration",
        "operator.storybang.io/kopf-managed",
    }
    return [
        g["metadata"]["name"]
        for g in cluster.resources(ns, "Generator") + cluster.resources(ns, "Platform")
        if any(k.startswith("operator.storybang.io/") and k not in done for k in g["metadata"].get("annotations", {}))
    ]


def apiserver_requests(cluster: Cluster) -> Counter[tuple[str, str, str, str]]:
    """apiserver_request_total by (verb, dry_run, resource, subresource), summed over codes."""
    text = cluster.kubectl("get", "--raw", "/metrics").stdout
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        key = (labels.get("verb", ""), labels.get("dry_run", ""), labels.get("resource", ""),
               labels.get("subresource", ""))  # fmt: skip
        counts[key] += int(float(match["value"]))
    return counts


def count_resync_writes(
    cluster: Cluster, operator: OperatorProcess, ns: str, resyncs: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Writes and requests over `resyncs` resync periods of converged resources; and every
    request the API server served meanwhile, per second by verb."""
    # Converged: Kopf has no handler left to retry (its progress annotations are gone), and a
    # full resync period has passed since.
    eventually(lambda: not kopf_in_progress(cluster, ns), timeout=300, interval=1)
    time.sleep(RESYNC_SECONDS)
    before_server = apiserver_requests(cluster)
    before_reconciles = operator.metric("storybang_operator_reconciles_total", trigger="resync")
    before_children = operator.metric("storybang_operator_child_writes_total")
    before_status = operator.metric("storybang_operator_status_writes_total")
    started_at = time.time()
    time.sleep(resyncs * RESYNC_SECONDS)
    delta = apiserver_requests(cluster) - before_server
    rates = per_second(delta, resyncs * RESYNC_SECONDS)
    written = {
        key: v
        for key, v in delta.items()
        if key[0] in WRITE_VERBS and not key[1] and key[2] in OPERATOR_RESOURCES
        and (key[3] == "" or key[2] in CUSTOM)
    }  # fmt: skip
    writes = sum(written.values())
    if written:
        print(f"  writes by (verb, dry run, resource, subresource): {dict(written)}", flush=True)
    dry_runs = sum(v for (verb, dry, r, _), v in delta.items() if dry and r in OPERATOR_RESOURCES)
    gets = sum(v for (verb, _, r, _), v in delta.items() if verb in ("GET", "LIST") and r in OPERATOR_RESOURCES)
    events = [
        e
        for e in cluster.events(ns)
        if (e.source and e.source.component in ("kopf", "storybang-operator"))
        and e.last_timestamp and e.last_timestamp.timestamp() >= started_at
    ]  # fmt: skip
    return {
        "resync passes": operator.metric("storybang_operator_reconciles_total", trigger="resync") - before_reconciles,
        "server-side writes": writes,
        "operator child writes": operator.metric("storybang_operator_child_writes_total") - before_children,
        "operator status writes": operator.metric("storybang_operator_status_writes_total") - before_status,
        "operator events": len(events),
        "dry-run applies": dry_runs,
        "reads (GET+LIST)": gets,
    }, rates


@contextlib.contextmanager
def bench_nodes(cluster: Cluster) -> Iterator[None]:
    nodes = []
    for i in range(BENCH_NODES):
        node = fake_node(f"kwok-bench-{i}", pods=1000)
        node["status"]["allocatable"] |= {"cpu": "1000", "memory": "4Ti"}
        node["status"]["capacity"] = node["status"]["allocatable"]
        nodes.append(node)
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(nodes))
    cluster.kubectl("wait", "--for=condition=Ready", "node", "-l", "type=kwok", "--timeout=60s")
    try:
        yield
    finally:
        for node in nodes:
            cluster.kubectl("delete", "node", node["metadata"]["name"], "--wait=false", check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500", help=f"Generator counts, comma-separated (at most {MAX_SIZE})")
    parser.add_argument("--resyncs", type=int, default=3, help="resync periods to count writes over")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if not all(0 < n <= MAX_SIZE for n in sizes):
        parser.error(f"each size must be between 1 and {MAX_SIZE} (the bench nodes' pods)")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-operator-"))
    rows = []
    with local_cluster() as cluster, redis_server() as redis, bench_nodes(cluster):
        redis_url = redis.url
        cluster.kubectl(
            "apply", "--server-side", "-f", str(REPO / "crds"), "-f",
            str(REPO / "charts" / "storybang" / "crds" / "kopf.dev_peerings.yaml"),
        )  # fmt: skip
        for crd in ("platforms", "domainservices", "generators", "modelservers"):
            cluster.kubectl("wait", "--for=condition=Established", f"crd/{crd}.storybang.io")
        for n in sizes:
            kubectl_s = time_kubectl(cluster, redis_url, n)
            print(f"kubectl apply --server-side, {n} generators: {kubectl_s:.1f}s", flush=True)
            resyncs = args.resyncs if n == max(sizes) else 0
            operator_s, writes, load = time_operator(cluster, redis_url, n, log_dir, resyncs)
            print(f"operator, {n} generators: {operator_s:.1f}s", flush=True)
            rows.append((n, kubectl_s, operator_s, writes, load))

    print()
    print("Generators Ready: the operator against kubectl apply --server-side of the same children")
    print(f"{'N':>5} {'kubectl (s)':>12} {'operator (s)':>13} {'ratio':>6}")
    for n, kubectl_s, operator_s, _, _ in rows:
        print(f"{n:>5} {kubectl_s:>12.1f} {operator_s:>13.1f} {operator_s / kubectl_s:>6.2f}")
    for n, _, _, writes, load in rows:
        if writes:
            print()
            print(f"{args.resyncs} resync periods of {RESYNC_SECONDS}s, {n} converged generators:")
            for name, value in writes.items():
                per = value / args.resyncs
                print(f"  {name:<24} {value:>8.0f}  ({per:.1f} per resync period)")
        if load:
            print()
            print(f"API requests per second in that steady state ({n} generators), by verb:")
            print(f"  {'verb':<18} {'with operator':>14} {'without':>9} {'operator':>9}")
            for verb, (running, alone) in load.items():
                print(f"  {verb:<18} {running:>14.2f} {alone:>9.2f} {running - alone:>9.2f}")
            running_total, alone_total = (sum(pair[i] for pair in load.values()) for i in (0, 1))
            print(f"  {'all':<18} {running_total:>14.2f} {alone_total:>9.2f} {running_total - alone_total:>9.2f}")
    print(f"\noperator logs: {log_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
