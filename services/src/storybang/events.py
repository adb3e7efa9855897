"""Real-time events: the one module that publishes them, and the one that reads them back for replay.

An event is ``(name, data)`` for one user. Publishing appends it to that user's bounded log and fans
it out to the Socket.IO room ``user:<id>``; the log's id (``"<ms>-<seq>"``, a Redis stream id) goes
into the payload as ``event_id`` so a client that reconnects with ``last_event_id`` gets what it
missed (see :mod:`storybang.notifier.delivery` for the ordering guarantee).

Two buses, one interface:

- :class:`RedisEventBus` (workers and APIs in a cluster): ``XADD MAXLEN ~`` to the stream
  ``storybang:events:<user_id>``, a TTL refresh, and a ``PUBLISH`` on :data:`CHANNEL` of the message
  python-socketio's ``AsyncRedisManager`` expects — all in one Lua script. One script, not an
  ``AsyncRedisManager(write_only=True)`` next to an ``XADD``: Redis runs a script atomically, so the
  live order of every notifier equals the stream order even when several workers publish for one
  user at once, which is what makes "the last ``event_id`` I saw" a correct resume point.
- :class:`InProcessEventBus` (``storybang dev``): a bounded in-memory log per user and a direct emit
  on the in-process Socket.IO server.

Events never carry credentials or a job's content: :func:`validate` refuses keys that look like
secrets, and payloads over :data:`MAX_DATA_BYTES`.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from storybang import errors
from storybang.stores.redis import client as redis_client

GENERATION_EVENTS = frozenset(
    f"generation.{state}" for state in ("queued", "started", "progress", "completed", "failed", "cancelled")
)
# The user's sessions ended (logout, password change, account disabled...): the notifier closes
# the user's sockets on it, and clients refresh their tokens or log in again.
SESSION_ENDED = "session.ended"
EVENT_NAMES = GENERATION_EVENTS | {"character.updated", "story.updated", SESSION_ENDED}

# The Pub/Sub channel shared by the buses and every notifier's AsyncRedisManager.
CHANNEL = "storybang:socketio"
STREAM_PREFIX = "storybang:events:"
NAMESPACE = "/"
# A stream entry lives in Redis memory up to max_len times: events carry ids and small deltas,
# results are fetched over the API.
MAX_DATA_BYTES = 16 * 1024
# "access_token", "password", "api_key"... but not "completion_tokens": usage counts are fine.
_FORBIDDEN_KEY = re.compile(r"(^|_)(token|secret|password|passwd|authorization|cookie|api_?key)$", re.IGNORECASE)
_EVENT_ID = re.compile(r"\d{1,20}-\d{1,20}")

# KEYS[1] stream; ARGV: max_len, ttl, name, data, channel, message prefix, message suffix.
# The fan-out message is the JSON AsyncRedisManager publishes, cut where the event id goes.
_PUBLISH_SCRIPT = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'name', ARGV[3], 'data', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[5], ARGV[6] .. id .. ARGV[7])
return id
"""


@dataclass(frozen=True)
class Event:
    id: str
    name: str
    data: Mapping[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        """What a client receives: the data with ``event_id`` first."""
        return {"event_id": self.id, **self.data}


@dataclass(frozen=True)
class Replay:
    """The events after a client's ``last_event_id``; ``complete`` is false when some were trimmed
    or expired before the client came back (it must then refetch its state over the API)."""

    events: list[Event]
    complete: bool


class EventBus(Protocol):
    async def publish(self, user_id: str, name: str, data: Mapping[str, Any]) -> str:
        """Record and fan out one event; returns its ``event_id``. Raises ``ValueError`` for an
        event that breaks :func:`validate`, :class:`storybang.errors.Unavailable` when the store is down."""
        ...

    async def replay(self, user_id: str, after_id: str) -> Replay:
        """The retained events after ``after_id``, oldest first."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def room(user_id: str) -> str:
    return f"user:{user_id}"


def parse_id(event_id: str) -> tuple[int, int]:
    """An event id as a comparable pair; ``ValueError`` when it is not ``<ms>-<seq>``."""
    if not _EVENT_ID.fullmatch(event_id):
        raise ValueError(f"not an event id: {event_id[:40]!r}")
    ms, seq = event_id.split("-")
    return int(ms), int(seq)


def validate(name: str, data: Mapping[str, Any]) -> str:
    """Check an event before it is stored; returns its data as JSON. Errors are bugs in the caller."""
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}; known: {', '.join(sorted(EVENT_NAMES))}")
    if "event_id" in data:
        raise ValueError("event_id is set by the bus")
    required = ("id", "task") if name in GENERATION_EVENTS else ("id",)
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"{name} needs {', '.join(missing)}")
    progress = data.get("progress", 0)
    if not isinstance(progress, int | float) or not 0 <= progress <= 1:
        raise ValueError("progress is a fraction between 0 and 1")
    _refuse_secrets(data)
    try:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} data is not JSON: {e}") from e
    if len(text.encode()) > MAX_DATA_BYTES:
        raise ValueError(f"{name} data is over {MAX_DATA_BYTES} bytes: send ids, fetch results over the API")
    return text


def _refuse_secrets(value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if _FORBIDDEN_KEY.search(str(key)):
                raise ValueError(f"events never carry credentials (key {key!r})")
            _refuse_secrets(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_secrets(item)


_ID_SLOT = "\x00event_id\x00"


def fanout_message(user_id: str, name: str, data: Mapping[str, Any], host_id: str) -> tuple[str, str]:
    """The message python-socketio's AsyncRedisManager publishes for ``emit(name, payload,
    room=user:<id>)``, split around the place of the event id (unknown until ``XADD``).

    The slot is the first value after the fixed ``method`` and ``event`` fields, so user text that
    happens to contain it cannot move the cut.
    """
    message = {
        "method": "emit",
        "event": name,
        "data": [{"event_id": _ID_SLOT, **data}],
        "binary": False,
        "namespace": NAMESPACE,
        "room": room(user_id),
        "skip_sid": None,
        "callback": None,
        "host_id": host_id,
    }
    prefix, slot, suffix = json.dumps(message, separators=(",", ":")).partition(json.dumps(_ID_SLOT))
    assert slot, "the event id slot is always in the message"
    return prefix + '"', '"' + suffix


class RedisEventBus:
    def __init__(self, client: aioredis.Redis, *, max_len: int, ttl_seconds: int) -> None:
        self._redis = client
        self._max_len = max_len
        self._ttl = ttl_seconds
        self._script = client.register_script(_PUBLISH_SCRIPT)
        # Plays the part of an AsyncRedisManager's host id: notifiers deliver every message whose
        # host id is not their own.
        self._host_id = uuid.uuid4().hex

    @classmethod
    def open(cls, url: str, *, max_len: int, ttl_seconds: int) -> RedisEventBus:
        """Connects lazily: a Redis that is down fails the first publish, not the start."""
        # No automatic retry: a publish whose answer was lost may have happened, and repeating it
        # would record the event twice. A failed publish is the caller's to handle (503, retry job).
        return cls(redis_client(url, decode_responses=True, retries=0), max_len=max_len, ttl_seconds=ttl_seconds)

    async def publish(self, user_id: str, name: str, data: Mapping[str, Any]) -> str:
        text = validate(name, data)
        prefix, suffix = fanout_message(user_id, name, data, self._host_id)
        args: list[str | int] = [self._max_len, self._ttl, name, text, CHANNEL, prefix, suffix]
        try:
            event_id = await self._script(keys=[STREAM_PREFIX + user_id], args=args)
        except RedisError as e:
            raise errors.Unavailable("The event store is unreachable; try again.") from e
        return str(event_id)

    async def replay(self, user_id: str, after_id: str) -> Replay:
        parse_id(after_id)
        try:
            # From after_id itself: finding it proves nothing after it was trimmed.
            entries = cast(
                list[tuple[str, dict[str, str]]],
                await self._redis.xrange(STREAM_PREFIX + user_id, min=after_id, max="+"),
            )
        except RedisError as e:
            raise errors.Unavailable("The event store is unreachable; try again.") from e
        complete = bool(entries) and entries[0][0] == after_id
        events = [
            Event(entry_id, fields["name"], json.loads(fields["data"]))
            for entry_id, fields in entries
            if entry_id != after_id
        ]
        return Replay(events, complete)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


Fanout = Callable[[str, str, dict[str, Any]], Awaitable[None]]


@dataclass
class InProcessEventBus:
    """The embedded bus: per-user logs in memory, lost on restart (clients then get an incomplete
    replay and refetch). ``fanout(room, name, payload)`` is attached by the in-process notifier."""

    max_len: int
    fanout: Fanout | None = None
    _logs: dict[str, deque[Event]] = field(default_factory=dict)
    _last: tuple[int, int] = (0, 0)

    def attach(self, fanout: Fanout) -> None:
        self.fanout = fanout

    def _next_id(self) -> str:
        ms = max(int(time.time() * 1000), self._last[0])
        self._last = (ms, self._last[1] + 1 if ms == self._last[0] else 0)
        return f"{self._last[0]}-{self._last[1]}"

    async def publish(self, user_id: str, name: str, data: Mapping[str, Any]) -> str:
        event = Event(self._next_id(), name, json.loads(validate(name, data)))
        # No await between the append and the emit's hand-over to the server: the live order is
        # the log order even with concurrent publishers.
        self._logs.setdefault(user_id, deque(maxlen=self.max_len)).append(event)
        if self.fanout is not None:
            await self.fanout(room(user_id), name, event.payload)
        return event.id

    async def replay(self, user_id: str, after_id: str) -> Replay:
        after = parse_id(after_id)
        entries = list(self._logs.get(user_id, ()))
        complete = any(e.id == after_id for e in entries)
        return Replay([e for e in entries if parse_id(e.id) > after], complete)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
