"""One rule for who may work on a task (issue 13): what the inbox offers, what the task
page and the hand-over list show, and what claim and completion accept always agree."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import access, identity
from engine.errors import Forbidden
from engine.store.models import HumanTask, ProcessInstance
from engine.store.uow import unit_of_work
from engine.tasks import TaskQuery, claimable_filter
from tests.engine.driver import Driver
from tests.engine.test_engine_rules import COMMITTEE, check_budget

EVERYONE = ("pm1", "pm2", "pmrev", "reviewer1", "reviewer2", "pmohead", "steer1", "steer2",
            "steer3", "team1", "admin")


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    engine.services.register("check_budget", check_budget)
    d = Driver(engine, session, clock)
    d.deploy("approval3.bpmn")
    d.deploy_text("committee.bpmn", COMMITTEE)
    with unit_of_work(session):
        identity.create_user(session, "pmrev", now=clock.now(), password="demo",
                             roles=["pm", "pmo_reviewer"])
    return d


def claimable(drv: Driver, username: str) -> list[int]:
    found, total = drv.engine.tasks(drv.session, username, TaskQuery(scope="claimable"))
    assert total == len(found)
    return sorted(t.id for t in found)


def agree(drv: Driver) -> None:
    """For every person and open task: the SQL the inbox uses and the check the verbs use
    give the same answer."""
    session, now = drv.session, drv.clock.now()
    tasks = session.scalars(select(HumanTask).where(HumanTask.status == "open")).all()
    for user in EVERYONE:
        listed = set(session.scalars(select(HumanTask.id).where(
            claimable_filter(session, user, now))))
        for row in tasks:
            started_by = session.get(ProcessInstance, row.instance_id).started_by
            checked = access.may_work_on(session, user, row, started_by, now).allowed
            assert (row.id in listed) == (checked and row.assignee is None), (user, row.name)
    session.rollback()


def test_a_member_who_voted_is_not_offered_the_other_votes(drv, session):
    inst = drv.start("committee", data={"budget": 5, "sla_days": 2})
    votes = drv.open_tasks(inst.id)
    assert claimable(drv, "steer1") == sorted(v.id for v in votes)
    drv.engine.complete(session, votes[0].id, "steer1", {"ballot": "approve"})
    assert claimable(drv, "steer1") == []
    assert drv.engine.nav_counts(session, "steer1")["claimable"] == 0
    assert claimable(drv, "steer2") == sorted(v.id for v in votes[1:])
    page_rule = access.may_work_on(session, "steer1", session.get(HumanTask, votes[1].id),
                                   "pm1", drv.clock.now())
    assert not page_rule.allowed and page_rule.reason.code == "access.distinct_actors"
    session.rollback()
    with pytest.raises(Forbidden, match="already completed"):
        drv.engine.claim(session, votes[1].id, "steer1")
    agree(drv)


def test_acting_for_a_member_who_voted_offers_no_vote_either(drv, session, clock):
    """team1 acts for steer1 while away: steer1's vote counts for both of them."""
    inst = drv.start("committee", data={"budget": 5, "sla_days": 2})
    with unit_of_work(session):
        identity.add_delegation(session, "steer1", "team1", clock.now(), None, "leave",
                                clock.now())
    votes = drv.open_tasks(inst.id)
    assert claimable(drv, "team1") == sorted(v.id for v in votes)
    drv.engine.complete(session, votes[0].id, "steer1", {"ballot": "approve"})
    assert claimable(drv, "team1") == []
    with pytest.raises(Forbidden, match="already completed"):
        drv.engine.complete(session, votes[1].id, "team1", {"ballot": "approve"})
    agree(drv)


def test_a_pm_who_also_reviews_is_not_offered_their_own_review(drv, session):
    own = drv.start("approval3", actor="pmrev", data={"title": "Mine", "budget": 1})
    other = drv.start("approval3", actor="pm1", data={"title": "Theirs", "budget": 1})
    mine_review, their_review = drv.task(own.id, "review"), drv.task(other.id, "review")
    assert claimable(drv, "pmrev") == [their_review.id]
    assert claimable(drv, "reviewer1") == sorted([mine_review.id, their_review.id])
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.claim(session, mine_review.id, "pmrev")
    agree(drv)


def test_the_hand_over_list_holds_only_people_who_may_do_the_step(drv, session, clock):
    with unit_of_work(session):
        identity.create_user(session, "revpm", now=clock.now(), password="demo",
                             roles=["pmo_reviewer", "pm"])
    inst = drv.start("approval3", actor="revpm", data={"title": "A", "budget": 1})
    review = drv.task(inst.id, "review")
    row = session.get(HumanTask, review.id)
    now = clock.now()
    # the role's holders, not the requester (four eyes), not whoever asks
    assert access.handover_candidates(session, row, "revpm", now, exclude=("reviewer1",)) == (
        "pmrev", "reviewer2")
    session.rollback()
    drv.engine.claim(session, review.id, "reviewer1")
    for to_user, match in (("pmohead", "may not work on this task"),
                           ("revpm", "four-eyes")):
        with pytest.raises(Forbidden, match=match):
            drv.engine.delegate(session, review.id, "reviewer1", to_user, "holiday")
    drv.engine.delegate(session, review.id, "reviewer1", "reviewer2", "holiday")
    assert drv.task(inst.id, "review").assignee == "reviewer2"


def test_the_hand_over_list_of_a_vote_leaves_out_who_voted(drv, session, clock):
    inst = drv.start("committee", data={"budget": 5, "sla_days": 2})
    votes = drv.open_tasks(inst.id)
    drv.engine.complete(session, votes[0].id, "steer1", {"ballot": "approve"})
    drv.engine.claim(session, votes[1].id, "steer2")
    row = session.get(HumanTask, votes[1].id)
    assert access.handover_candidates(session, row, "pm1", clock.now(),
                                      exclude=("steer2",)) == ("steer3",)
    session.rollback()
    with pytest.raises(Forbidden, match="may not work on this task"):
        drv.engine.delegate(session, votes[1].id, "steer2", "steer1", "busy")


def test_migration_marks_the_open_votes_of_existing_requests(drv, session, db):
    """Tasks opened before ``distinct_actors`` existed get it from their process version,
    so the inbox hides other members' votes on requests already running."""
    from engine.store.schema import ENGINE_MIGRATIONS

    inst = drv.start("committee", data={"budget": 5, "sla_days": 2})
    drv.start("approval3", data={"title": "A", "budget": 1})
    session.commit()
    session.close()
    ENGINE_MIGRATIONS.downgrade(db.engine, "0014")
    ENGINE_MIGRATIONS.upgrade(db.engine)
    flags = dict(session.execute(select(HumanTask.element_id, HumanTask.distinct_actors)
                                 .where(HumanTask.status == "open")).all())
    assert flags == {"vote": True, "review": False}
    assert len(drv.open_tasks(inst.id)) == 3  # the request still reads as before
