"""The embedded SQL store (SQLite) under concurrent writers: everyone waits their turn, nobody is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storybang.stores import sql


async def test_concurrent_read_then_write_transactions_all_commit(tmp_path: Path) -> None:
    # Each transaction reads, yields to the others, then writes: the shape of a login (read the
    # user, check the password, store a refresh token). With SQLite's deferred transactions, all
    # but the first writer would fail at once with "database is locked".
    engine = sql.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'users.db'}")
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE tokens (n INTEGER PRIMARY KEY)")

        async def login(n: int) -> None:
            async with engine.begin() as conn:
                await conn.exec_driver_sql("SELECT count(*) FROM tokens")
                await asyncio.sleep(0.002)
                await conn.exec_driver_sql("INSERT INTO tokens (n) VALUES (?)", (n,))

        await asyncio.gather(*(login(n) for n in range(200)))
        async with engine.connect() as conn:
            total = (await conn.exec_driver_sql("SELECT count(*) FROM tokens")).scalar_one()
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
        assert (total, mode) == (200, "wal")
    finally:
        await engine.dispose()
