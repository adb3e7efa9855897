"""A transaction that MariaDB chose as a deadlock's victim is told from other store errors: it wrote
nothing, and running it again is the cure (storybang.identity.service.refresh does)."""

from __future__ import annotations

import sqlalchemy as sa
from asyncmy.errors import OperationalError as DriverOperationalError

from storybang.stores.sql import is_deadlock


def raised(code: int, message: str) -> sa.exc.OperationalError:
    """The error as SQLAlchemy raises it from asyncmy's."""
    return sa.exc.OperationalError("UPDATE refresh_tokens ...", {}, DriverOperationalError(code, message))


def test_a_deadlock_victim_is_told_from_other_store_errors() -> None:
    assert is_deadlock(raised(1213, "Deadlock found when trying to get lock; try restarting transaction"))
    assert not is_deadlock(raised(1205, "Lock wait timeout exceeded"))  # waited too long: not retried here
    assert not is_deadlock(raised(2003, "Can't connect to MySQL server"))
    integrity = sa.exc.IntegrityError("INSERT ...", {}, DriverOperationalError(1213, "not an operational error"))
    assert not is_deadlock(integrity)
    assert not is_deadlock(ValueError(1213))
