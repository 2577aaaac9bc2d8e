"""A verb's unit of work never commits its caller's pending changes, and a failed verb
leaves the caller's session as it found it (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.errors import InvalidData
from engine.spiff.bundle import SourceFile
from engine.store.db import make_sessionmaker
from engine.store.models import User
from engine.store.uow import PendingWork, has_pending_writes, read_only, unit_of_work
from tests.engine.driver import Driver, files


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    d = Driver(engine, session, clock)
    d.deploy("approval3.bpmn")
    return d


def _display_name(db, username: str) -> str:
    """What another connection sees (committed data only)."""
    with make_sessionmaker(db.engine)() as other:
        return other.scalar(select(User.display_name).where(User.username == username))


def test_a_verb_refuses_a_session_with_pending_objects_and_commits_none(drv, session, db):
    user = session.scalar(select(User).where(User.username == "pm2"))
    user.display_name = "Changed by the caller"  # dirty, not flushed
    with pytest.raises(PendingWork):
        drv.start("approval3", data={"title": "T", "budget": 5})
    assert _display_name(db, "pm2") == "pm2"
    assert user.display_name == "Changed by the caller"  # still the caller's, still pending
    assert has_pending_writes(session)
    session.rollback()


def test_a_verb_refuses_writes_already_flushed_or_executed(drv, session, db):
    session.execute(update(User).where(User.username == "pm2").values(display_name="Flushed"))
    assert has_pending_writes(session)
    with pytest.raises(PendingWork):
        drv.start("approval3", data={"title": "T", "budget": 5})
    assert _display_name(db, "pm2") == "pm2"
    session.rollback()
    assert not has_pending_writes(session)  # the flag ends with the transaction
    inst = drv.start("approval3", data={"title": "T", "budget": 5})
    assert inst.status == "running"


def test_a_read_transaction_left_open_is_fine(drv, session):
    assert session.scalar(select(User.username).where(User.username == "pm1")) == "pm1"
    assert session.in_transaction()
    inst = drv.start("approval3", data={"title": "T", "budget": 5})
    assert inst.status == "running"


def test_a_failed_verb_leaves_nothing_behind_and_the_session_usable(drv, session, db):
    with pytest.raises(InvalidData):
        drv.start("approval3", data={"title": "", "budget": "not a number"})
    assert not session.in_transaction() and not has_pending_writes(session)
    assert drv.open_tasks(1) == []
    assert drv.start("approval3", data={"title": "T", "budget": 5}).id == 1


def test_validate_reads_inside_the_callers_transaction_and_leaves_it_alone(drv, session, db):
    user = session.scalar(select(User).where(User.username == "pm2"))
    user.display_name = "Pending"
    session.flush()
    problems = drv.engine.validate(session, files("approval3.bpmn"))
    assert problems == []
    assert session.in_transaction() and user.display_name == "Pending"
    assert has_pending_writes(session)  # not rolled back, not committed
    assert _display_name(db, "pm2") == "pm2"
    session.commit()
    assert _display_name(db, "pm2") == "Pending"


def test_validate_with_a_fresh_session_ends_its_own_read(drv, session):
    session.close()
    broken = SourceFile("x.bpmn", b"<not-bpmn/>")
    assert drv.engine.validate(session, [broken])
    assert not session.in_transaction()


def test_read_only_inside_and_outside_a_transaction(session, people):
    with read_only(session) as s:
        assert s.scalar(select(User.username).where(User.username == "pm1")) == "pm1"
    assert not session.in_transaction()
    session.scalar(select(User.id).limit(1))
    with read_only(session):
        pass
    assert session.in_transaction()  # the caller's transaction stays open
    session.rollback()


def test_unit_of_work_rolls_back_on_error_and_commits_on_success(session, people, db):
    with pytest.raises(RuntimeError), unit_of_work(session):
        session.execute(update(User).where(User.username == "pm2").values(display_name="X"))
        raise RuntimeError("boom")
    assert _display_name(db, "pm2") == "pm2"
    with unit_of_work(session):
        session.execute(update(User).where(User.username == "pm2").values(display_name="Y"))
    assert _display_name(db, "pm2") == "Y"
