"""A store error at each step of a job's life, and the job still ends exactly once.

The stores are the real ones (FerretDB, Redis). A store cannot be made to fail at one precise write
from outside, so the document store is wrapped (the only stand-in here, and it says so): it passes
every call to the real store, except that it raises the driver's own connection error once, at the
step under test. Each "delivery" below is what Dramatiq does with a message that raised
``dramatiq.Retry``: it runs the actor again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from pymongo.errors import AutoReconnect
from redis.exceptions import ConnectionError as RedisConnectionError

from storybang.generation import execution, jobs
from storybang.generation.backends.chain import Chain
from storybang.generation.tasks import Context
from storybang.runtime import Runtime
from storybang.settings import Settings
from storybang.stores import ids
from storybang.stores.documents import Doc, DocumentStore
from storybang.stories import service as stories
from storybang.stories.models import StoryCreate
from tests.generation.conftest import settings_with

Step = Callable[[Doc], bool]
APERTIUM = {"name": "apertium", "kind": "apertium"}

STEPS: dict[str, Step] = {
    "pick-up": lambda changes: changes.get("status") == "running",
    "progress": lambda changes: "progress" in changes and "status" not in changes,
    "completion": lambda changes: changes.get("status") == "succeeded",
}


class FailingOnce:
    """The real document store, failing once at one kind of job write (see the module docstring)."""

    def __init__(self, real: DocumentStore, step: Step) -> None:
        self._real, self._step, self.failed = real, step, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def update(self, collection: str, doc_id: str, changes: Doc, **kwargs: Any) -> Doc | None:
        if collection == jobs.COLLECTION and not self.failed and self._step(changes):
            self.failed = True
            raise AutoReconnect("injected: the store is unreachable")
        return await self._real.update(collection, doc_id, changes, **kwargs)


@pytest.mark.parametrize("step", list(STEPS))
async def test_a_store_error_at_each_step_still_ends_the_job_exactly_once(
    step: str, real_settings: Settings, tmp_path: Path, runtime: Runtime
) -> None:
    settings = settings_with(
        real_settings, tmp_path, generation={"backends": [{"name": "apertium", "kind": "apertium"}]}
    )
    owner = ids.new_id()
    story = await stories.create(
        runtime,
        owner,
        StoryCreate.model_validate(
            {
                "title": "The fox",
                "audience": "children",
                "character_ids": [],
                "paragraphs": [{"text": "The fox is happy."}, {"text": "The fox sleeps."}],
            }
        ),
    )
    data = {"story_id": story.id, "target_language": "es"}
    job = await jobs.create(runtime.documents, owner, "translate", data, None)
    faulty = FailingOnce(runtime.documents, STEPS[step])
    ctx = Context(dataclasses.replace(runtime, documents=faulty), Chain.for_task("translate", settings.generation))

    outcomes = []
    for delivery in range(4):
        try:
            outcomes.append(await execution.execute(ctx, job["id"], retries=delivery))
            break
        except dramatiq.Retry:
            outcomes.append("retried")
    assert faulty.failed, "the fault was never met: the test proves nothing"
    assert outcomes == ["retried", "succeeded"], outcomes

    done = await jobs.get(runtime.documents, job["id"])
    assert done is not None and done["status"] == "succeeded"
    kept = await stories.get(runtime, owner, story.id)
    assert [p.text for p in kept.translations["es"].paragraphs] == done["result"]["translation"]["paragraphs"]
    replay = await runtime.events.replay(owner, "0-0")
    completed = [e for e in replay.events if e.name == "generation.completed" and e.data.get("id") == job["id"]]
    assert len(completed) == 1


class BusFailingOnce:
    """The real event bus, failing once on one event (see the module docstring)."""

    def __init__(self, real: Any, name: str) -> None:
        self._real, self._name, self.failed = real, name, False

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._real, attr)

    async def publish(self, user_id: str, name: str, data: Any) -> str:
        if name == self._name and not self.failed:
            self.failed = True
            raise RedisConnectionError("injected: the event bus is unreachable")
        event_id: str = await self._real.publish(user_id, name, data)
        return event_id


async def test_a_bus_error_on_the_last_event_still_delivers_it_once(
    real_settings: Settings, tmp_path: Path, runtime: Runtime
) -> None:
    settings = settings_with(real_settings, tmp_path, generation={"backends": [APERTIUM]})
    owner = ids.new_id()
    job = await jobs.create(runtime.documents, owner, "translate", {"text": "Hello.", "target_language": "es"}, None)
    bus = BusFailingOnce(runtime.events, "generation.completed")
    ctx = Context(dataclasses.replace(runtime, events=bus), Chain.for_task("translate", settings.generation))
    assert await execution.execute(ctx, job["id"], retries=0) == "succeeded"
    assert bus.failed, "the fault was never met: the test proves nothing"
    replay = await runtime.events.replay(owner, "0-0")
    assert [e.name for e in replay.events] == ["generation.started", "generation.completed"]
