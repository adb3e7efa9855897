"""The job queue: Dramatiq on Redis, or Dramatiq's in-process broker in the embedded default.

A message carries the job id and nothing else — never a token, never the job's content: workers
read the job from the document store, where it is owner-scoped like everything else.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import defaultdict
from typing import Any

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import compute_backoff
from dramatiq.middleware import CurrentMessage

from storybang import logs
from storybang.settings import Settings

log = logs.get(__name__)

# How long the wake-up listener waits before reconnecting after Redis went away.
RECONNECT_SECONDS = 1.0
# Misses before a waking consumer's first wait: 5 ms x 2^3, 40 to 80 ms. It is woken when a message
# is queued or one of its messages is done, so its polls are only the fallback, and each is a fetch.
FIRST_MISS = 3


def actor_name(task: str) -> str:
    return f"run_{task}"


def make_broker(settings: Settings) -> dramatiq.Broker:
    """The broker. Enqueueing needs no event loop; a worker adds its own with the runtime
    (:class:`storybang.generation.worker.Lifecycle`)."""
    broker: dramatiq.Broker
    if settings.redis.url is not None and settings.redis.url.get_secret_value():
        broker = WakingRedisBroker(
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


class _WakingConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer, which polls an empty queue with a growing back-off, made to wake
    as soon as a message is enqueued: it waits on an event the broker's wake-up listener sets
    instead of sleeping. When it holds all the messages it may, it is also woken as one of them is
    done (:class:`_WakeOnDone`): the consumer's thread acks it and fetches the next in the place it
    frees, rather than at its next poll. The back-off stays as the fallback when a wake-up is missed (the listener
    reconnecting, a message put back by Dramatiq's maintenance), and starts at :data:`FIRST_MISS`."""

    def __init__(self, broker: WakingRedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        # Dramatiq's own loop gets no back-off (it returns at once on a miss); this one waits.
        super().__init__(broker, queue_name, prefetch, 0)  # type: ignore[no-untyped-call]
        self.wake = threading.Event()
        self.max_wait_ms = timeout
        self.idle = 0

    def __next__(self) -> Any:
        self.wake.clear()  # before the fetch: a message enqueued after it sets the event again
        message = super().__next__()  # type: ignore[no-untyped-call]
        if message is None:
            self.idle, wait_ms = compute_backoff(max(self.idle, FIRST_MISS), max_backoff=self.max_wait_ms)
            self.wake.wait(wait_ms / 1000)
        else:
            self.idle = 0
        return message


class _WakeOnDone(dramatiq.Middleware):
    """Wakes the consumers of a message's queue that hold all the messages they may (so fetch none)
    when a worker thread is done with one of them."""

    def __init__(self, broker: WakingRedisBroker) -> None:
        self.broker = broker

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        self.broker.wake(message.queue_name, full_only=True)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.broker.wake(message.queue_name, full_only=True)


class WakingRedisBroker(RedisBroker):
    """Dramatiq's Redis broker whose consumers take a message within a Redis round trip of its
    enqueueing rather than after their polling back-off: every enqueue also publishes the queue's
    name on ``<namespace>:wake``, and each worker process listens there (one Pub/Sub connection)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self.wake_channel = f"{self.namespace}:wake"
        self._waiting: defaultdict[str, weakref.WeakSet[_WakingConsumer]] = defaultdict(weakref.WeakSet)
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._closed = threading.Event()
        self.add_middleware(_WakeOnDone(self))

    def enqueue(self, message: dramatiq.Message[Any], *, delay: int | None = None) -> dramatiq.Message[Any]:
        sent = super().enqueue(message, delay=delay)
        with contextlib.suppress(redis.RedisError):  # queued all the same: found at the next poll
            self.client.publish(self.wake_channel, sent.queue_name)
        return sent

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> _WakingConsumer:
        consumer = _WakingConsumer(self, queue_name, prefetch, timeout)
        with self._lock:
            self._waiting[queue_name].add(consumer)
            if self._listener is None:
                self._listener = threading.Thread(target=self._listen, name="dramatiq-wake", daemon=True)
                self._listener.start()
        return consumer

    def _listen(self) -> None:
        while not self._closed.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.wake_channel)
                self._wake_all()  # what was enqueued while not subscribed
                while not self._closed.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self.wake(message["data"].decode())
            except redis.RedisError as e:
                log.warning("queue wake-ups lost; polling until Redis answers", error=str(e))
                self._closed.wait(RECONNECT_SECONDS)
            finally:
                pubsub.close()

    def wake(self, queue_name: str, *, full_only: bool = False) -> None:
        """Wake this process's consumers of ``queue_name`` now; ``full_only``: those whose every
        prefetch place is taken."""
        with self._lock:
            consumers = list(self._waiting.get(queue_name, ()))
        for consumer in consumers:
            if not full_only or consumer.outstanding_message_count >= consumer.prefetch:
                consumer.wake.set()

    def _wake_all(self) -> None:
        with self._lock:
            names = list(self._waiting)
        for name in names:
            self.wake(name)

    def close(self) -> None:
        self._closed.set()
        super().close()
