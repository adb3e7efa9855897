"""The operator's queue of work as its metrics show it: resources waiting in the resync queue and
passes running."""

from __future__ import annotations

import asyncio

from storybang_operator import metrics, resync


def test_waiting_resources_are_read_from_the_resync_queue_at_scrape_time() -> None:
    async def scenario() -> tuple[float | None, float | None]:
        async def never(key: resync.Key, trigger: str) -> None:
            raise AssertionError("no worker runs here")

        queue = resync.ResyncQueue(interval=60, initial_delay=60, workers=1, keys=list, reconcile=never)
        found = metrics.Metrics()
        found.watch_queue(lambda: queue.waiting)
        before = found.registry.get_sample_value("storybang_operator_work_queue_waiting")
        queue.nudge(("Generator", "stories", "story"))
        queue.nudge(("Generator", "stories", "story"))  # queued once
        queue.nudge(("Platform", "stories", "storybang"))
        return before, found.registry.get_sample_value("storybang_operator_work_queue_waiting")

    assert asyncio.run(scenario()) == (0, 2)


def test_a_pass_counts_as_running_until_it_ends_even_when_it_fails() -> None:
    found = metrics.Metrics()

    def running() -> float | None:
        return found.registry.get_sample_value("storybang_operator_passes_in_progress", {"kind": "Generator"})

    with found.reconcile("Generator", "resync"):
        assert running() == 1
    try:
        with found.reconcile("Generator", "resync"):
            assert running() == 1
            raise RuntimeError("the API server went away")
    except RuntimeError:
        pass
    assert running() == 0
