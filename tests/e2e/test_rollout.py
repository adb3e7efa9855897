"""Rollouts of model servers: the Deployment strategy follows the replicas, and the API server
takes every change of it (a Recreate after a rolling update keeps no rollingUpdate behind)."""

from __future__ import annotations

from typing import Any

from conftest import StartOperator
from kube import Cluster, eventually


def _server(replicas: int, *, gpus: int) -> dict[str, Any]:
    return {
        "apiVersion": "storybang.io/v1alpha1",
        "kind": "ModelServer",
        "metadata": {"name": "rolling"},
        "spec": {
            "engine": "vllm",
            "model": {"huggingFace": {"id": "HuggingFaceTB/SmolLM2-135M-Instruct"}},
            "gpu": {"count": gpus},
            "replicas": replicas,
            "cache": {"size": "1Gi", "accessMode": "ReadWriteMany"},
        },
    }


def test_the_strategy_follows_the_replicas_and_the_gpus(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    start_operator(namespace)

    def strategy() -> dict[str, Any] | None:
        found = cluster.apps.list_namespaced_deployment(namespace, field_selector="metadata.name=rolling").items
        if not found:
            return None
        value: dict[str, Any] = cluster.apps.api_client.sanitize_for_serialization(found[0].spec.strategy)
        return value

    one_at_a_time_no_surge = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    one_at_a_time_surge = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    steps = [
        (_server(2, gpus=1), one_at_a_time_no_surge),
        (_server(1, gpus=1), {"type": "Recreate"}),
        (_server(1, gpus=0), one_at_a_time_surge),
        (_server(1, gpus=1), {"type": "Recreate"}),
    ]
    for doc, expected in steps:
        cluster.apply(namespace, [doc])
        eventually(lambda expected=expected: strategy() == expected, timeout=60)
