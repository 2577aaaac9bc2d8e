"""Task lists and badges run statements kept per user's grants (``engine.store.built``,
issue 16): a kept statement must never outlive what it was built from. Grants, project
grants, delegations and their revocation show at once; the time, the page's limit and
offset are bound per call, so one kept statement serves every page and every moment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from engine import identity
from engine.store import built
from engine.store.models import HumanTask
from engine.store.uow import unit_of_work
from engine.tasks import TaskQuery
from tests.engine.driver import Driver
from tests.engine.test_inbox_paging import reference, start_reviews


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    d = Driver(engine, session, clock)
    d.deploy("approval3.bpmn")
    return d


def seen(drv: Driver, user: str) -> tuple[int, list[int], int]:
    """The claimable badge, the claimable list's ids and its total, as a page shows them."""
    badge = drv.engine.nav_counts(drv.session, user)["claimable"]
    found, total = drv.engine.tasks(drv.session, user, TaskQuery(
        scope="claimable", limit=50, count_limit=1000))
    drv.session.rollback()
    return badge, [t.id for t in found], total


def expect_rule(drv: Driver, user: str) -> list[int]:
    """What the badge and list must say: the engine's rule task by task."""
    expected = reference(drv, user, "claimable", "due")
    assert seen(drv, user) == (len(expected), expected, len(expected))
    return expected


def test_kept_statements_follow_every_grant_change_at_once(drv, session):
    ids = start_reviews(drv, 6)
    with unit_of_work(session):
        identity.create_user(session, "newcomer", now=drv.clock.now(), password="demo",
                             roles=[])
        for task_id in ids[:2]:  # two sponsor tasks of project 7
            session.execute(update(HumanTask).where(HumanTask.id == task_id)
                            .values(role="sponsor", project_id=7))
    assert expect_rule(drv, "newcomer") == []  # the statements are kept now
    kept = built.size()
    assert seen(drv, "newcomer") == (0, [], 0) and built.size() == kept  # reused, not rebuilt

    with unit_of_work(session):
        identity.set_roles(session, "newcomer", ["pmo_reviewer"])
    assert len(expect_rule(drv, "newcomer")) == 4  # the reviews, not the sponsor tasks

    with unit_of_work(session):
        identity.grant_project_role(session, 7, "newcomer", "sponsor")
    assert sorted(expect_rule(drv, "newcomer")) == sorted(ids)

    with unit_of_work(session):
        identity.revoke_project_role(session, 7, "newcomer", "sponsor")
        identity.set_roles(session, "newcomer", [])
    assert expect_rule(drv, "newcomer") == []

    # a delegation: the delegator's tasks, and gone again when it ends
    start = drv.clock.now()
    with unit_of_work(session):
        identity.add_delegation(session, "reviewer1", "newcomer", start,
                                start + timedelta(hours=1), "away", start)
    assert len(expect_rule(drv, "newcomer")) == 4
    drv.clock.advance(hours=2)
    assert expect_rule(drv, "newcomer") == []
    assert seen(drv, "newcomer") == (0, [], 0)


def test_one_kept_statement_serves_every_page_and_every_moment(drv, session):
    ids = start_reviews(drv, 7)
    everything = reference(drv, "reviewer1", "claimable", "due")
    pages = []
    sizes = set()
    for offset in range(0, 7, 2):
        found, total = drv.engine.tasks(session, "reviewer1", TaskQuery(
            scope="claimable", limit=2, offset=offset, count_limit=1000))
        pages += [t.id for t in found]
        assert total == 7
        sizes.add(built.size())
    assert pages == everything and len(sizes) == 1  # the pages' offsets are bound

    # overdue: the time is bound when the list runs, not when it was built
    overdue = TaskQuery(scope="claimable", overdue_only=True, limit=50)
    first, _ = drv.engine.tasks(session, "reviewer1", overdue)
    kept = built.size()
    drv.clock.advance(days=3)
    later, _ = drv.engine.tasks(session, "reviewer1", overdue)
    assert built.size() == kept  # the same statement, a later time
    drv.session.rollback()
    now = drv.clock.now()
    dues = {t.id: t.due_at for t in drv.engine.tasks(session, "reviewer1", TaskQuery(
        scope="claimable", limit=50))[0]}
    assert {t.id for t in later} == {i for i in ids if dues[i] is not None and dues[i] < now}
    assert len(first) < len(later)


def test_the_memo_keeps_at_most_its_size_and_drops_the_least_recently_used(monkeypatch):
    monkeypatch.setattr(built, "SIZE", 3)
    built.forget()
    made: list[str] = []

    def make(name: str):
        return lambda: made.append(name) or name

    for name in "abc":
        assert built.built(("t", name), make(name)) == name
    assert built.built(("t", "a"), make("a")) == "a"  # kept: not built again, now recent
    assert built.built(("t", "d"), make("d")) == "d"  # "b" (least recently used) goes
    assert built.size() == 3
    assert built.built(("t", "b"), make("b")) == "b"
    assert made == ["a", "b", "c", "d", "b"]
    built.forget()
    assert built.size() == 0
