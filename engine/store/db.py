"""Database engines and sessions for the CLI, the worker, the bench and the tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

#: SQLite settings used everywhere (and stated in the bench output).
SQLITE_PRAGMAS = {
    "journal_mode": "WAL",
    "synchronous": "NORMAL",
    "foreign_keys": "ON",
    "busy_timeout": "10000",
}


#: Execution option a writing unit of work sets on its connection (see engine.store.uow).
WRITE_OPTION = "pmoflow_write"


def make_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create a SQLAlchemy engine with the settings PMOflow relies on.

    SQLite gets WAL, ``synchronous=NORMAL``, foreign keys and a busy timeout; its folder
    is created if missing.
    """
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        db_engine = create_engine(url, **kwargs)
        install_sqlite_settings(db_engine)
        return db_engine
    db_engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        install_idle_ping(db_engine)
    keep_prepared_statements(db_engine)
    return db_engine


#: ``Connection.info`` key: the transaction ran a statement that is not a plain SELECT.
_WROTE = "pmoflow.connection_wrote"
#: Dialect attribute: :func:`keep_prepared_statements` was installed on it.
_KEEPS = "_pmoflow_keeps_prepared"


def keep_prepared_statements(db_engine: Engine) -> None:
    """End a PostgreSQL transaction that only read with ``COMMIT`` instead of ``ROLLBACK``,
    so psycopg keeps its prepared statements.

    psycopg prepares a statement on the server once it has run it five times on a
    connection (no parsing or planning after that), but forgets every prepared statement
    at each ``ROLLBACK`` (a rolled-back transaction may have dropped what they refer to).
    Every page ends its reads with a rollback, so nothing was ever prepared: each read was
    parsed and planned again. For a transaction that ran only ``SELECT`` statements the
    two are the same (no rows written, locks released either way); one that ran anything
    else (an insert, update, delete, ``NOTIFY``, a ``WITH`` whatever it holds), or that
    failed, is rolled back as before.
    """
    dialect = db_engine.dialect
    if (
        dialect.name != "postgresql"
        or dialect.driver != "psycopg"
        or getattr(dialect, _KEEPS, False)
    ):
        return
    import psycopg

    idle_in_transaction = psycopg.pq.TransactionStatus.INTRANS
    rollback = dialect.do_rollback

    def note_writes(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:6].upper() != "SELECT":
            conn.info[_WROTE] = True

    def forget(conn: Any) -> None:
        conn.info.pop(_WROTE, None)

    def end(dbapi_connection: Any) -> None:
        try:
            wrote = dbapi_connection.info.pop(_WROTE, False)
            driver = dbapi_connection.driver_connection
        except (AttributeError, NotImplementedError):  # not pooled yet (the first connect)
            wrote, driver = True, None
        if not wrote and driver.info.transaction_status == idle_in_transaction:
            driver.commit()
        else:
            rollback(dbapi_connection)

    event.listen(db_engine, "before_cursor_execute", note_writes)
    event.listen(db_engine, "commit", forget)
    dialect.do_rollback = end  # type: ignore[method-assign]
    setattr(dialect, _KEEPS, True)


#: A pooled connection idle longer than this is checked before use (seconds).
IDLE_PING_SECONDS = 1.0
_USED = "pmoflow.last_used"
#: Connection checks made (for the bench's round-trip count).
PINGS = {"count": 0}


def install_idle_ping(db_engine: Engine, idle: float = IDLE_PING_SECONDS) -> None:
    """Check a pooled PostgreSQL connection before use only when it sat idle longer than
    ``idle`` seconds, instead of on every checkout (``pool_pre_ping``).

    ``pool_pre_ping`` costs a round trip per request and per engine action; a connection
    handed back and taken again within a second is as alive as the ping would show. A
    connection that dies while busy raises a disconnect error, which makes SQLAlchemy
    discard every connection of the pool made before it (the request answers 503, the
    engine's callers see the error), so a restarted database is picked up either way.
    """
    if db_engine.dialect.name == "sqlite":
        return
    dialect = db_engine.dialect

    def checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info[_USED] = time.monotonic()

    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_USED)
        if last is not None and time.monotonic() - last <= idle:
            return
        PINGS["count"] += 1
        try:
            alive = dialect._do_ping_w_event(dbapi_conn)  # what pool_pre_ping calls
        except Exception as exc:
            raise DisconnectionError("connection check failed") from exc
        if not alive:
            raise DisconnectionError("connection check failed")

    event.listen(db_engine.pool, "checkin", checkin)
    event.listen(db_engine.pool, "checkout", checkout)


def install_sqlite_settings(db_engine: Engine) -> None:
    """Apply :data:`SQLITE_PRAGMAS` and the write-lock policy to a SQLite engine.

    Used for engines made elsewhere too (Flask-SQLAlchemy's), so every connection to the
    database behaves the same.
    """
    if db_engine.dialect.name != "sqlite":
        return
    event.listen(db_engine, "connect", _sqlite_on_connect)
    event.listen(db_engine, "begin", _sqlite_on_begin)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    for name, value in SQLITE_PRAGMAS.items():
        cur.execute(f"PRAGMA {name}={value}")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    # A unit of work that will write asks for BEGIN IMMEDIATE, which takes the write lock
    # up front: two writers then queue on the busy timeout instead of one failing with
    # "database is locked" when it upgrades a read transaction. Reads stay deferred.
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def make_sessionmaker(db_engine: Engine) -> sessionmaker[Session]:
    """A session factory whose sessions keep objects usable after commit."""
    return sessionmaker(db_engine, expire_on_commit=False)
