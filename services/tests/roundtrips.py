"""Count what the stores are asked, by phase of a job: MongoDB commands (PyMongo's command
monitoring), SQLite and SQL statements, Redis commands and round trips (counted in redis-py's
connections, the only place that sees the commands of a pipeline or a script one by one).

A :class:`Counts` is switched on around a block (:func:`counting`); what runs in it is attributed
to the phase set by :func:`phase` in the task or thread that asked, or else to the kind of thread
(Dramatiq's consumers fetch, ack and heartbeat; the job-log shipper writes log lines).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio.connection as async_connection
import redis.connection as sync_connection
from pymongo import monitoring
from sqlalchemy import event
from sqlalchemy.engine import Engine

_phase: ContextVar[str | None] = ContextVar("roundtrips_phase", default=None)
_active: list[Counts] = []


@dataclass
class Counts:
    """What was asked of each store, by phase: ``mongo`` commands (each a round trip), ``sql``
    statements, ``redis`` commands and ``redis_trips`` round trips; ``names`` says which."""

    mongo: Counter[str] = field(default_factory=Counter)
    sql: Counter[str] = field(default_factory=Counter)
    redis: Counter[str] = field(default_factory=Counter)
    redis_trips: Counter[str] = field(default_factory=Counter)
    names: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, store: str, name: str, commands: int = 1, trips: int = 1) -> None:
        where = current_phase()
        with self._lock:
            if store == "redis":
                self.redis[where] += commands
                self.redis_trips[where] += trips
            else:
                getattr(self, store)[where] += commands
            self.names[where, store, name] += commands

    def store_trips(self, phases: tuple[str, ...]) -> int:
        """Document and SQL round trips in ``phases``."""
        return sum(self.mongo[p] + self.sql[p] for p in phases)

    def table(self, jobs: int) -> str:
        """Per job, by phase: store round trips, Redis commands and Redis round trips."""
        phases = sorted(set(self.mongo) | set(self.sql) | set(self.redis))
        lines = [f"{'phase':<16} {'store trips':>11} {'redis cmds':>10} {'redis trips':>11}  (per job)"]
        for p in phases:
            lines.append(
                f"{p:<16} {(self.mongo[p] + self.sql[p]) / jobs:>11.2f} {self.redis[p] / jobs:>10.2f}"
                f" {self.redis_trips[p] / jobs:>11.2f}  "
                + ", ".join(
                    f"{store}:{name} {n / jobs:.2f}" for (ph, store, name), n in sorted(self.names.items()) if ph == p
                )
            )
        total_store = sum(self.mongo.values()) + sum(self.sql.values())
        lines.append(
            f"{'total':<16} {total_store / jobs:>11.2f} {sum(self.redis.values()) / jobs:>10.2f}"
            f" {sum(self.redis_trips.values()) / jobs:>11.2f}"
        )
        return "\n".join(lines)


def current_phase() -> str:
    named = _phase.get()
    if named is not None:
        return named
    thread = threading.current_thread()
    if type(thread).__name__ == "ConsumerThread":
        return "broker"  # Dramatiq's fetches, acks and heartbeats
    if thread.name == "job-log-shipper":
        return "job logs"
    return "other"


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    token = _phase.set(name)
    try:
        yield
    finally:
        _phase.reset(token)


def _record(store: str, name: str, commands: int = 1, trips: int = 1) -> None:
    for counts in _active:
        counts.add(store, name, commands, trips)


class _MongoListener(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        collection = event.command.get(event.command_name)
        _record("mongo", f"{event.command_name}({collection})" if isinstance(collection, str) else event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


_installed = False


def install() -> None:
    """Hook the drivers once per process, before the clients to count are made (PyMongo gives a
    listener only to clients made after it is registered)."""
    global _installed
    if _installed:
        return
    _installed = True
    monitoring.register(_MongoListener())

    @event.listens_for(Engine, "before_cursor_execute")
    def _sql(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        _record("sql", statement.split(None, 1)[0].upper())

    for module in (sync_connection, async_connection):
        _hook_redis(module.AbstractConnection)


# The commands of Dramatiq's one Lua script, its first argument after the key.
_DRAMATIQ = frozenset({"enqueue", "fetch", "ack", "nack", "requeue", "purge"})


def _redis_name(args: Any) -> str:
    """A command's name; a script's by what it does (Dramatiq's) or its first key's first two parts."""
    name = str(args[0]).upper() if args else "?"
    if name in ("EVALSHA", "EVAL") and len(args) > 4 and int(args[2]) > 0:
        if str(args[4]) in _DRAMATIQ:
            return f"{name}(dramatiq {args[4]})"
        return f"{name}({':'.join(str(args[3]).split(':')[:2])})"
    return name


def _hook_redis(cls: Any) -> None:
    send_command, pack_commands = cls.send_command, cls.pack_commands

    def counted_send_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        _record("redis", _redis_name(args))
        return send_command(self, *args, **kwargs)

    def counted_pack_commands(self: Any, commands: Any) -> Any:
        commands = list(commands)
        for i, command in enumerate(commands):
            # A pipeline is one round trip, however many commands it carries.
            _record("redis", _redis_name(command), 1, 1 if i == 0 else 0)
        return pack_commands(self, commands)

    cls.send_command, cls.pack_commands = counted_send_command, counted_pack_commands


def trace_sqlite(connection: sqlite3.Connection) -> None:
    """Count the statements of an embedded store's connection (the standard library's sqlite3)."""
    connection.set_trace_callback(lambda statement: _record("sql", statement.split(None, 1)[0].upper()))


@contextlib.contextmanager
def counting(into: Counts | None = None) -> Iterator[Counts]:
    """Count what the block asks of the stores, in ``into`` (added to what it holds) or a new one."""
    install()
    counts = Counts() if into is None else into
    _active.append(counts)
    try:
        yield counts
    finally:
        _active.remove(counts)
