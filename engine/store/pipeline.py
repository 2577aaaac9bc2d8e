"""PostgreSQL pipeline mode for a unit of work: fewer round trips, same statements.

On PostgreSQL every statement is a network round trip (about 0.1-0.2 ms on loopback
here, several times the statement's own cost).  An engine action ends with a burst of
writes whose outcome nobody reads on the spot (audit rows, outbox rows, projection
updates): in psycopg's pipeline mode those are *queued* and travel to the server together
with the next statement that needs an answer, or with ``COMMIT``.

The rules, kept deliberately narrow so that no code can read a result before it exists:

* A unit of work on PostgreSQL runs its connection in pipeline mode (:func:`want`).
* Every statement is synchronised at once (exactly as without a pipeline) unless it was
  executed with the execution option ``{DEFER: True}``: only statements that return no
  rows and whose row count the caller does not read may carry it.  ``BEGIN`` rides with
  the first statement.
* A guarded write whose row count decides the action (the instance's revision check, the
  task still open) may be deferred with :func:`check_later`: the check runs once the
  result has arrived, at the latest just before ``COMMIT`` (:func:`_before_commit`), and
  its error is raised there, so the transaction rolls back exactly as before.
* Errors of queued statements surface at the next synchronisation point as the usual
  SQLAlchemy ``DBAPIError`` subclasses (retries and 409s see what they saw before).

On SQLite (in-process, no round trips) all of this is a no-op.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: Execution option: this statement returns nothing anyone reads now; queue it.
DEFER = "pmoflow_defer"
#: ``Connection.info`` key of the active psycopg pipeline.
_PIPE = "pmoflow.pipeline"
#: ``Connection.info`` key: statements were queued since the last synchronisation.
_QUEUED = "pmoflow.queued"
#: ``Session.info`` key: checks waiting for their statement's result.
_CHECKS = "pmoflow.checks"

#: ``Session.info`` key: the unit of work asked for pipeline mode.
_WANT = "pmoflow.pipeline_want"
#: ``Session.info`` key: the connection put into pipeline mode.
_CONN = "pmoflow.pipeline_conn"

#: ``PMOFLOW_PG_PIPELINE=0`` turns pipeline mode off (every statement its own round trip,
#: as before); read once at start.
ENABLED = os.environ.get("PMOFLOW_PG_PIPELINE", "1") != "0"

#: Counts for the bench (``pmoflow bench``): synchronisations made by this module.
SYNCS = {"count": 0}


def want(session: Session, on: bool = True) -> None:
    """Run the session's next transaction's connection in pipeline mode (PostgreSQL with
    psycopg 3 only; otherwise nothing).  Entered when the transaction first uses its
    connection, so execution options set then (isolation level) still apply."""
    if on and ENABLED:
        session.info[_WANT] = True
    else:
        session.info.pop(_WANT, None)


@event.listens_for(Session, "after_begin")
def _after_begin(session: Session, _transaction: Any, conn: Connection) -> None:
    if session.info.get(_WANT):
        _begin(session, conn)


def _begin(session: Session, conn: Connection) -> None:
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return
    if _PIPE in conn.info:
        return
    driver = conn.connection.driver_connection
    if driver is None or getattr(driver, "_pipeline", None) is not None:
        return
    cm = driver.pipeline()
    cm.__enter__()
    conn.info[_PIPE] = cm
    conn.info[_QUEUED] = False
    session.info[_CONN] = conn


def active(conn: Connection) -> bool:
    """Whether ``conn`` is in pipeline mode."""
    return _PIPE in conn.info


def sync(conn: Connection, *, wrap: bool = True) -> None:
    """Send what is queued and wait for every result (errors as ``DBAPIError``; with
    ``wrap`` False as the driver's own, for SQLAlchemy to wrap while it executes)."""
    if not conn.info.get(_QUEUED):
        return
    conn.info[_QUEUED] = False
    SYNCS["count"] += 1
    driver: Any = conn.connection.driver_connection
    if not wrap:
        driver._pipeline.sync()
        return
    try:
        driver._pipeline.sync()
    except Exception as exc:
        dbapi = conn.dialect.loaded_dbapi
        if isinstance(exc, dbapi.Error):
            raise DBAPIError.instance(None, None, exc, dbapi.Error, dialect=conn.dialect) from exc
        raise


def check_later(
    session: Session, result: Any, ok: Callable[[int], bool], fail: Callable[[], Exception]
) -> bool | None:
    """Defer a row-count check of a statement executed with :data:`DEFER`.

    Returns None when deferred (``fail()`` is raised before commit if ``ok(rowcount)``
    is false), else the check's outcome now.
    """
    conn = session.connection()
    if not active(conn) or not conn.info.get(_QUEUED):
        return ok(result.rowcount)
    # SQLAlchemy reads the row count when the statement is sent (none yet); the driver's
    # cursor receives it when the result arrives.
    session.info.setdefault(_CHECKS, []).append((result.context.cursor, ok, fail))
    return None


def run_checks(session: Session) -> None:
    """Synchronise if checks wait, then raise the first failed check's error."""
    checks = session.info.pop(_CHECKS, None)
    if not checks:
        return
    conn = session.connection()
    try:
        sync(conn)
    except DBAPIError:
        # A later queued statement failed: a failed guard explains it better (the
        # instance was saved by someone else, so our rows collided with theirs).
        _raise_failed(checks, partial=True)
        raise
    _raise_failed(checks, partial=False)


def _raise_failed(checks: list[Any], *, partial: bool) -> None:
    for cursor, ok, fail in checks:
        count = cursor.rowcount
        if partial and count < 0:
            continue  # no result for it arrived
        if not ok(count):
            raise fail()


def _end(conn: Connection) -> None:
    cm = conn.info.pop(_PIPE, None)
    conn.info.pop(_QUEUED, None)
    if cm is None:
        return
    try:
        cm.__exit__(None, None, None)
    except Exception:  # the transaction already ended; a broken connection is the pool's
        log.debug("leaving pipeline mode failed", exc_info=True)


@event.listens_for(Engine, "after_cursor_execute")
def _after_cursor_execute(
    conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool
) -> None:
    if _PIPE not in conn.info:
        return
    if context is not None and context.execution_options.get(DEFER):
        compiled = context.compiled
        if not (compiled is not None and compiled.effective_returning):
            conn.info[_QUEUED] = True
            return
    conn.info[_QUEUED] = True
    # Raised as the driver's error: SQLAlchemy wraps it as this statement's (and notices
    # a lost connection), exactly as without a pipeline.
    sync(conn, wrap=False)


@event.listens_for(Engine, "commit")
def _on_commit(conn: Connection) -> None:
    # COMMIT itself synchronises; what is queued goes with it.
    conn.info[_QUEUED] = False


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    run_checks(session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    _end_all(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CHECKS, None)
    _end_all(session)


def _end_all(session: Session) -> None:
    conn = session.info.pop(_CONN, None)
    if conn is not None:
        _end(conn)
