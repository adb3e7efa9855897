"""An operator killed with SIGKILL in the middle of reconciling converges after a restart, with
exactly one of each child: names are fixed and applies are idempotent."""

from __future__ import annotations

import copy
import time
from collections import Counter
from typing import Any

from conftest import StartOperator
from kube import OWNER_UID_LABEL, Cluster, example

GENERATORS = 40


def _generators() -> list[dict[str, Any]]:
    template = example("generator-story-xai.yaml")
    template["spec"]["backends"] = [b for b in template["spec"]["backends"] if "external" in b]
    docs = []
    for n in range(GENERATORS):
        doc = copy.deepcopy(template)
        doc["metadata"]["name"] = f"story-{n:02d}"
        docs.append(doc)
    return docs


def test_an_operator_killed_mid_reconcile_converges_without_duplicates(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    docs = [example("platform.yaml"), *_generators()]
    cluster.apply(namespace, docs)
    operator = start_operator(namespace)

    # Kill it as soon as some workers exist and others not yet.
    deadline = time.monotonic() + 120
    while True:
        made = len(cluster.apps.list_namespaced_deployment(namespace).items)
        if 0 < made < GENERATORS:
            operator.kill()
            break
        assert made < GENERATORS, "the operator finished before it could be killed"
        assert time.monotonic() < deadline, "the operator made nothing"
        time.sleep(0.05)
    killed_at = made

    operator.start()
    cluster.wait_all_ready(namespace, docs, timeout=240)
    assert 0 < killed_at < GENERATORS

    generators = {g["metadata"]["uid"]: g["metadata"]["name"] for g in cluster.resources(namespace, "Generator")}
    deployments = cluster.apps.list_namespaced_deployment(namespace).items
    for objects in (deployments,):
        owners = Counter(o.metadata.labels[OWNER_UID_LABEL] for o in objects)
        assert owners == Counter(generators.keys()), owners  # one each, none orphaned
        for obj in objects:
            [reference] = obj.metadata.owner_references
            assert generators[reference.uid] == obj.metadata.name
    # Each Deployment rolled out once: no second ReplicaSet from a rendering that changed, and
    # exactly its one pod.
    replicasets = Counter(
        rs.metadata.owner_references[0].name for rs in cluster.apps.list_namespaced_replica_set(namespace).items
    )
    assert set(replicasets.values()) == {1}, replicasets
    pods = cluster.core.list_namespaced_pod(namespace).items
    assert len(pods) == GENERATORS
