"""The queue backlog the generation API exports, read from Dramatiq's queues on the real Redis and
from the in-process broker of `storybang dev`: waiting jobs, retries waiting out their backoff, and
the age of the oldest."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import dramatiq
from prometheus_client import CollectorRegistry, generate_latest

from storybang import queue
from storybang.generation import backlog
from storybang.settings import Settings
from tests.conftest import make_settings
from tests.generation.conftest import settings_with


def _broker(real_settings: Settings, tmp_path: Path) -> dramatiq.Broker:
    # A namespace of this test alone: no worker of another test takes these messages.
    namespace = f"backlog-{secrets.token_hex(4)}"
    return queue.make_broker(settings_with(real_settings, tmp_path, worker={"queue_namespace": namespace}))


def test_depth_and_oldest_age_come_from_the_redis_queues(real_settings: Settings, tmp_path: Path) -> None:
    broker = _broker(real_settings, tmp_path)
    assert [q.depth for q in backlog.read(broker, ["story", "translate"])] == [0, 0]
    queue.enqueue(broker, "story", "a" * 24)
    time.sleep(1.2)
    queue.enqueue(broker, "story", "b" * 24)
    # A retry waits out its backoff in the delay queue: still a job waiting.
    message = dramatiq.Message(
        queue_name="story", actor_name=queue.actor_name("story"), args=("c",), kwargs={}, options={}
    )
    broker.enqueue(message, delay=60_000)
    story, translate = backlog.read(broker, ["story", "translate"])
    assert (story.task, story.depth) == ("story", 3)
    assert 1.0 <= story.oldest_age_seconds < 30
    assert (translate.depth, translate.oldest_age_seconds) == (0, 0.0)


def test_the_in_process_broker_is_read_too(tmp_path: Path) -> None:
    broker = queue.make_broker(make_settings(tmp_path, env="dev"))
    broker.declare_queue("translate")
    queue.enqueue(broker, "translate", "a" * 24)
    (translate,) = backlog.read(broker, ["translate"])
    assert translate.depth == 1
    assert translate.oldest_age_seconds >= 0


def test_the_gauges_have_one_series_per_task(real_settings: Settings, tmp_path: Path) -> None:
    broker = _broker(real_settings, tmp_path)
    queue.enqueue(broker, "image", "a" * 24)
    collector = backlog.Backlog()
    registry = CollectorRegistry()
    registry.register(collector)
    assert "storybang_generation_queue_depth{" not in generate_latest(registry).decode()  # nothing watched yet
    collector.watch(broker, ["story", "image"])
    text = generate_latest(registry).decode()
    assert 'storybang_generation_queue_depth{task="image"} 1.0' in text
    assert 'storybang_generation_queue_depth{task="story"} 0.0' in text
    assert 'storybang_generation_queue_oldest_job_age_seconds{task="image"}' in text
