"""How many workers a Generator runs, and who decides.

Workers wait on model backends over HTTP at next to no CPU, so CPU says nothing about their
load; the queue does. With KEDA installed a ScaledObject on the task's Redis list scales them
(to zero when the Generator allows it). Without KEDA the operator does KEDA's sum itself on every
pass: ceil(waiting messages / target per worker) within the bounds, read from the same Redis list.
It grows at once and shrinks by one worker per pass, so that a queue emptied for a moment between
two bursts does not stop the workers that are about to be needed (and a shrink never stops more
than one worker's jobs at a time). When the queue cannot be read the count stays as it is.
"""

from __future__ import annotations

import dataclasses
import math

from storybang_operator import specs
from storybang_operator.builders import common

COMPONENT = "worker"
# Dramatiq's Redis broker keeps a queue's pending message ids in the list "<namespace>:<queue>",
# and the namespace is "dramatiq" (dramatiq/brokers/redis.py; enqueue.lua LPUSHes there).
QUEUE_PREFIX = "dramatiq:"
# Seconds between two looks at the queue by KEDA.
KEDA_POLLING_SECONDS = 15


def queue_key(task: str) -> str:
    return f"{QUEUE_PREFIX}{task}"


@dataclasses.dataclass(frozen=True)
class Plan:
    autoscaler: str  # KEDA, or Operator (the count set by the operator from the queue)
    min_replicas: int
    max_replicas: int
    replicas: int | None  # the Deployment's count; None when KEDA owns it
    observed: bool  # whether the count follows the queue now (False: the queue is unreadable)
    reason: str
    message: str


def plan(gen: specs.Generator, *, keda: bool, queue_depth: int | None, current: int | None) -> Plan:
    """The workers' autoscaler and count, from the queue depth (None: unknown) and the count the
    Deployment has now (None: no Deployment yet).

    Scale to zero needs KEDA: the operator looks at the queue only once per pass, and a job
    should not wait for that look. Without KEDA a minimum of 0 becomes 1, and the reason says so."""
    workers = gen.spec.workers
    low, high = workers.min_replicas, workers.max_replicas
    if keda:
        return Plan("KEDA", low, high, None, True, "KEDA", "KEDA scales the workers on the queue length")
    low = max(low, 1)
    count = desired_workers(queue_depth, current, target=workers.target_queue_depth, low=low, high=high)
    key = queue_key(gen.spec.task)
    if queue_depth is None:
        return Plan(
            "Operator",
            low,
            high,
            count,
            False,
            "QueueUnreadable",
            f"{key} cannot be read: the workers stay as they are",
        )
    how = f"from the length of {key} ({workers.target_queue_depth} waiting per worker, {low}..{high} workers)"
    if workers.min_replicas == 0:
        return Plan(
            "Operator",
            low,
            high,
            count,
            True,
            "ScaleToZeroNeedsKEDA",
            f"KEDA is not installed: the operator scales the workers {how}; scale to zero is off",
        )
    return Plan(
        "Operator", low, high, count, True, "Queue", f"KEDA is not installed: the operator scales the workers {how}"
    )


def desired_workers(depth: int | None, current: int | None, *, target: int, low: int, high: int) -> int:
    """KEDA's sum for a list trigger (ceil(depth / target)), growing at once, shrinking by one per
    pass, within [low, high]; the current count when the depth is unknown."""
    if depth is None:
        wanted = current if current is not None else low
    else:
        wanted = math.ceil(depth / max(target, 1))
        if current is not None and wanted < current:
            wanted = current - 1
    return min(max(wanted, low), high)


def build_keda(gen: specs.Generator, plat: specs.Platform, p: Plan, extra: dict[str, str]) -> list[common.Manifest]:
    """A ScaledObject on the Redis list and the TriggerAuthentication that points KEDA at the
    Platform's Redis Secret (KEDA reads it itself; the operator never copies the values)."""
    workers, redis = gen.spec.workers, plat.spec.datastores.redis
    name = gen.name
    auth_name = f"{name}-redis"
    secret_refs = [{"parameter": "address", "name": redis.secret_name, "key": redis.address_key}]
    if redis.password_key:
        secret_refs.append({"parameter": "password", "name": redis.secret_name, "key": redis.password_key})
    trigger = {
        "type": "redis",
        "metadata": {
            "listName": queue_key(gen.spec.task),
            "listLength": str(workers.target_queue_depth),
            "activationListLength": "0",
            "databaseIndex": str(redis.database_index),
            "enableTLS": "true" if redis.tls else "false",
        },
        "authenticationRef": {"name": auth_name},
    }
    return [
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "TriggerAuthentication",
            "metadata": common.metadata(gen, auth_name, COMPONENT, extra_labels=extra),
            "spec": {"secretTargetRef": secret_refs},
        },
        common.scaled_object(
            gen,
            name,
            COMPONENT,
            min_replicas=p.min_replicas,
            max_replicas=p.max_replicas,
            trigger=trigger,
            polling_seconds=KEDA_POLLING_SECONDS,
            cooldown_seconds=workers.cooldown_seconds,
            extra_labels=extra,
        ),
    ]
