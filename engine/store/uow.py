"""One transaction per engine action."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.orm import Session, scoped_session

from engine.store.db import WRITE_OPTION


@contextlib.contextmanager
def unit_of_work(session: Session | scoped_session, *, write: bool = True
                 ) -> Iterator[Session]:
    """Run the body in a fresh transaction: commit on success, roll back on any error.

    A transaction the caller left open (typically a read, such as loading the signed-in
    user) is committed first, so the engine action never mixes with it.  Writing units of
    work take the database's write lock at their start on SQLite (``BEGIN IMMEDIATE``).
    """
    if isinstance(session, scoped_session):  # Flask-SQLAlchemy hands in its registry
        session = session()
    if session.in_transaction():
        session.commit()
    if write:
        session.connection(execution_options={WRITE_OPTION: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
