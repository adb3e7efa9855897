"""What a store that is down or restarting raises, from every driver we use.

Kept with the stores so that the HTTP edge (503 with a Retry-After) and the workers (retry the job
with backoff) name the same list, and so that a process that does not talk to these stores (the
model server) never has to import their drivers.
"""

from __future__ import annotations

import sqlite3

from pymongo.errors import ConnectionFailure
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DisconnectionError, OperationalError

STORE_DOWN: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionFailure,
    DisconnectionError,
    OperationalError,
    # The embedded document store's driver: a database locked past its busy timeout, a full disk.
    sqlite3.OperationalError,
)
