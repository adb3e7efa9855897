"""The announcement that wakes a model server scaled to zero: what StoryBang's broker publishes
when it queues a job is what the operator listens for. The services' own `enqueue` queues a job on
a real Redis; the operator's listener hears it, and its registry of sleeping servers names the one
asleep on that task's queue (and not one asleep on another's)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from storybang import queue as services_queue
from storybang.settings import Settings
from storybang_operator import queue as operator_queue
from storybang_operator.builders import generator
from storybang_operator.sleepers import Sleepers
from storybang_testing.redis import redis_server


def test_a_job_the_broker_queues_wakes_the_server_asleep_on_its_tasks_queue(tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        url = f"{server.url}/0"
        sleepers = Sleepers()
        sleepers.asleep(("stories", "smollm2"), [(url, generator.queue_key("translate"))])
        sleepers.asleep(("stories", "painter"), [(url, generator.queue_key("image"))])
        [(listened, channels)] = sleepers.channels().items()
        broker = services_queue.make_broker(Settings(env="dev", redis={"url": url}))  # type: ignore[arg-type]
        subscribed, announced = asyncio.Event(), asyncio.Event()
        woken: list[tuple[str, str]] = []

        def heard(channel: str, queue_name: str) -> None:
            if queue_name:
                woken.extend(sleepers.woken(listened, channel, queue_name))
                announced.set()
            else:
                subscribed.set()

        async def scenario() -> None:
            listening = asyncio.create_task(operator_queue.listen(listened, channels, heard, connect_timeout=2))
            await asyncio.wait_for(subscribed.wait(), 10)
            await asyncio.to_thread(services_queue.enqueue, broker, "translate", "job-1")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(announced.wait(), 10)
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening

        try:
            asyncio.run(scenario())
        finally:
            broker.close()
        assert woken == [("stories", "smollm2")]
