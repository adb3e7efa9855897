"""The SQL store (users, refresh-token families, codes): MySQL/MariaDB via asyncmy, SQLite embedded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVarTuple

import sqlalchemy as sa
from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations are identical on MySQL and SQLite.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python on every backend; MySQL and SQLite keep them naive in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    # MySQL DATETIME keeps whole seconds unless told otherwise; keep Python's view identical.
    return datetime.now(UTC).replace(microsecond=0)


# MariaDB's and MySQL's ER_LOCK_DEADLOCK: InnoDB rolled the transaction back to break a cycle of
# row locks between concurrent transactions. Nothing of it was written; running it again is the cure.
DEADLOCK = 1213


def is_deadlock(error: BaseException) -> bool:
    """Whether ``error`` (as SQLAlchemy raises it) is a transaction chosen as a deadlock's victim."""
    args: tuple[Any, ...] = getattr(getattr(error, "orig", None), "args", ())
    return isinstance(error, sa.exc.OperationalError) and args[:1] == (DEADLOCK,)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# How long a SQLite writer waits for another to finish before giving up; far longer than any
# transaction of ours holds the lock.
SQLITE_BUSY_SECONDS = 30


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # pool_recycle: MySQL closes idle connections after wait_timeout; pre_ping survives restarts.
    return create_async_engine(url, pool_pre_ping=True, pool_recycle=1800, pool_size=10, max_overflow=20)


def _sqlite_engine(url: str) -> AsyncEngine:
    """SQLite for the embedded default: WAL, a busy timeout, and every transaction a writer.

    A deferred transaction reads a snapshot and fails at once with "database is locked" when it
    later writes after another connection has committed (SQLite cannot wait there without risking
    a deadlock). ``BEGIN IMMEDIATE`` takes the write lock up front, so a transaction waits its turn
    instead; WAL keeps plain reads outside transactions from blocking.
    """
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _: Any) -> None:
        # The driver must not open transactions itself: the "begin" listener below does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


Ts = TypeVarTuple("Ts")


class Reads:
    """Reads of one row, for the read on the path of every request (an account's standing,
    :mod:`storybang.api.deps`): on MySQL through the async engine; on the embedded SQLite straight
    on the event loop's thread, as the embedded document store reads. Through aiosqlite each read
    hops to its thread and back, and under load the hop waits for the GIL behind the requests the
    loop is running (it took `storybang dev`'s p99 from 45 to 95 ms, bench/api.py). A read in WAL
    mode does not wait for writers; it is one indexed row, some tens of microseconds."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._local: sa.Engine | None = None
        if engine.dialect.name == "sqlite":
            # The standard library's driver on the same file; only ever used on the loop's thread.
            url = engine.url.set(drivername="sqlite")
            self._local = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})

    async def first(self, statement: sa.Select[*Ts], params: dict[str, Any]) -> sa.Row[*Ts] | None:
        if self._local is not None:
            with self._local.connect() as conn:
                local: sa.Row[*Ts] | None = conn.execute(statement, params).first()
                return local
        async with self._engine.connect() as conn:
            return (await conn.execute(statement, params)).first()

    def close(self) -> None:
        if self._local is not None:
            self._local.dispose()
