"""A worker takes a job as soon as it is queued, not after its polling back-off: every enqueue
publishes a wake-up that the idle consumers of that queue wait on (real Redis)."""

from __future__ import annotations

import secrets
import threading
import time

from storybang import queue
from storybang.settings import Settings

# The longest back-off; an idle consumer's waits double from 5 ms towards it.
POLL_MAX_MS = 10_000
# Misses before each message is sent: the consumer then waits 5 ms x 2^9 = 2.56 s or more.
IDLE = 9


def settings_for(real: Settings) -> Settings:
    namespace = f"wake-{secrets.token_hex(4)}"
    worker = real.worker.model_copy(update={"queue_namespace": namespace, "poll_max_ms": POLL_MAX_MS})
    return real.model_copy(update={"worker": worker})


def wait_until(condition: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)
    assert condition()  # type: ignore[operator]


def test_an_idle_consumer_takes_a_message_when_it_is_queued_not_after_its_back_off(real_settings: Settings) -> None:
    broker = queue.make_broker(settings_for(real_settings))
    assert isinstance(broker, queue.WakingRedisBroker)
    broker.declare_queue("story")
    consumer = broker.consume("story", timeout=POLL_MAX_MS)
    arrived: list[float] = []
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            message = next(consumer)
            if message is not None:
                arrived.append(time.monotonic())
                consumer.ack(message)

    threading.Thread(target=run, daemon=True).start()
    try:
        for n in range(3):
            wait_until(lambda: consumer.idle >= IDLE)  # backed off: its next poll is seconds away
            sent = time.monotonic()
            queue.enqueue(broker, "story", "job")
            wait_until(lambda: len(arrived) > n)  # noqa: B023
            # Well within the consumer's wait of 2.56 s or more: the wake-up, not a poll, brought it.
            assert arrived[n] - sent < 1.0
    finally:
        stop.set()
        broker.close()
