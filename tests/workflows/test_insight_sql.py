"""The dashboard aggregated by PostgreSQL (issue 14 at 1,000,000 instances) gives exactly
the figures the row-by-row computation gives: every figure, for several filters, on a few
hundred seeded-random instances, tasks, risks and escalations (ties, weekends and holidays,
open and late work, tasks without due dates, instances with and without a project).

PostgreSQL only: SQLite installs keep the row-by-row computation (``in_sql`` is False
there), which ``tests/workflows/test_insight.py`` checks on both databases."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from engine.store.models import HumanTask, ProcessDefinition, ProcessInstance
from engine.store.uow import unit_of_work
from tests.conftest import Database, _wipe
from tests.workflows.conftest import with_pmo_records
from tests.workflows.factories import approved_project, escalation_data, risk_data
from workflows import insight, records

NOW = datetime(2026, 2, 20, 9, 30, tzinfo=UTC)
HOLIDAYS = {date(2026, 1, 1), date(2026, 1, 2), date(2026, 2, 16), date(2026, 2, 17)}
ELEMENTS = {
    "project_approval": [("check", "pmo_reviewer"), ("review_pmo_head", "pmo_head"),
                         ("review_finance", "finance"), ("steering_vote", "steering"),
                         ("revise", "pm")],
    "risk_review": [("sponsor_review", "sponsor"), ("pmo_review", "pmo_head")],
    "escalation": [("triage", "pmo_reviewer"), ("steer", "steering")],
    "project_closure": [("sign_off", "sponsor"), ("curate", None)],
}


def workday(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


@pytest.fixture
def db(postgres_db: Database) -> Iterator[Database]:
    database = with_pmo_records(postgres_db)
    _wipe(database)
    yield database
    _wipe(database)


@pytest.fixture
def seeded(session, clock, people):
    rnd = random.Random(14)
    base = datetime(2025, 11, 1, tzinfo=UTC)

    def moment() -> datetime:  # whole hours often (ties), odd seconds sometimes
        hours = rnd.randrange(0, 24 * 110)
        extra = rnd.choice([0, 0, 0, rnd.randrange(0, 3600), rnd.randrange(0, 10**6) / 10**6])
        return base + timedelta(hours=hours, seconds=extra)

    with unit_of_work(session):
        defs = {}
        for key in ELEMENTS:
            d = ProcessDefinition(key=key, version=1, name=key, file_name=f"{key}.bpmn",
                                  content_hash=key, source="", runtime_xml="", meta={},
                                  forms={}, deployed_by="owner1", deployed_at=base)
            session.add(d)
            defs[key] = d
        session.flush()
        projects = [approved_project(session, clock, title=f"P{i}", category=c,
                                     departments=deps).id
                    for i, (c, deps) in enumerate((("it", ["Sales"]),
                                                   ("construction", ["HR", "Sales"]),
                                                   ("it", ["HR"])))]
        for n in range(400):
            key = rnd.choice(list(ELEMENTS))
            start = moment()
            status = rnd.choice(["completed"] * 5 + ["running"] * 3 + ["cancelled"])
            end = start + timedelta(hours=rnd.choice([24, 48, 72, rnd.randrange(1, 900)])) \
                if status != "running" else None
            if end is not None and end > NOW:
                status, end = "running", None
            project = rnd.choice([None, *projects])
            inst = ProcessInstance(
                definition_id=defs[key].id, process_key=key, title=f"R{n}", status=status,
                state="{}", bindings={}, started_by="pm1", started_at=start, updated_at=start,
                ended_at=end, project_id=project)
            session.add(inst)
            session.flush()
            for k in range(rnd.randrange(0, 4)):
                element, role = rnd.choice(ELEMENTS[key])
                created = start + timedelta(hours=rnd.randrange(0, 200))
                t_status = rnd.choice(["completed", "completed", "open", "cancelled"])
                done = created + timedelta(hours=rnd.choice([2, 24, rnd.randrange(1, 400)]))
                if t_status == "completed" and done > NOW:
                    t_status = "open"
                session.add(HumanTask(
                    instance_id=inst.id, spiff_task_id=f"{n}-{k}", element_id=element,
                    name=element.replace("_", " ").title(), process_key=key, role=role,
                    project_id=project if rnd.random() < 0.5 else None, status=t_status,
                    created_at=created,
                    due_at=rnd.choice([None, created + timedelta(days=rnd.randrange(1, 6))]),
                    completed_at=(done if t_status == "completed" and rnd.random() < 0.97
                                  else None)))
        for _ in range(60):
            p, i = rnd.randrange(1, 6), rnd.randrange(1, 6)
            records.raise_risk(session, rnd.choice(projects), risk_data(
                probability=p, impact=i, category=rnd.choice(["technical", "cost", "scope"])),
                actor="pm1", now=moment(), score=p * i,
                level="high" if p * i >= 15 else "medium" if p * i >= 6 else "low",
                levels_required=1)
        for _ in range(30):
            records.raise_escalation(session, rnd.choice(projects), escalation_data(
                kind=rnd.choice(["vendor", "budget", "scope"])), actor="pm1",
                now=min(NOW, moment()))


@pytest.mark.parametrize("filters", [
    insight.Filters(date(2025, 12, 1), date(2026, 2, 28)),
    insight.Filters(date(2025, 12, 1), date(2026, 2, 28), category="it"),
    insight.Filters(date(2026, 1, 10), date(2026, 1, 31)),
    insight.Filters(date(2025, 1, 1), date(2026, 2, 20), category="construction"),
    insight.Filters(date(2025, 12, 1), date(2026, 2, 28), department="Sales"),
    insight.Filters(date(2025, 12, 1), date(2026, 2, 28), category="it", department="HR"),
], ids=["quarter", "quarter-it", "three-weeks", "long-construction",
                  "quarter-sales", "quarter-it-hr"])
def test_figures_in_sql_are_the_figures_row_by_row(session, seeded, filters):
    by_rows = insight.dashboard(session, filters, NOW, workday, in_sql=False).figures
    in_sql = insight.dashboard(session, filters, NOW, workday, in_sql=True).figures
    assert by_rows["cycle_time"].rows and by_rows["steps"].rows and by_rows["wip"].rows
    for name in insight.FIGURES:
        assert in_sql[name] == by_rows[name], name


def test_postgres_installs_aggregate_in_sql(session, seeded, monkeypatch):
    """Without ``in_sql`` PostgreSQL takes the SQL path (the row-by-row builders unused);
    only the lessons figure (a few rows a month, no percentiles) has no SQL twin."""
    def refuse(*_a, **_k):
        raise AssertionError("row-by-row builder called")

    assert set(insight.FIGURES) - set(insight._SQL_BUILDERS) == {"lessons"}
    monkeypatch.setattr(insight, "_BUILDERS", {
        n: (refuse if n in insight._SQL_BUILDERS else built)
        for n, built in insight._BUILDERS.items()})
    figures = insight.dashboard(session, insight.Filters(date(2025, 12, 1), date(2026, 2, 28)),
                                NOW, workday).figures
    assert set(figures) == set(insight.FIGURES)
