"""Which model servers a job announced on a Redis channel wakes: the sleeping servers whose
Generators' queues it was queued on (its retries' delayed queue included), on that Redis only."""

from __future__ import annotations

from storybang_operator.sleepers import Sleepers

A, B = "redis://a:6379/0", "redis://b:6379/0"


def test_a_job_wakes_the_servers_asleep_on_its_queue_and_redis_only() -> None:
    sleepers = Sleepers()
    sleepers.asleep(("stories", "smollm2"), [(A, "dramatiq:story"), (A, "dramatiq:translate")])
    sleepers.asleep(("stories", "qwen"), [(A, "dramatiq:story")])
    sleepers.asleep(("other", "smollm2"), [(B, "jobs:story")])
    assert sleepers.channels() == {A: frozenset({"dramatiq:wake"}), B: frozenset({"jobs:wake"})}

    assert sleepers.woken(A, "dramatiq:wake", "story") == [("stories", "qwen"), ("stories", "smollm2")]
    assert sleepers.woken(A, "dramatiq:wake", "translate.DQ") == [("stories", "smollm2")]  # a retry
    assert sleepers.woken(A, "dramatiq:wake", "image") == []
    assert sleepers.woken(B, "dramatiq:wake", "story") == []  # another Redis's namespace
    assert sleepers.woken(B, "jobs:wake", "story") == [("other", "smollm2")]
    # Just subscribed: every server asleep on the channel, since an announcement may be lost.
    assert sleepers.woken(A, "dramatiq:wake", "") == [("stories", "qwen"), ("stories", "smollm2")]


def test_a_server_awake_or_without_queues_is_not_listened_for() -> None:
    sleepers = Sleepers()
    sleepers.asleep(("stories", "smollm2"), [(A, "dramatiq:story")])
    sleepers.asleep(("stories", "qwen"), [])
    assert sleepers.servers() == [("stories", "smollm2")]
    sleepers.awake(("stories", "smollm2"))
    assert sleepers.servers() == []
    assert sleepers.channels() == {}
    assert sleepers.woken(A, "dramatiq:wake", "story") == []
