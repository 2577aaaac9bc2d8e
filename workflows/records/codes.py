"""Gap-free, duplicate-free business codes (``PRJ-2026-0042``).

A code is taken in the caller's transaction: if that transaction rolls back, the number
goes back too, and the next caller gets it.  The counter row is incremented with one
``UPDATE ... SET next_value = next_value + 1 ... RETURNING``: on PostgreSQL the UPDATE
takes the row lock (as ``SELECT ... FOR UPDATE`` would) and holds it to commit, so a
second allocator waits and then reads the committed value; on SQLite a writing unit of
work already holds the database's write lock (``BEGIN IMMEDIATE``).

The first use of a counter inserts its row with ``INSERT ... ON CONFLICT DO NOTHING``:
two first uses at once both try, one inserts, the other waits on the unique key (PG) or
the write lock (SQLite), does nothing, and increments the row the first one made.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workflows.records.models import CodeSequence

_SEQ = CodeSequence.__table__


def next_number(session: Session, name: str) -> int:
    """Take the next number (1, 2, ...) of counter ``name`` in the current transaction."""
    value = _increment(session, name)
    if value is None:
        dialect = session.connection().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(_SEQ).values(name=name, next_value=1).on_conflict_do_nothing(
                index_elements=["name"]))
        value = _increment(session, name)
        if value is None:  # pragma: no cover - the row was just ensured
            raise RuntimeError(f"code sequence {name!r} vanished")
    return value


def _increment(session: Session, name: str) -> int | None:
    stmt = (update(_SEQ).where(_SEQ.c.name == name)
            .values(next_value=_SEQ.c.next_value + 1)
            .returning(_SEQ.c.next_value))
    taken = session.execute(stmt).scalar_one_or_none()
    return None if taken is None else taken - 1


def allocate_project_code(session: Session, year: int) -> str:
    """The next project code of ``year``: ``PRJ-YYYY-NNNN`` (more digits past 9999)."""
    number = next_number(session, f"PRJ-{year:04d}")
    return f"PRJ-{year:04d}-{number:04d}"
