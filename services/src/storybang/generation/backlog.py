"""How far behind the job queues are: depth and the age of the oldest waiting job of every task.

Exported by the generation API, not the workers, because a task whose workers are scaled to zero
(or crashed) still has a queue, and that queue is what the alerts must see. The figures are read
from the broker at scrape time (the Prometheus way for state that lives elsewhere): with Redis, a
task's queue is the list ``<namespace>:<task>`` of message ids, oldest first, with the messages in
the hash ``<namespace>:<task>.msgs``, and its retries wait in ``<namespace>:<task>.DQ``; the
in-process broker of `storybang dev` keeps the same queues in memory.

Not counted: messages a worker has fetched but not yet started (Dramatiq prefetches up to twice its
threads), so the depth can be low by that much while every worker is busy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from storybang import logs

log = logs.get(__name__)


@dataclass(frozen=True)
class Queue:
    task: str
    depth: int
    oldest_age_seconds: float  # 0 when empty


def _age(message: bytes | str | None, now_ms: int) -> float:
    if message is None:
        return 0.0
    timestamp = json.loads(message).get("message_timestamp", now_ms)
    return max(0.0, (now_ms - int(timestamp)) / 1000)


def read(broker: dramatiq.Broker, tasks: Iterable[str]) -> list[Queue]:
    """The queues of ``tasks`` as the broker holds them now."""
    now_ms = int(time.time() * 1000)
    keys = {task: (task, dq_name(task)) for task in tasks}  # the queue and its retries
    if isinstance(broker, RedisBroker):
        return _from_redis(broker, keys, now_ms)
    if isinstance(broker, StubBroker):
        queues = []
        for task, names in keys.items():
            pending = [broker.queues[q] for q in names if q in broker.queues]
            heads = [p.queue[0] for p in pending if p.queue]
            age = max((_age(head, now_ms) for head in heads), default=0.0)
            queues.append(Queue(task, sum(p.qsize() for p in pending), age))
        return queues
    return []


def _from_redis(broker: RedisBroker, keys: dict[str, tuple[str, str]], now_ms: int) -> list[Queue]:
    # Two round trips for every task together: lengths and head ids, then the head messages.
    ns, client = broker.namespace, broker.client
    names = [name for pair in keys.values() for name in pair]
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.llen(f"{ns}:{name}")
        pipe.lindex(f"{ns}:{name}", 0)
    answers = pipe.execute()
    lengths = dict(zip(names, answers[0::2], strict=True))
    heads = {name: head for name, head in zip(names, answers[1::2], strict=True) if head is not None}
    pipe = client.pipeline(transaction=False)
    for name, head in heads.items():
        pipe.hget(f"{ns}:{name}.msgs", head)
    messages = dict(zip(heads, pipe.execute(), strict=True))
    return [
        Queue(
            task,
            sum(int(lengths[name]) for name in pair),
            max((_age(messages.get(name), now_ms) for name in pair), default=0.0),
        )
        for task, pair in keys.items()
    ]


class Backlog(Collector):
    """Yields the queue gauges of the broker it watches (none before :meth:`watch`)."""

    def __init__(self) -> None:
        self.broker: dramatiq.Broker | None = None
        self.tasks: tuple[str, ...] = ()

    def watch(self, broker: dramatiq.Broker | None, tasks: Iterable[str] = ()) -> None:
        self.broker, self.tasks = broker, tuple(tasks)

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "storybang_generation_queue_depth",
            "Jobs waiting in a task's queue (retries included), by task.",
            labels=["task"],
        )
        oldest = GaugeMetricFamily(
            "storybang_generation_queue_oldest_job_age_seconds",
            "Age of the oldest job waiting in a task's queue (0 when none waits), by task.",
            labels=["task"],
        )
        if self.broker is not None:
            try:
                queues = read(self.broker, self.tasks)
            except redis.RedisError as e:
                # Without its figures the alerts on them go quiet; "Redis down" is its own alert.
                log.warning("queue figures unavailable", error=str(e))
                queues = []
            for q in queues:
                depth.add_metric([q.task], q.depth)
                oldest.add_metric([q.task], q.oldest_age_seconds)
        yield depth
        yield oldest

    def describe(self) -> Iterator[Metric]:
        return iter(())  # collected at scrape time only


BACKLOG = Backlog()
REGISTRY.register(BACKLOG)
