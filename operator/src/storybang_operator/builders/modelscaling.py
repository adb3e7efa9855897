"""A ModelServer's autoscaler: on CPU for transformers; on vLLM's waiting requests for vLLM, with
a KEDA ScaledObject reading Prometheus when both are there, else an HPA on the custom metric a
metrics adapter serves."""

from __future__ import annotations

from collections.abc import Mapping

from storybang_operator import specs
from storybang_operator.builders import common
from storybang_operator.builders.modelplan import Plan
from storybang_operator.specs.modelserver import Autoscaling

# vLLM exposes this gauge; metrics adapters usually rename it without the colon.
VLLM_WAITING_METRIC = "vllm:num_requests_waiting"
VLLM_WAITING_CUSTOM_METRIC = "vllm_num_requests_waiting"


def build(
    ms: specs.ModelServer,
    p: Plan,
    autoscaling: Autoscaling,
    *,
    component: str,
    keda: bool,
    extra: Mapping[str, str],
) -> list[common.Manifest]:
    name = ms.name
    low, high = autoscaling.min_replicas, autoscaling.max_replicas
    if p.engine == "transformers":
        return [
            common.cpu_hpa(
                ms,
                name,
                component,
                min_replicas=low,
                max_replicas=high,
                cpu_percent=autoscaling.target_cpu_utilization_percentage,
                extra_labels=extra,
            )
        ]
    target = autoscaling.target_waiting_requests
    if keda and autoscaling.prometheus_address:
        query = f'sum({VLLM_WAITING_METRIC}{{namespace="{ms.namespace}",model_name="{p.served_name}"}})'
        return [
            {
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "ScaledObject",
                "metadata": common.metadata(ms, name, component, extra_labels=extra),
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "minReplicaCount": low,
                    "maxReplicaCount": high,
                    "triggers": [
                        {
                            "type": "prometheus",
                            "metadata": {
                                "serverAddress": autoscaling.prometheus_address,
                                "query": query,
                                "threshold": str(target),
                            },
                        }
                    ],
                },
            }
        ]
    return [
        common.hpa(
            ms,
            name,
            component,
            min_replicas=low,
            max_replicas=high,
            metrics=[
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": VLLM_WAITING_CUSTOM_METRIC},
                        "target": {"type": "AverageValue", "averageValue": str(target)},
                    },
                }
            ],
            extra_labels=extra,
        )
    ]
