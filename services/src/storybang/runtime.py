"""The composition root: builds every outside connection of a process from its settings, once.

Routes reach these through :mod:`storybang.api.deps`; workers through the same object. Nothing
else opens a connection.
"""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storybang import mail, queue
from storybang.events import EventBus, InProcessEventBus, RedisEventBus
from storybang.security import passwords, tokens, vapid
from storybang.security.access import AccessCache
from storybang.settings import Settings
from storybang.stores import joblogs, redis, sql
from storybang.stores.blobs import BlobStore, DirectoryBlobStore
from storybang.stores.blobs_gridfs import GridFSBlobStore
from storybang.stores.counters import Counters, MemoryCounters, RedisCounters
from storybang.stores.documents import DocumentStore
from storybang.stores.documents_mongo import MongoDocumentStore
from storybang.stores.documents_sqlite import SQLiteDocumentStore
from storybang.stores.pages import Pages
from storybang.stores.ratelimit import RateLimiter
from storybang.stores.revocations import MemoryRevocations, RedisRevocations, Revocations


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # The one-row reads on every request's path (storybang.stores.sql.Reads).
    reads: sql.Reads
    documents: DocumentStore
    blobs: BlobStore
    limiter: RateLimiter
    keys: tokens.KeySet
    sender: mail.Sender
    hasher: passwords.Hasher
    counters: Counters
    events: EventBus
    broker: dramatiq.Broker
    revocations: Revocations
    # Verified tokens and accounts' standing, per process (storybang.security.access).
    access: AccessCache
    # Each job's log lines, for administrators (written by the logging, see storybang.stores.joblogs).
    job_lines: joblogs.JobLines
    # The key that signs Web Push requests (storybang.security.vapid).
    push_key: vapid.VapidKey
    # Pages of documents kept while their owner's writes leave them current (storybang.stores.pages).
    pages: Pages

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        broker: dramatiq.Broker | None = None,
        bus: EventBus | None = None,
        revocations: Revocations | None = None,
        counters: Counters | None = None,
    ) -> Runtime:
        """Connect to every store. ``broker``, ``bus``, ``revocations`` and ``counters`` are shared
        in-process (embedded default)."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = sql.create_engine(settings.sql_url)
        documents: DocumentStore
        blobs: BlobStore
        mongo_url = settings.mongo.url.get_secret_value() if settings.mongo.url else ""
        if mongo_url:
            mongo = await MongoDocumentStore.open(
                mongo_url, settings.mongo.database, atomic_updates=settings.mongo.atomic_updates
            )
            documents = mongo
            blobs = GridFSBlobStore(mongo.client, settings.mongo.database)
        else:
            documents = await SQLiteDocumentStore.open(settings.data_dir / "documents.db")
            blobs = DirectoryBlobStore(settings.data_dir / "images")
        redis_url = settings.redis.url.get_secret_value() if settings.redis.url else None
        notifier = settings.notifier
        token_lifetime = tokens.lifetime(settings.auth)
        if redis_url:
            counters = counters or RedisCounters(redis.client(redis_url))
            revocations = revocations or RedisRevocations(redis.client(redis_url), ttl_seconds=token_lifetime)
            bus = bus or RedisEventBus.open(
                redis_url, max_len=notifier.stream_max_len, ttl_seconds=notifier.stream_ttl_seconds
            )
        else:
            counters = counters or MemoryCounters()
            revocations = revocations or MemoryRevocations(ttl_seconds=token_lifetime)
            bus = bus or InProcessEventBus(max_len=notifier.stream_max_len)
        keys = tokens.KeySet.from_settings(settings.auth, settings.data_dir)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sql.sessionmaker(engine),
            reads=sql.Reads(engine),
            documents=documents,
            blobs=blobs,
            limiter=RateLimiter.open(redis_url),
            keys=keys,
            sender=mail.from_settings(settings.mail, settings.data_dir),
            hasher=passwords.Hasher(settings.auth),
            counters=counters,
            events=bus,
            broker=broker or queue.make_broker(settings),
            revocations=revocations,
            access=AccessCache(keys),
            job_lines=joblogs.reader(redis_url, max_lines=settings.log.job_lines),
            push_key=vapid.key_for(settings.push, keys),
            pages=Pages(counters, settings.pages),
        )

    async def check(self) -> dict[str, str]:
        """Readiness: each store answers, or says why not."""
        results: dict[str, str] = {}
        for name, probe in (
            ("sql", self._ping_sql),
            ("documents", self.documents.ping),
            ("rate_limits", self.limiter.ping),
            ("events", self.events.ping),
        ):
            try:
                await probe()
                results[name] = "ok"
            except Exception as e:  # readiness reports every failure instead of raising
                results[name] = f"error: {type(e).__name__}"
        return results

    async def _ping_sql(self) -> None:
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def close(self) -> None:
        await self.documents.close()
        await self.events.close()
        await self.counters.close()
        await self.revocations.close()
        await self.job_lines.close()
        self.reads.close()
        await self.engine.dispose()
