"""Ordered delivery: a socket that comes back gets what it missed first, then live events, no gap.

The race. A socket asking for the events after ``L`` must both join ``user:<id>`` and read the log,
while events keep arriving. So, for that socket:

1. hold it: live events for its room go to a per-socket buffer instead of the wire;
2. join it to the room;
3. read the log after ``L`` (``XRANGE``), still inside the connect handler, so a Redis that is down
   refuses the connection (the client retries) instead of silently skipping the replay;
4. once Socket.IO has acknowledged the connection (:meth:`OrderedManager.connect`), send the
   replay, then the held events newer than the last replayed one, then release the hold — with no
   await between finding the buffer empty and releasing it, so nothing slips between the two.

Guarantee, per socket, from ``L``: every retained event after ``L`` is sent, in ``event_id``
order, none skipped. The only duplicates are re-sends, with the same ``event_id``, of events the
replay already sent (their fan-out message was still on its way when the log was read). A client
keeps the greatest ``event_id`` it has processed, drops any event whose id is not greater, and
reconnects with ``last_event_id`` set to it. When ``L`` itself is no longer in the log (trimmed,
expired, or Redis lost its data) the client first gets :data:`RESYNC`: refetch state over the API.

Why nothing is lost: the bus appends and publishes in one Redis script. If the script ran before
step 3, the replay has the event; if after, its message reaches this notifier after step 2, when
the socket is in the room: held (step 4 sends it) or live. Why in order: that script makes the
publish order the log order, and a notifier handles its Pub/Sub messages one at a time.
Not covered: while a notifier's own Redis subscription is broken, live events do not reach its
sockets; a client gets them on its next reconnect (readiness reports the subscription).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import socketio  # type: ignore[import-untyped]
from engineio import packet as eio_packet  # type: ignore[import-untyped]
from socketio import packet as sio_packet

from storybang import errors, events, logs
from storybang.notifier import metrics
from storybang.notifier.handshake import Hello, Refused

RESYNC = "events.resync"

log = logs.get(__name__)


@dataclass
class _Hold:
    room: str
    after: str
    replay: events.Replay | None = None
    held: deque[tuple[str, Any]] = field(default_factory=deque)


class OrderedManager(socketio.AsyncManager):  # type: ignore[misc]
    """Socket.IO's client manager, plus holds. Live deliveries to a room reach :meth:`emit` here
    (python-socketio's pub/sub managers call ``super().emit`` for local delivery), so combined
    before ``AsyncManager`` in a subclass's bases it sees both in-process and Redis fan-out."""

    def __init__(self) -> None:
        super().__init__()
        self._holds: dict[str, _Hold] = {}
        self._held_in: dict[str, set[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def hold(self, sid: str, room: str, after: str) -> None:
        self._holds[sid] = _Hold(room, after)
        self._held_in.setdefault(room, set()).add(sid)

    def release(self, sid: str) -> None:
        hold = self._holds.pop(sid, None)
        if hold is not None:
            members = self._held_in[hold.room]
            members.discard(sid)
            if not members:
                del self._held_in[hold.room]

    def set_replay(self, sid: str, replay: events.Replay) -> None:
        self._holds[sid].replay = replay

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        held = self._held_in.get(room) if isinstance(room, str) else None
        if held:
            for sid in held:
                self._holds[sid].held.append((event, data))
            skip = skip_sid if isinstance(skip_sid, list) else [] if skip_sid is None else [skip_sid]
            skip_sid = [*skip, *held]
        if isinstance(room, str) and room.startswith("user:"):
            recipients = len(self.rooms.get(namespace, {}).get(room, {})) - len(held or ())
            metrics.DELIVERED.labels("live").inc(max(recipients, 0))
            metrics.observe_lag(data)
        if callback is None:
            await self._deliver(event, data, namespace, room, skip_sid)
        else:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
        if event == events.SESSION_ENDED and isinstance(room, str) and room.startswith("user:"):
            # Told first, then closed: the client learns why before its socket goes.
            for sid in list(self.rooms.get(namespace, {}).get(room, {})):
                await self.server.disconnect(sid, namespace=namespace)

    async def _deliver(self, event: str, data: Any, namespace: str, room: Any, skip_sid: Any) -> None:
        """``AsyncManager.emit`` without a callback, minus its asyncio task per recipient.

        The packet is encoded once and handed to each socket's Engine.IO queue in turn. Queuing
        never waits (the queues are unbounded), so the tasks bought no concurrency; dropping them
        saves a task and a wait per delivery, and the Pub/Sub reader goes on to its next message
        without giving the event loop a turn: under load, a socket's writer then takes several
        events per wake-up. One socket's failure is logged and the others still get the event, as
        with the tasks.
        """
        if namespace not in self.rooms:
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        parts = encoded if isinstance(encoded, list) else [encoded]  # a list when there are binary attachments
        frames = [eio_packet.Packet(eio_packet.MESSAGE, part) for part in parts]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        for sid, eio_sid in self.get_participants(namespace, room):  # a copy: sends may disconnect
            if sid not in skip:
                try:
                    for frame in frames:
                        await self.server.eio.send_packet(eio_sid, frame)
                except Exception:
                    log.exception("sending an event to a socket failed", sid=sid, name=event)

    async def connect(self, sid: str, namespace: str) -> Any:
        result = await super().connect(sid, namespace)
        if sid in self._holds:
            task = asyncio.create_task(self._send_replay(sid, namespace))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return result

    async def disconnect(self, sid: str, namespace: str, **kwargs: Any) -> Any:
        self.release(sid)
        return await super().disconnect(sid, namespace, **kwargs)

    async def _send_replay(self, sid: str, namespace: str) -> None:
        hold = self._holds.get(sid)
        try:
            if hold is None or hold.replay is None:
                return
            last = events.parse_id(hold.after)
            metrics.REPLAYS.labels("complete" if hold.replay.complete else "incomplete").inc()
            if not hold.replay.complete:
                await self._send(sid, namespace, RESYNC, {"after_id": hold.after})
            for event in hold.replay.events:
                await self._send(sid, namespace, event.name, event.payload)
                last = events.parse_id(event.id)
            metrics.DELIVERED.labels("replay").inc(len(hold.replay.events))
            while hold.held and self._holds.get(sid) is hold:
                name, data = hold.held.popleft()
                event_id = events.parse_id(data["event_id"])
                if event_id <= last:
                    metrics.DUPLICATES_DROPPED.inc()
                    continue
                await self._send(sid, namespace, name, data)
                metrics.DELIVERED.labels("live").inc()
                last = event_id
        except Exception:
            # A socket that missed part of its replay must not carry on as if complete: drop it,
            # and the client reconnects with its last event_id and gets another go.
            log.exception("replay failed; disconnecting the socket", sid=sid)
            self.release(sid)
            await self.server.disconnect(sid, namespace=namespace)
        finally:
            self.release(sid)

    async def _send(self, sid: str, namespace: str, name: str, data: Any) -> None:
        # Straight to the socket: past the holds (this *is* the held socket) and past Pub/Sub.
        await socketio.AsyncManager.emit(self, name, data, namespace, room=sid)


class RedisOrderedManager(socketio.AsyncRedisManager, OrderedManager):  # type: ignore[misc]
    """Several notifiers share rooms through Redis Pub/Sub on :data:`storybang.events.CHANNEL`."""

    def __init__(self, url: str) -> None:
        # Explicit: mypy cannot see through the untyped base; the MRO still runs every __init__.
        socketio.AsyncRedisManager.__init__(self, url, channel=events.CHANNEL)
        self._initialized = False

    def initialize(self) -> None:
        # Called at start-up by the app, so the subscription exists before the first socket;
        # python-socketio calls it again on the first connection, which must not start a second
        # listener (every event would then be sent twice).
        if not self._initialized:
            self._initialized = True
            super().initialize()

    @property
    def subscribed(self) -> bool:
        return self.pubsub is not None and bool(self.pubsub.subscribed)


async def join(manager: OrderedManager, bus: events.EventBus, sid: str, hello: Hello) -> None:
    """Put a socket in its user's room, holding it and reading its replay when it asks for one.

    Raises :class:`Refused` when the log cannot be read: better no connection than a silent gap.
    """
    room = events.room(hello.user_id)
    if hello.last_event_id is None:
        await manager.enter_room(sid, events.NAMESPACE, room)
        return
    manager.hold(sid, room, hello.last_event_id)
    await manager.enter_room(sid, events.NAMESPACE, room)
    try:
        manager.set_replay(sid, await bus.replay(hello.user_id, hello.last_event_id))
    except errors.Unavailable as e:
        manager.release(sid)
        raise Refused("unavailable", "Events are unavailable right now: reconnect in a moment.") from e
