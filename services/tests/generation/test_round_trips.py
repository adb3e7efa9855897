"""What a job asks of the real stores, counted command by command (issue 13's goal: at most three
document round trips per job outside streaming progress — queue it, claim it, end it — the claim
one conditional write, and a few Redis commands). A submission through the API stores the job and
asks nothing more of the documents.

The counts are exact for a job that streams nothing (a translation of a text): a change that adds
a round trip to every job fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storybang.generation import execution, jobs, service
from storybang.generation.backends.chain import Chain
from storybang.generation.models import TranslateJobCreate
from storybang.generation.tasks import Context
from storybang.runtime import Runtime
from storybang.settings import Settings
from storybang.stores import ids
from storybang.stores.documents_mongo import MongoDocumentStore
from storybang.stores.documents_sqlite import SQLiteDocumentStore
from tests import roundtrips
from tests.conftest import make_settings

GOAL = 3
# On FerretDB each of the two conditional writes reads the job and claims its revision first.
FERRETDB = GOAL + 2 * 2
LEASE = 60.0
TEXT = {"text": "The fox is happy.", "target_language": "es", "source_language": "en", "story_id": None}


def counted(counts: roundtrips.Counts, store: str) -> dict[str, int]:
    """Commands of the job itself, and of what it sets off beside it (its push notification)."""
    return {name: n for (phase, kind, name), n in counts.names.items() if kind == store and phase in ("submit", "job")}


def counted_all(counts: roundtrips.Counts) -> dict[str, int]:
    return {name: n for (_, kind, name), n in counts.names.items() if kind == "mongo"}


def with_atomic_updates(real: Settings, tmp: Path, atomic: bool | None) -> Settings:
    mongo = real.mongo.model_dump() | {"atomic_updates": atomic}
    return make_settings(
        tmp,
        mysql=real.mysql.model_dump(),
        mongo=mongo,
        redis=real.redis.model_dump(),
        generation={"backends": [{"name": "apertium", "kind": "apertium"}]},
    )


@pytest.fixture
async def atomic_store(real_settings: Settings) -> AsyncIterator[MongoDocumentStore]:
    """The jobs' store as on MongoDB, on a client made after the command listener."""
    roundtrips.install()
    assert real_settings.mongo.url is not None
    url, database = real_settings.mongo.url.get_secret_value(), real_settings.mongo.database
    store = await MongoDocumentStore.open(url, database, atomic_updates=True)
    yield store
    await store.close()


async def test_a_claim_is_one_conditional_write_and_a_second_claimer_loses(atomic_store: MongoDocumentStore) -> None:
    store = atomic_store
    job = await jobs.create(store, ids.new_id(), "translate", TEXT, None)
    with roundtrips.counting() as claim:
        running = await jobs.start(store, job["id"], lease_seconds=LEASE)
    assert running is not None and (running["status"], running["attempt"]) == ("running", 1)
    assert counted_all(claim) == {"findAndModify(generations)": 1}
    with pytest.raises(jobs.Held):  # a second worker, while the first one's lease holds
        await jobs.start(store, job["id"], lease_seconds=LEASE)
    assert await jobs.succeed(store, running, {"text": "hola"}, "apertium") is not None
    with roundtrips.counting() as late:
        assert await jobs.start(store, job["id"], lease_seconds=LEASE) is None
    # A late message: its one write matches nothing, and one read says why.
    assert counted_all(late) == {"findAndModify(generations)": 1, "find(generations)": 1}
    done = await jobs.get(store, job["id"])
    assert done is not None and (done["status"], done["attempt"]) == ("succeeded", 1)


async def test_on_the_embedded_store_a_job_is_three_statements(tmp_path: Path) -> None:
    store = await SQLiteDocumentStore.open(tmp_path / "documents.db")
    roundtrips.trace_sqlite(store.connection)
    try:
        with roundtrips.counting() as counts:
            job = await jobs.create(store, ids.new_id(), "translate", TEXT, None)
            running = await jobs.start(store, job["id"], lease_seconds=LEASE)
            assert running is not None
            assert await jobs.succeed(store, running, {"text": "hola"}, "apertium") is not None
    finally:
        await store.close()
    # Each write one statement, the claim's and the end's conditions in their WHERE clauses.
    assert {name: n for (_, kind, name), n in counts.names.items() if kind == "sql"} == {"INSERT": 1, "UPDATE": 2}


@pytest.mark.parametrize("atomic", [True, None], ids=["mongodb", "ferretdb"])
async def test_a_job_asks_the_stores_no_more_than_its_round_trips(
    atomic: bool | None, real_settings: Settings, tmp_path: Path
) -> None:
    roundtrips.install()  # before the runtime's clients are made
    settings = with_atomic_updates(real_settings, tmp_path, atomic)
    runtime = await Runtime.open(settings)
    ctx = Context(runtime, Chain.for_task("translate", settings.generation))
    owner = ids.new_id()
    try:
        # The first job warms up what a process does once: connections, indexes, scripts; and it
        # learns that its owner has no push subscription (the second's end finds that out in Redis).
        for _ in range(3):
            with roundtrips.counting() as counts:
                with roundtrips.phase("submit"):
                    job = await jobs.create(runtime.documents, owner, "translate", TEXT, None)
                with roundtrips.phase("job"):
                    assert await execution.execute(ctx, job["id"], 0) == "succeeded"
    finally:
        await ctx.chain.close()
        await runtime.close()
    documents = counted(counts, "mongo")
    if atomic:
        assert documents == {"insert(generations)": 1, "findAndModify(generations)": 2}
        assert sum(documents.values()) <= GOAL
    else:
        assert sum(documents.values()) <= FERRETDB, documents
    # generation.started and generation.completed: one command each; the job's end one more (it
    # leaves its owner's jobs in flight, counts its tokens and says its owner has no push subscription).
    assert counted(counts, "redis") == {"EVALSHA(storybang:events)": 2, "EVALSHA(storybang:count)": 1}


@pytest.mark.parametrize("atomic", [True, None], ids=["mongodb", "ferretdb"])
async def test_a_submission_stores_the_job_and_nothing_more(
    atomic: bool | None, real_settings: Settings, tmp_path: Path
) -> None:
    roundtrips.install()
    settings = with_atomic_updates(real_settings, tmp_path, atomic)
    runtime = await Runtime.open(settings)
    owner = ids.new_id()
    request = TranslateJobCreate(task="translate", input={"text": "The fox is happy.", "target_language": "es"})
    try:
        for _ in range(2):  # the first warms up connections, indexes and scripts
            with roundtrips.counting() as counts, roundtrips.phase("submit"):
                await service.create(runtime, owner, request)
    finally:
        await runtime.close()
    # The owner's jobs in flight and quota are asked of Redis, in the step that admits the job.
    assert counted(counts, "mongo") == {"insert(generations)": 1}
    assert counted(counts, "redis") == {
        "EVALSHA(storybang:count)": 1,  # admitted: jobs in flight and the day's quota
        "EVALSHA(storybang:events)": 1,  # generation.queued
        "EVALSHA(dramatiq enqueue)": 1,
        "PUBLISH": 1,  # the workers' wake-up
    }
