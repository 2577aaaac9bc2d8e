"""Inbox lists and badges on the indexes of a big install (issue 16): the same tasks in the
same order whether paged by offset or by keyset (``after``), ties broken by id; counts that
follow claim, completion and reassignment; badges bounded at ``BADGE_CAP``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine import access, identity, tasks
from engine.errors import InvalidData
from engine.store.models import HumanTask, ProcessInstance
from engine.store.uow import unit_of_work
from engine.tasks import SORTS, TaskQuery, badge
from tests.engine.driver import Driver

REVIEWERS = ("reviewer1", "reviewer2")


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    d = Driver(engine, session, clock)
    d.deploy("approval3.bpmn")
    return d


def start_reviews(drv: Driver, count: int) -> list[int]:
    """``count`` approvals (pm1 and pm2 by turns); their open review task ids, with due
    dates in groups of three (ties) and every fourth task without one."""
    ids = []
    for i in range(count):
        inst = drv.start("approval3", "pm1" if i % 2 else "pm2",
                         data={"title": f"P{i}", "budget": 10})
        ids += [t.id for t in drv.open_tasks(inst.id)]
    base = drv.clock.now()
    drv.session.rollback()
    with unit_of_work(drv.session):
        for n, task_id in enumerate(ids):
            due = None if n % 4 == 3 else base + timedelta(days=(n * 7) % 5)
            drv.session.execute(update(HumanTask).where(HumanTask.id == task_id)
                                .values(due_at=due))
    return ids


def reference(drv: Driver, username: str, scope: str, sort: str) -> list[int]:
    """The list computed without SQL order or paging: the engine's one rule task by task
    (``access.may_work_on``), sorted in Python."""
    session, now = drv.session, drv.clock.now()
    rows = session.scalars(select(HumanTask).where(HumanTask.status == "open")).all()
    keep = []
    for row in rows:
        if scope == "mine":
            ok = row.assignee == username
        else:
            started_by = session.get(ProcessInstance, row.instance_id).started_by
            ok = row.assignee is None and access.may_work_on(
                session, username, row, started_by, now).allowed
        if ok:
            keep.append(row)
    keys = {
        "due": lambda r: (r.due_at is None, r.due_at or now, r.id),
        "created": lambda r: (r.created_at, r.id),
        "-created": lambda r: (-r.created_at.timestamp(), -r.id),
        "name": lambda r: (r.name, r.id),
    }
    found = [r.id for r in sorted(keep, key=keys[sort])]
    session.rollback()
    return found


def paged(drv: Driver, username: str, scope: str, sort: str, *, keyset: bool,
          size: int = 4) -> tuple[list[int], set[int]]:
    """Every page of a list, by offset or by keyset; the ids and the totals reported."""
    out: list[int] = []
    totals: set[int] = set()
    after = None
    for page in range(50):
        query = TaskQuery(scope=scope, sort=sort, limit=size,
                          offset=0 if keyset else page * size,
                          after=after if keyset else None)
        found, total = drv.engine.tasks(drv.session, username, query)
        totals.add(total)
        if not found:
            break
        out += [t.id for t in found]
        after = found[-1].id
    return out, totals


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_pages_by_offset_and_by_keyset_list_the_same_tasks_in_order(drv, session, sort):
    ids = start_reviews(drv, 11)
    drv.engine.claim(session, ids[0], "reviewer1")
    for user in REVIEWERS:
        for scope in ("claimable", "mine"):
            expected = reference(drv, user, scope, sort)
            by_offset, totals = paged(drv, user, scope, sort, keyset=False)
            by_keyset, keyset_totals = paged(drv, user, scope, sort, keyset=True)
            assert by_offset == expected, (user, scope)
            assert by_keyset == expected, (user, scope)
            assert totals <= {len(expected), 0} and keyset_totals <= {len(expected), 0}
    assert reference(drv, "reviewer1", "claimable", "due")  # the lists are not empty
    assert reference(drv, "reviewer1", "mine", "due") == [ids[0]]


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_a_claimable_list_read_by_branches_is_the_rule(drv, session, sort):
    """A person holding roles several ways (everywhere, a project-scoped role globally,
    roles for some projects, one of them a role held everywhere too) gets the claimable
    list as disjoint branches merged in order: the same tasks, order and totals as the
    rule task by task, by offset and by keyset, with and without the branches."""
    ids = start_reviews(drv, 14)
    with unit_of_work(session):
        identity.create_user(session, "mix1", now=drv.clock.now(), password="demo",
                             roles=["pmo_reviewer", "sponsor"])
        identity.grant_project_role(session, 1, "mix1", "sponsor")
        identity.grant_project_role(session, 2, "mix1", "sponsor")
        identity.grant_project_role(session, 3, "mix1", "pmo_reviewer")
        identity.grant_project_role(session, 4, "mix1", "team")
        for n, task_id in enumerate(ids):  # sponsor / team tasks with and without projects
            role = ("pmo_reviewer", "sponsor", "sponsor", "team")[n % 4]
            project = (None, 1, 2, 3, 4, 5)[n % 6]
            session.execute(update(HumanTask).where(HumanTask.id == task_id)
                            .values(role=role, project_id=project))
    drv.session.commit()
    branches = access.workable_branches(session, "mix1", drv.clock.now())
    assert branches is not None and len(branches) == 4  # everywhere, no project, 2 roles
    session.rollback()
    expected = reference(drv, "mix1", "claimable", sort)
    assert 0 < len(expected) < len(ids)
    for keyset in (False, True):
        found, totals = paged(drv, "mix1", "claimable", sort, keyset=keyset, size=3)
        assert found == expected and totals <= {len(expected), 0}, keyset
    # a capped count adds the branches' counts up to the cap
    found, total = drv.engine.tasks(session, "mix1", TaskQuery(
        scope="claimable", sort=sort, limit=2, count_limit=3))
    assert [t.id for t in found] == expected[:2] and total == 3
    # with a delegation the branches could overlap: one condition, the same rule
    with unit_of_work(session):
        identity.add_delegation(session, "sponsor1", "mix1", drv.clock.now(), None, "away",
                                drv.clock.now())
    assert access.workable_branches(session, "mix1", drv.clock.now()) is None
    session.rollback()
    expected = reference(drv, "mix1", "claimable", sort)
    assert paged(drv, "mix1", "claimable", sort, keyset=False)[0] == expected


def test_tasks_without_a_due_date_come_last_and_ties_go_by_id(drv, session):
    start_reviews(drv, 8)
    found, total = drv.engine.tasks(session, "reviewer1", TaskQuery(scope="claimable"))
    dues = [t.due_at for t in found]
    assert total == 8 and dues[-2:] == [None, None]
    dated = [(t.due_at, t.id) for t in found if t.due_at is not None]
    assert dated == sorted(dated) and len({d for d, _ in dated}) < len(dated)  # ties


def test_counts_follow_claim_completion_and_reassignment(drv, session):
    ids = start_reviews(drv, 5)

    def check() -> dict[str, dict[str, int]]:
        out = {}
        for user in (*REVIEWERS, "pmohead"):
            exact = drv.engine.nav_counts(session, user)
            expected = {"mine": len(reference(drv, user, "mine", "due")),
                        "claimable": len(reference(drv, user, "claimable", "due"))}
            assert {k: exact[k] for k in expected} == expected, user
            assert tasks.counts(drv.engine.ctx, session, user) == expected, user
            out[user] = expected
        return out

    assert check()["reviewer1"] == {"mine": 0, "claimable": 5}
    drv.engine.claim(session, ids[0], "reviewer1")
    assert check()["reviewer1"] == {"mine": 1, "claimable": 4}
    assert check()["reviewer2"] == {"mine": 0, "claimable": 4}
    drv.engine.complete(session, ids[0], "reviewer1", {"decision": "accept"})
    counts = check()
    assert counts["reviewer1"] == {"mine": 0, "claimable": 4}
    assert counts["pmohead"]["claimable"] == 1  # the approval the review led to
    drv.engine.reassign(session, ids[1], "admin", "reviewer2", "covering")
    assert check()["reviewer2"] == {"mine": 1, "claimable": 3}
    drv.engine.unclaim(session, ids[1], "reviewer2")
    assert check()["reviewer2"] == {"mine": 0, "claimable": 4}


def test_badges_stop_counting_at_the_cap(drv, session):
    start_reviews(drv, 6)
    ctx = drv.engine.ctx
    assert tasks.nav_counts(ctx, session, "reviewer1", cap=4)["claimable"] == 4
    assert tasks.nav_counts(ctx, session, "reviewer1", cap=10)["claimable"] == 6
    assert tasks.nav_counts(ctx, session, "reviewer1", cap=None)["claimable"] == 6
    assert (badge(0), badge(99), badge(100), badge(4, cap=4)) == ("0", "99", "99+", "3+")


def test_a_list_counted_up_to_a_limit(drv, session):
    start_reviews(drv, 6)
    found, total = drv.engine.tasks(session, "reviewer1",
                                    TaskQuery(scope="claimable", limit=2, count_limit=4))
    assert len(found) == 2 and total == 4
    found, total = drv.engine.tasks(session, "reviewer1",
                                    TaskQuery(scope="claimable", limit=2, count_limit=50))
    assert total == 6


def test_keyset_after_an_unknown_task_is_refused(drv, session):
    start_reviews(drv, 2)
    with pytest.raises(InvalidData) as err:
        drv.engine.tasks(session, "reviewer1", TaskQuery(scope="claimable", after=999999))
    assert "after" in err.value.errors


def test_the_handover_list_is_the_rule_applied_person_by_person(drv, session, clock):
    """The hand-over list of a pool step skips the per-person check (every holder of the
    role holds it): the same people as asking the rule for each, four eyes included."""
    with unit_of_work(session):
        identity.create_user(session, "revpm", now=clock.now(), password="demo",
                             roles=["pm", "pmo_reviewer"])
    mine = drv.start("approval3", "revpm", data={"title": "Mine", "budget": 10})
    start_reviews(drv, 2)
    now = clock.now()
    rows = session.scalars(select(HumanTask).where(HumanTask.status == "open")).all()
    assert any(r.instance_id == mine.id for r in rows)
    for row in rows:
        started_by = session.get(ProcessInstance, row.instance_id).started_by
        for exclude in ((), ("reviewer1",)):
            listed = access.handover_candidates(session, row, started_by, now, exclude=exclude)
            pool = identity.holders(session, row.role, row.project_id)
            rule = tuple(u for u in pool if u not in {*exclude, row.assignee}
                         and access.handover_eligibility(session, u, row, started_by,
                                                         now).allowed)
            assert listed == rule, (row.id, exclude)
        if row.instance_id == mine.id:
            assert "revpm" not in listed and "reviewer1" not in listed
    session.rollback()
