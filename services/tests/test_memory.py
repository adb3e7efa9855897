"""The collector settled for a long-running process (storybang.memory.settle), in a process of its
own: freezing this test run's objects would change every test after it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from storybang import memory

SETTLING = textwrap.dedent(
    """
    import gc, json, weakref
    from storybang import memory

    class Node:
        pass

    def cycle():
        a, b = Node(), Node()
        a.other, b.other = b, a
        return a

    kept = cycle()                       # alive at start-up: lives as long as the process
    lost = weakref.ref(cycle())          # garbage at start-up: must not be frozen with the rest
    gc.disable()                         # only settle()'s own collection may free it
    before = gc.get_threshold()
    memory.settle()
    freed_at_settling = lost() is None
    later = weakref.ref(cycle())         # garbage made while serving: still the collector's
    gc.collect()
    print(json.dumps({
        "before": before,
        "after": gc.get_threshold(),
        "frozen": gc.get_freeze_count(),
        "kept_in_sight": any(o is kept for o in gc.get_objects()),
        "freed_at_settling": freed_at_settling,
        "freed_later": later() is None,
        "tracked_after": len(gc.get_objects()),
    }))
    """
)


def settled() -> dict[str, object]:
    done = subprocess.run(  # noqa: S603 - this interpreter, with the script above
        [sys.executable, "-c", SETTLING], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_settling_frees_startup_garbage_then_freezes_what_lives_and_collects_young_objects_less_often() -> None:
    state = settled()
    assert state["freed_at_settling"] is True  # one collection before freezing
    assert isinstance(state["frozen"], int) and state["frozen"] > 1_000  # the modules, classes, ...
    # What is frozen is out of the collector's sight: it walks only what was made since.
    assert isinstance(state["tracked_after"], int) and state["tracked_after"] < state["frozen"] // 10
    assert state["kept_in_sight"] is False  # an object alive at start-up is among them
    assert state["freed_later"] is True  # a cycle made after settling is still collected
    before, after = state["before"], state["after"]
    assert isinstance(before, list) and isinstance(after, list)
    assert after == [memory.YOUNG_THRESHOLD, before[1], before[2]]
    assert before[0] < memory.YOUNG_THRESHOLD
