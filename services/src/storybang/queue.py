"""The job queue: Dramatiq on Redis, or Dramatiq's in-process broker in the embedded default.

A message carries the job id and nothing else — never a token, never the job's content: workers
read the job from the document store, where it is owner-scoped like everything else.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from storybang.settings import Settings


def actor_name(task: str) -> str:
    return f"run_{task}"


def make_broker(settings: Settings) -> dramatiq.Broker:
    """The broker. Enqueueing needs no event loop; a worker adds its own with the runtime
    (:class:`storybang.generation.worker.Lifecycle`)."""
    broker: dramatiq.Broker
    if settings.redis.url is not None and settings.redis.url.get_secret_value():
        broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=settings.redis.url.get_secret_value(),
            namespace=settings.worker.queue_namespace,
            heartbeat_timeout=settings.worker.heartbeat_timeout_seconds * 1000,
            # Requeueing a dead worker's messages is "maintenance"; do it often enough that a
            # killed pod's jobs come back soon after its heartbeat times out.
            maintenance_chance=settings.worker.maintenance_chance,
        )
    else:
        broker = StubBroker()
    broker.add_middleware(CurrentMessage())
    return broker


def enqueue(broker: dramatiq.Broker, task: str, job_id: str) -> None:
    """Send one job to its task's queue (the queue name is the task name)."""
    broker.enqueue(
        dramatiq.Message(queue_name=task, actor_name=actor_name(task), args=(job_id,), kwargs={}, options={})
    )
