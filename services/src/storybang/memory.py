"""Python's cyclic garbage collector, set for a long-running StoryBang process.

A request or a job frees nearly everything it makes by reference counting; the collector is for the
rare cycle. Left at its defaults it ran a collection of the youngest objects every ~10 requests and
a full collection, which walks every object the process holds (160,000 after start-up: modules,
routes, schemas, drivers), about once a second under load: on `storybang serve` that was a fifth of
the CPU of the busiest read (bench/api.py).
"""

from __future__ import annotations

import gc

# Net allocations of container objects between two collections of the youngest generation (Python's
# default: 700). The cycles that wait longer for it are a few megabytes at most.
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Call once, when start-up is done and before serving: what exists now lives as long as the
    process, so it is moved out of the collector's sight (:func:`gc.freeze`), after one collection
    so that no garbage is kept with it."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
