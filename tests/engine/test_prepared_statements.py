"""A transaction that only read ends with COMMIT on PostgreSQL, so psycopg keeps its
prepared statements (``engine.store.db.keep_prepared_statements``); one that wrote
anything, or failed, is rolled back exactly as before."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine.store.models import Role

READ = select(Role.name).where(Role.key == bindparam("key"))


@pytest.fixture
def pg(postgres_db) -> Iterator[Session]:
    """A session on one PostgreSQL connection (psycopg prepares per connection)."""
    with postgres_db.engine.connect() as conn, Session(conn) as s:
        yield s
    with postgres_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM roles WHERE key LIKE 'prep_%'"))


def _prepared(s: Session) -> list[str]:
    found = list(s.execute(text("SELECT statement FROM pg_prepared_statements")).scalars())
    s.rollback()
    return found


def _roles(db, prefix: str = "prep_") -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.execute(text("SELECT key FROM roles WHERE key LIKE :p ORDER BY key"),
                                 {"p": prefix + "%"}).scalars())


def test_reads_ended_by_a_rollback_keep_their_prepared_statement(pg):
    for _ in range(7):  # psycopg prepares a statement on its sixth run
        assert pg.execute(READ, {"key": "prep_none"}).all() == []
        pg.rollback()
    assert any("FROM roles" in statement for statement in _prepared(pg))
    # and the next reads use it, after further rollbacks
    for _ in range(3):
        pg.execute(READ, {"key": "prep_none"}).all()
        pg.rollback()
    assert any("FROM roles" in statement for statement in _prepared(pg))


@pytest.mark.parametrize("write", [
    "orm",
    "INSERT INTO roles (key, name, scope, description) VALUES ('prep_text', 'x', 'global', '')",
    "WITH made AS (INSERT INTO roles (key, name, scope, description) "
    "VALUES ('prep_cte', 'x', 'global', '') RETURNING key) SELECT key FROM made",
    "  insert into roles (key, name, scope, description) values ('prep_lower', 'x', 'global', '')",
])
def test_a_transaction_that_wrote_is_rolled_back(pg, postgres_db, write):
    pg.execute(READ, {"key": "x"}).all()  # a read first does not make it a read-only one
    if write == "orm":
        pg.add(Role(key="prep_orm", name="x"))
        pg.flush()
    else:
        result = pg.execute(text(write))
        if write.startswith("WITH"):
            assert result.scalars().all() == ["prep_cte"]
    pg.execute(READ, {"key": "x"}).all()  # nor does a read after it
    assert _roles(postgres_db) == []  # not visible to others before the end
    pg.rollback()
    assert _roles(postgres_db) == []
    # the next read-only transaction on the connection commits again, the next write
    # is rolled back again: what a transaction did is forgotten when it ends
    for _ in range(7):
        pg.execute(READ, {"key": "x"}).all()
        pg.rollback()
    assert any("FROM roles" in statement for statement in _prepared(pg))
    pg.add(Role(key="prep_again", name="x"))
    pg.flush()
    pg.rollback()
    assert _roles(postgres_db) == []


def test_a_committed_write_is_kept_and_the_read_after_it_ends_as_a_read(pg, postgres_db):
    for _ in range(7):
        pg.execute(READ, {"key": "prep_kept"}).all()
        pg.rollback()
    pg.add(Role(key="prep_kept", name="x"))
    pg.commit()
    # the commit ended the writing transaction: the read after it keeps what was prepared
    assert pg.execute(READ, {"key": "prep_kept"}).scalars().all() == ["x"]
    pg.rollback()
    assert any("FROM roles" in statement for statement in _prepared(pg))
    assert _roles(postgres_db) == ["prep_kept"]


def test_a_notify_in_a_rolled_back_transaction_is_not_sent(pg, postgres_db):
    channel = f"prep_{time.monotonic_ns()}"
    dsn = postgres_db.engine.url.set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute(f'LISTEN "{channel}"')
        pg.execute(READ, {"key": "x"}).all()
        pg.execute(text(f"NOTIFY \"{channel}\", 'rolled back'"))
        pg.rollback()
        assert [n.payload for n in listener.notifies(timeout=0.3, stop_after=1)] == []
        pg.execute(text(f"NOTIFY \"{channel}\", 'committed'"))
        pg.commit()
        assert [n.payload for n in listener.notifies(timeout=3, stop_after=1)] == ["committed"]


def test_a_failed_read_is_rolled_back_and_the_connection_works_on(pg):
    with pytest.raises(DBAPIError):
        pg.execute(text("SELECT 1 / 0")).all()
    pg.rollback()
    assert pg.execute(text("SELECT 2")).scalar() == 2
    pg.rollback()


def test_a_lock_taken_by_a_read_is_released_when_it_ends(pg, postgres_db):
    pg.add(Role(key="prep_lock", name="x"))
    pg.commit()
    pg.execute(select(Role.key).where(Role.key == "prep_lock").with_for_update()).all()
    pg.rollback()
    with postgres_db.engine.connect() as other:
        found = other.execute(select(Role.key).where(Role.key == "prep_lock")
                              .with_for_update(nowait=True)).all()
        other.rollback()
    assert [r.key for r in found] == ["prep_lock"]


def test_sqlite_reads_and_rollbacks_are_unchanged(sqlite_db):
    with sqlite_db.engine.connect() as conn, Session(conn) as s:
        s.add(Role(key="prep_sqlite", name="x"))
        s.flush()
        s.rollback()
        assert s.execute(select(Role.key).where(Role.key == "prep_sqlite")).all() == []
        s.rollback()
