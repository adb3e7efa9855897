"""The model servers scaled to zero, and the queues whose next job should wake them.

A ModelServer with `minReplicas: 0` is sized by its pass on the jobs of the Generators that
point at it (`builders.modelscaling`). A pass that leaves it at zero records here the queues it
read (`asleep`); any other pass forgets it (`awake`). The operator listens on those queues'
Redis for the wake-up that every enqueue publishes (`<namespace>:wake`, the queue's name, sent
by StoryBang's broker) and reconciles a sleeping server as soon as a job for it is queued,
rather than at its next periodic pass.

Passes run in threads, the listener on Kopf's event loop: the registry takes a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

# (namespace, name) of a ModelServer.
Server = tuple[str, str]
# A queue a sleeping server's jobs arrive on: (Redis URL, Dramatiq queue key "<namespace>:<queue>").
Source = tuple[str, str]
WAKE_SUFFIX = ":wake"
# Dramatiq's queue of delayed messages (retries) for a queue is the same name with this suffix.
DELAYED_SUFFIX = ".DQ"


def wake_channel(key: str) -> str:
    """The channel a queue's enqueues are announced on: `<namespace>:wake` for `<namespace>:<queue>`."""
    namespace, _, _ = key.partition(":")
    return namespace + WAKE_SUFFIX


class Sleepers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: dict[Server, frozenset[Source]] = {}

    def asleep(self, server: Server, sources: Iterable[Source]) -> None:
        found = frozenset(sources)
        with self._lock:
            if found:
                self._sources[server] = found
            else:
                self._sources.pop(server, None)

    def awake(self, server: Server) -> None:
        with self._lock:
            self._sources.pop(server, None)

    def servers(self) -> list[Server]:
        with self._lock:
            return sorted(self._sources)

    def channels(self) -> dict[str, frozenset[str]]:
        """The channels to listen on, by Redis URL."""
        wanted: dict[str, set[str]] = {}
        with self._lock:
            for sources in self._sources.values():
                for url, key in sources:
                    wanted.setdefault(url, set()).add(wake_channel(key))
        return {url: frozenset(channels) for url, channels in wanted.items()}

    def woken(self, url: str, channel: str, queue: str) -> list[Server]:
        """The sleeping servers a job enqueued on `queue` (announced on `channel` of `url`) is for;
        a retry's delayed queue counts as its queue. With `queue` empty: every server asleep on
        that channel (a listener that has just subscribed may have missed an announcement)."""
        namespace = channel.removesuffix(WAKE_SUFFIX)
        key = f"{namespace}:{queue.removesuffix(DELAYED_SUFFIX)}"
        with self._lock:
            return sorted(
                server
                for server, sources in self._sources.items()
                if any(u == url and (k == key or (not queue and wake_channel(k) == channel)) for u, k in sources)
            )
