"""Alembic environment: always given a live connection by :func:`storybang.migrations.upgrade`."""

from alembic import context

from storybang.identity import models  # noqa: F401  (registers the tables on Base.metadata)
from storybang.stores.sql import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
