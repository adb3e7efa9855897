"""The resync queue: every key is walked, a key waiting is queued once, a nudge goes ahead of
the walk, and a failing pass never stops the queue."""

from __future__ import annotations

import asyncio

from storybang_operator import resync


def test_the_resync_queue_walks_every_key_and_queues_each_once() -> None:
    seen: list[tuple[resync.Key, str]] = []
    keys = [("Generator", "ns", "a"), ("Generator", "ns", "b")]

    async def reconcile_key(key: resync.Key, trigger: str) -> None:
        seen.append((key, trigger))
        await asyncio.sleep(0)

    async def scenario() -> None:
        queue = resync.ResyncQueue(
            interval=3600, initial_delay=0, workers=2, keys=lambda: keys, reconcile=reconcile_key
        )
        queue.nudge(keys[0])
        queue.nudge(keys[0])  # already waiting: not twice
        queue.start()
        await asyncio.sleep(0.05)
        await queue.stop()

    asyncio.run(scenario())
    # "a" was nudged once (twice asked), then both were walked.
    assert seen[0] == (keys[0], "child")
    assert [t for k, t in seen if k == keys[0]].count("child") == 1
    assert (keys[1], "resync") in seen


def test_the_resync_queue_survives_a_failing_pass() -> None:
    seen: list[str] = []

    async def reconcile_key(key: resync.Key, trigger: str) -> None:
        seen.append(key[2])
        if key[2] == "bad":
            raise RuntimeError("boom")

    async def scenario() -> None:
        queue = resync.ResyncQueue(interval=3600, initial_delay=3600, workers=1, keys=list, reconcile=reconcile_key)
        queue.start()
        queue.nudge(("Generator", "ns", "bad"))
        queue.nudge(("Generator", "ns", "good"))
        await asyncio.sleep(0.05)
        await queue.stop()

    asyncio.run(scenario())
    assert seen == ["bad", "good"]


def test_a_nudge_goes_ahead_of_the_walk_and_a_walked_key_nudged_runs_once() -> None:
    keys = [("Generator", "ns", f"g-{n}") for n in range(50)]
    last = keys[-1]
    seen: list[tuple[resync.Key, str]] = []

    async def scenario() -> None:
        async def reconcile_key(key: resync.Key, trigger: str) -> None:
            seen.append((key, trigger))
            if len(seen) == 1:  # a child of the last walked key changes meanwhile
                queue.nudge(last, "child")
                queue.nudge(("Generator", "ns", "new"), "dependency")
            await asyncio.sleep(0)

        queue = resync.ResyncQueue(
            interval=3600, initial_delay=0, workers=1, keys=lambda: keys, reconcile=reconcile_key
        )
        queue.start()
        for _ in range(200):
            await asyncio.sleep(0)
        await queue.stop()

    asyncio.run(scenario())
    assert seen[:3] == [(keys[0], "resync"), (last, "child"), (("Generator", "ns", "new"), "dependency")]
    assert [k for k, _ in seen].count(last) == 1
    assert {k for k, _ in seen} == {*keys, ("Generator", "ns", "new")}
