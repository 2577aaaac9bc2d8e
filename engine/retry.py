"""Run an engine action again on fresh state when it lost a race it did not cause.

Two kinds of failure are the engine's own business, not the user's: the instance was
saved by someone else between this action's read and its write (:class:`InstanceChanged`,
from the optimistic revision check), and the database refused for a moment (SQLite's
write lock held or the read snapshot stale, PostgreSQL serialization failures and
deadlocks).  Both roll the whole unit of work back, so the action can simply run again:
it reloads the instance and, if its own task is still waiting, does its work on top of
what the other writer saved.  A user sees a conflict only when their own task was taken.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from engine.errors import Busy, InstanceChanged

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How many times an action runs at most.
ATTEMPTS = 8
#: PostgreSQL: serialization failure, deadlock, lock not available.
_PG_TRANSIENT = frozenset({"40001", "40P01", "55P03"})
#: SQLite: SQLITE_BUSY, SQLITE_LOCKED, SQLITE_BUSY_SNAPSHOT (a stale read snapshot).
_SQLITE_TRANSIENT = frozenset({5, 6, 517})


def is_transient(exc: BaseException) -> bool:
    """Whether a database error means "try again" rather than "this is wrong"."""
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _PG_TRANSIENT:
        return True
    code = getattr(orig, "sqlite_errorcode", None)
    if code in _SQLITE_TRANSIENT:
        return True
    return "database is locked" in str(orig)


def retrying(action: Callable[[], T], *, what: str = "action", attempts: int = ATTEMPTS) -> T:
    """``action()``, run again (with a short random pause) while it fails transiently.

    ``action`` must be a whole unit of work that rolls back on failure.  When every
    attempt failed, raises :class:`Busy` (HTTP 409 for a person: nothing was saved).
    """
    return retrying_locked(lambda _lock_first: action(), what=what, attempts=attempts)


def retrying_locked(
    action: Callable[[bool], T], *, what: str = "action", attempts: int = ATTEMPTS
) -> T:
    """:func:`retrying` for a unit of work that reads before it writes.

    The first run is optimistic (``action(False)``: on SQLite its transaction is deferred,
    so the write lock is taken by its first write, after its scripts ran).  If it lost
    the race, it runs again with ``action(True)``: take the write lock first (``BEGIN
    IMMEDIATE``), so it waits its turn behind the other writer on the busy timeout
    instead of losing the same race again.  (Without that, two busy workers made a
    completion fail eight times in a row within seconds: a person got "busy" on a task
    nobody else touched.)
    """
    for attempt in range(1, attempts + 1):
        try:
            return action(attempt > 1)
        except InstanceChanged:
            reason = "instance changed"
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
            reason = type(exc.orig).__name__
        if attempt < attempts:
            log.info("%s: %s, running it again (attempt %d)", what, reason, attempt + 1)
            time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
    raise Busy(
        f"{what}: the request is busy with other work; nothing was saved, please try again",
        what=what,
    )
