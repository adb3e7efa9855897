"""Alembic migrations for the SQL store, runnable from code (`storybang migrate`, dev start-up)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from storybang.stores import sql


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("storybang") / "migrations"))
    return cfg


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (idempotent)."""
    engine = sql.create_engine(url)
    cfg = config()

    def run(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()
