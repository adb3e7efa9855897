"""A ModelServer's autoscaler, and what its `Autoscaling` condition says about it.

- transformers: an HPA on CPU (`storybang inference` is busy on the CPU while it answers);
- vLLM scales on its waiting requests (`vllm:num_requests_waiting`), which only a metrics
  source can serve: a KEDA ScaledObject reading Prometheus when KEDA is installed and
  `prometheusAddress` is set; else an HPA on the custom metric when the cluster serves the
  custom metrics API (a Prometheus adapter); else no autoscaler at all — an HPA on a metric
  nobody serves would never act — and the server runs `minReplicas` replicas, which the
  condition says;
- `minReplicas: 0` (either engine): the operator sizes the server on the jobs of the Generators
  whose backends point at it (:class:`Demand`): messages waiting in their queues and messages their
  workers hold, since a job that found the server cold waits for it on a worker, its message off
  the list. KEDA's Redis list trigger reads the list alone and would stop a server that such a job
  is waiting for, so it is not used for this. The first job wakes the server as soon as it is
  queued (the operator listens for its enqueue's announcement: `sleepers`), or at the next pass;
  the last replica stops once the queues stayed empty `scaleToZeroAfterSeconds`. Without a
  Generator pointing at the server nothing could wake it: it keeps one replica, which the
  condition says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from storybang_operator import specs
from storybang_operator.builders import common, workerscaling
from storybang_operator.builders.modelplan import Plan
from storybang_operator.specs.modelserver import Autoscaling

# vLLM exposes this gauge; metrics adapters usually rename it without the colon.
VLLM_WAITING_METRIC = "vllm:num_requests_waiting"
VLLM_WAITING_CUSTOM_METRIC = "vllm_num_requests_waiting"


@dataclasses.dataclass(frozen=True)
class Decision:
    """What drives the replicas: `autoscaler` is KEDA, HPA or None (the operator's fixed count,
    `replicas`); `scaling` says whether anything adjusts the count to the load."""

    autoscaler: str | None
    replicas: int | None
    scaling: bool
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class Demand:
    """The jobs for a server scaled from zero, as the operator read them on this pass."""

    queues: Sequence[str]  # the queues of the Generators whose backends point at the server
    jobs: int | None  # waiting in them or held by their workers; None: unreadable
    idle_seconds: float  # how long `jobs` has been 0
    current: int | None  # the Deployment's count now (None: no Deployment yet)


def decide(
    ms: specs.ModelServer, p: Plan, *, keda: bool, custom_metrics: bool, demand: Demand | None = None
) -> Decision:
    """The autoscaler a ModelServer gets, given what the cluster offers (and, with minReplicas 0,
    the jobs waiting for it)."""
    autoscaling = ms.spec.autoscaling
    if autoscaling is None:
        return Decision(
            None, ms.spec.replicas, False, "Off", f"spec.autoscaling is not set: {ms.spec.replicas} replicas"
        )
    if autoscaling.min_replicas == 0:
        return _from_zero(ms, autoscaling, demand)
    bounds = f"{autoscaling.min_replicas}..{autoscaling.max_replicas}"
    if p.engine == "transformers":
        return Decision("HPA", None, True, "CPU", f"an HPA scales {bounds} replicas on CPU")
    if keda and autoscaling.prometheus_address:
        return Decision(
            "KEDA", None, True, "KEDA", f"KEDA scales {bounds} replicas on {VLLM_WAITING_METRIC} from Prometheus"
        )
    if custom_metrics:
        return Decision(
            "HPA",
            None,
            True,
            "CustomMetrics",
            f"an HPA scales {bounds} replicas on the custom metric {VLLM_WAITING_CUSTOM_METRIC}",
        )
    missing = "spec.autoscaling.prometheusAddress is not set" if keda else "KEDA is not installed"
    # spec.replicas within the bounds: turning autoscaling on never stops a running replica.
    count = min(max(ms.spec.replicas, autoscaling.min_replicas), autoscaling.max_replicas)
    return Decision(
        None,
        count,
        False,
        "NoMetricsSource",
        f"vLLM scales on its waiting requests, which nothing serves here ({missing} and the cluster "
        f"serves no custom metrics API): spec.replicas within {bounds}, {count}, not autoscaled",
    )


def _from_zero(ms: specs.ModelServer, autoscaling: Autoscaling, demand: Demand | None) -> Decision:
    high, after = autoscaling.max_replicas, autoscaling.scale_to_zero_after_seconds
    if demand is None or not demand.queues:
        count = min(max(ms.spec.replicas, 1), high)
        return Decision(
            None,
            count,
            False,
            "ScaleToZeroNeedsQueue",
            "minReplicas 0 needs a queue to wake the server, and no Generator's backend points at this "
            f"ModelServer: {count} replicas, not scaled to zero",
        )
    queues = ", ".join(demand.queues)
    if demand.jobs is None:
        count = demand.current if demand.current is not None else 1
        return Decision(
            "Operator", count, False, "QueueUnreadable", f"{queues} cannot be read: {count} replicas stay as they are"
        )
    count = replicas_from_zero(
        demand.jobs,
        demand.current,
        target=autoscaling.target_waiting_requests,
        high=high,
        idle_seconds=demand.idle_seconds,
        after=after,
    )
    return Decision(
        "Operator",
        count,
        True,
        "Queue",
        f"the operator scales 0..{high} replicas on the jobs of {queues} "
        f"({autoscaling.target_waiting_requests} per replica), to zero after {after} s without one: {count} now",
    )


def replicas_from_zero(
    jobs: int, current: int | None, *, target: int, high: int, idle_seconds: float, after: int
) -> int:
    """Replicas for `jobs` waiting or held (KEDA's sum, growing at once and shrinking by one per
    pass, at least one while there is a job); with none, the count stays until the queues were
    empty for `after` seconds, then zero."""
    if jobs > 0:
        return workerscaling.desired_workers(jobs, current, target=target, low=1, high=high)
    if not current or idle_seconds >= after:
        return 0
    return current


def build(
    ms: specs.ModelServer,
    p: Plan,
    decision: Decision,
    *,
    component: str,
    extra: Mapping[str, str],
) -> list[common.Manifest]:
    """The autoscaler of a decision (none when it has none)."""
    autoscaling = ms.spec.autoscaling
    if autoscaling is None or decision.autoscaler in (None, "Operator"):
        return []
    name, low, high = ms.name, autoscaling.min_replicas, autoscaling.max_replicas
    if decision.reason == "CPU":
        return [_cpu(ms, autoscaling, component, extra)]
    target = str(autoscaling.target_waiting_requests)
    if decision.autoscaler == "KEDA":
        query = f'sum({VLLM_WAITING_METRIC}{{namespace="{ms.namespace}",model_name="{p.served_name}"}})'
        trigger = {
            "type": "prometheus",
            "metadata": {"serverAddress": autoscaling.prometheus_address, "query": query, "threshold": target},
        }
        return [
            common.scaled_object(
                ms, name, component, min_replicas=low, max_replicas=high, trigger=trigger, extra_labels=extra
            )
        ]
    metric = {
        "type": "Pods",
        "pods": {
            "metric": {"name": VLLM_WAITING_CUSTOM_METRIC},
            "target": {"type": "AverageValue", "averageValue": target},
        },
    }
    return [common.hpa(ms, name, component, min_replicas=low, max_replicas=high, metrics=[metric], extra_labels=extra)]


def _cpu(ms: specs.ModelServer, autoscaling: Autoscaling, component: str, extra: Mapping[str, str]) -> common.Manifest:
    return common.cpu_hpa(
        ms,
        ms.name,
        component,
        min_replicas=autoscaling.min_replicas,
        max_replicas=autoscaling.max_replicas,
        cpu_percent=autoscaling.target_cpu_utilization_percentage,
        extra_labels=extra,
    )
