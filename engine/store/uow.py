"""One transaction per engine action, and reads that leave the caller's session alone."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session

from engine.store import pipeline
from engine.store.db import WRITE_OPTION

#: ``session.info`` key: the open transaction has written (flushed or executed DML).
_WROTE = "pmoflow.wrote"


class PendingWork(RuntimeError):
    """An engine verb was called on a session holding someone else's uncommitted writes.

    The verb would otherwise commit them as part of its own unit of work (or roll them
    back on failure): commit or roll back first.  A programming error, not user input.
    """


def unit_of_work(
    session: Session | scoped_session, *, write: bool = True
) -> contextlib.AbstractContextManager[Session]:
    """Run the body in a fresh transaction: commit on success, roll back on any error.

    A transaction the caller left open with reads only (typically loading the signed-in
    user) is ended first, so the engine action never mixes with it; one holding writes is
    refused with :class:`PendingWork`, never committed.  Writing units of work take the
    database's write lock at their start on SQLite (``BEGIN IMMEDIATE``).
    """
    # Flask-SQLAlchemy hands in its registry
    own = session() if isinstance(session, scoped_session) else session
    return _unit_of_work(own, write)


@contextlib.contextmanager
def _unit_of_work(session: Session, write: bool) -> Iterator[Session]:
    if session.in_transaction() or session.new or session.dirty or session.deleted:
        if has_pending_writes(session):
            raise PendingWork(
                "the session holds uncommitted changes; commit or roll them "
                "back before calling an engine verb"
            )
        session.rollback()
    pipeline.want(session)
    if write:
        session.connection(execution_options={WRITE_OPTION: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        pipeline.want(session, False)


def has_pending_writes(session: Session) -> bool:
    """Whether the session holds changes not yet committed (pending objects, or writes
    already flushed or executed in its open transaction)."""
    return bool(session.new or session.dirty or session.deleted or session.info.get(_WROTE))


@contextlib.contextmanager
def read_only(session: Session | scoped_session) -> Iterator[Session]:
    """Read without committing or flushing anything of the caller's.

    Inside a transaction the caller opened, the reads join it and it stays open; else the
    transaction the reads open is rolled back at the end (no locks or snapshot held).
    """
    own = session() if isinstance(session, scoped_session) else session
    began = not own.in_transaction()
    try:
        with own.no_autoflush:
            yield own
    finally:
        if began:
            own.rollback()


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if session.in_transaction():
        session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        session.info.pop(_WROTE, None)
