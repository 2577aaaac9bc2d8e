"""``pmoflow demo --year`` on a small span (two months after a short warm-up), through the
real engine on SQLite and PostgreSQL: requests in every state, SLA breaches, the waits
shrinking over the span, the same counts for the same seed; refused on real work."""

from __future__ import annotations

import statistics
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import identity, rollup
from engine.store.models import HumanTask, InsightCount, InsightDuration, ProcessInstance
from engine.store.uow import unit_of_work
from pmoflow import demo_year
from pmoflow.wiring import collect_files
from tests.workflows.factories import proposal
from workflows import insight, records
from workflows.catalog import demo_seeders
from workflows.records.models import Project
from workflows.roles import DEMO_USERS, ROLES

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
MONTHS, WARMUP, SEED = 2, 15, 7
#: What seed 7 starts in this span (the same on both databases, run after run).
EXPECTED_STARTED = {"escalation": 12, "project_approval": 46, "risk_review": 21}


def prepare(engine, session, clock):
    """What ``pmoflow demo --year`` does before simulating: people, processes in effect
    from the first simulated day, the demo projects running from then."""
    with unit_of_work(session):
        identity.ensure_roles(session, ROLES)
        for username, (name, roles) in DEMO_USERS.items():
            identity.create_user(session, username, now=clock.now(), display_name=name,
                                 roles=list(roles))
    demo_year.ensure_people(session, clock.now(), None)
    engine.deploy(session, collect_files([str(BPMN)]), "owner1")
    start = demo_year.span_start(clock.now(), MONTHS, WARMUP)
    assert demo_year.backdate_definitions(session, start) >= 4
    for seeder in demo_seeders():
        seeder(engine, session, start)
    return start


def test_a_small_demo_year(engine, session, clock):
    end = clock.now()
    start = prepare(engine, session, clock)
    assert demo_year.real_work(session, True) is None
    result = demo_year.run(engine, session, end=end, months=MONTHS, seed=SEED,
                           warmup_days=WARMUP)
    assert (result.start, result.end) == (start, end)
    assert dict(result.started) == EXPECTED_STARTED
    assert result.completed_tasks > 150 and result.jobs_fired > 20
    assert result.refused_actions <= 3, result.refusals

    statuses = dict(session.execute(select(ProcessInstance.status, func.count())
                                    .group_by(ProcessInstance.status)).all())
    assert statuses["running"] >= 5 and statuses["completed"] >= 40
    stages = set(session.scalars(select(Project.stage)))
    assert {"Proposed", "Initiation", "Executing"} <= stages and len(stages) >= 4
    times = session.execute(select(HumanTask.created_at, HumanTask.due_at,
                                   HumanTask.completed_at, HumanTask.element_id)
                            .where(HumanTask.status == "completed")).all()
    late = [t for t in times if t.due_at is not None and t.completed_at > t.due_at]
    assert 10 <= len(late) < len(times)  # some SLA breaches, not all
    assert {t.element_id for t in times} >= {"check", "review_pmo_head", "sponsor_review",
                                             "triage", "kickoff"}
    assert min(t.created_at for t in times) >= start
    assert max(t.completed_at for t in times) <= end

    # People act faster as the span goes on: the check waits less in the second month.
    half = end - timedelta(days=30)
    first = [(t.completed_at - t.created_at).total_seconds() for t in times
             if t.element_id == "check" and t.created_at < half - timedelta(days=15)]
    second = [(t.completed_at - t.created_at).total_seconds() for t in times
              if t.element_id == "check" and t.created_at >= half]
    assert len(first) >= 10 and len(second) >= 10
    assert statistics.median(second) < statistics.median(first)

    # The dashboard sees it: risks of several levels, a cycle time per process.
    board = insight.dashboard(session, insight.Filters(start.date(), end.date()), end,
                              lambda day: day.weekday() < 5)
    levels = {row[1] for row in board.figures["risk_grid"].rows}
    assert len(levels) >= 2
    processes = {row[0] for row in board.figures["cycle_time"].rows}
    assert {"project_approval", "risk_review", "escalation"} <= processes
    assert sum(row[-1] for row in board.figures["steps"].rows) >= 10

    # The engine kept the dashboard's monthly summary as the year went (engine.rollup):
    # a rebuild from the rows makes the same tables, and the figures read from it are
    # the row-by-row figures, with the install's business calendar.
    def tables():
        return (sorted(tuple(r) for r in session.execute(select(InsightDuration.__table__))),
                sorted(tuple(r) for r in session.execute(select(InsightCount.__table__))))

    kept = tables()
    assert kept[0] and kept[1]
    with unit_of_work(session):
        rollup.rebuild(session, engine.ctx.calendar.is_workday, end)
    assert tables() == kept

    def calendar(day):
        return engine.is_workday(session, day)

    summarised = tuple(insight._SUMMARY_BUILDERS)
    for period in (insight.Filters(start.date(), end.date()),
                   insight.Filters(start.date() + timedelta(days=9), end.date())):
        from_summary = insight.dashboard(session, period, end, calendar, only=summarised,
                                         summary=True)
        by_rows = insight.dashboard(session, period, end, calendar, only=summarised,
                                    in_sql=False, summary=False)
        assert from_summary.figures == by_rows.figures, period

    # On PostgreSQL the figures are aggregated in SQL (issue 14 at scale): the same
    # numbers as row by row on the demo data, with the install's business calendar.
    if session.get_bind().dialect.name == "postgresql":
        def workday(day):
            return engine.is_workday(session, day)

        for category in (None, "it"):
            filters = insight.Filters(start.date(), end.date(), category=category)
            in_sql = insight.dashboard(session, filters, end, workday, in_sql=True)
            by_rows = insight.dashboard(session, filters, end, workday, in_sql=False)
            assert in_sql.figures == by_rows.figures, category
            assert by_rows.figures["cycle_time"].rows


def test_refused_on_a_database_with_real_work(engine, session, clock, people):
    with unit_of_work(session):
        records.propose_project(session, proposal(title="Demo project"), pm="pm1",
                                now=clock.now())
    assert demo_year.real_work(session, True) is None  # pm1 is a demo user
    assert "1 project(s) and is not a demo install" in demo_year.real_work(session, False)
    with unit_of_work(session):
        identity.create_user(session, "alice", now=clock.now(), roles=["pm"])
        records.propose_project(session, proposal(title="Alice's project"), pm="alice",
                                now=clock.now())
    why = demo_year.real_work(session, True)
    assert why is not None and "1 project(s) of people who are not demo users" in why


@pytest.mark.parametrize("months", [0, 25])
def test_months_out_of_range(engine, session, clock, months):
    with pytest.raises(ValueError, match="choose 1 to 24"):
        demo_year.run(engine, session, end=clock.now(), months=months)
