"""Dashboard figures (workflows.insight) computed from known rows, on SQLite and PostgreSQL:
cycle times (calendar and working days), trend, steps and SLA breaches, work in progress,
throughput, approval routes, the risk grid, open escalations; filters and bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine.errors import Forbidden, InvalidData, NotFound
from engine.store.models import HumanTask, ProcessDefinition, ProcessInstance
from engine.store.uow import unit_of_work
from tests.workflows.factories import approved_project, escalation_data, risk_data
from workflows import insight, records

NOW = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
PERIOD = insight.Filters(date(2026, 1, 1), date(2026, 2, 28))


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{hour:02d}:00:00+00:00")


def weekdays(day: date) -> bool:
    return day.weekday() < 5


@pytest.fixture
def known(session, clock, people):
    """Four approvals (three done: 10, 30 and 4 days; one running), their tasks, two risks
    and two escalations (one resolved)."""
    with unit_of_work(session):
        d = ProcessDefinition(key="project_approval", version=1, name="Approval",
                              file_name="a.bpmn", content_hash="x", source="", runtime_xml="",
                              meta={}, forms={}, deployed_by="owner1", deployed_at=at("01-01"))
        session.add(d)
        session.flush()
        spans = {"A": ("01-05", "01-15"), "B": ("01-10", "02-09"), "C": ("02-02", None),
                 "D": ("02-03", "02-07")}
        ids = {}
        for name, (start, end) in spans.items():
            inst = ProcessInstance(
                definition_id=d.id, process_key="project_approval", title=name,
                status="completed" if end else "running", state="{}", bindings={},
                started_by="pm1", started_at=at(start), updated_at=at(start),
                ended_at=at(end) if end else None)
            session.add(inst)
            session.flush()
            ids[name] = inst.id

        def task(name, element, role, created, due, done=None):
            session.add(HumanTask(
                instance_id=ids[name], spiff_task_id=f"{name}-{element}", element_id=element,
                name=element.replace("_", " ").title(), process_key="project_approval",
                role=role, status="completed" if done else "open", created_at=at(created),
                due_at=at(due), completed_at=at(done) if done else None))

        task("A", "check", "pmo_reviewer", "01-05", "01-07", "01-09")  # 4 days, late
        task("A", "review_pmo_head", "pmo_head", "01-09", "01-12", "01-15")  # 6 days, late
        task("B", "check", "pmo_reviewer", "01-12", "01-14", "01-13")  # 1 day
        task("B", "review_pmo_head", "pmo_head", "01-13", "01-16", "01-14")
        task("B", "review_finance", "finance", "01-13", "01-20", "01-19")
        task("B", "steering_vote", "steering", "01-13", "01-27", "02-09")  # late
        task("C", "check", "pmo_reviewer", "02-02", "02-04")  # open, overdue at NOW
        task("D", "check", "pmo_reviewer", "02-03", "02-04", "02-04")
        task("D", "review_pmo_head", "pmo_head", "02-04", "02-06", "02-05")
        task("D", "review_finance", "finance", "02-04", "02-09", "02-06")
        project = approved_project(session, clock, title="Tower site 1")
        for p, i, category in ((4, 5, "technical"), (2, 2, "cost")):
            records.raise_risk(session, project.id, risk_data(probability=p, impact=i,
                                                              category=category),
                               actor="pm1", now=at("01-20"), score=p * i,
                               level="high" if p * i >= 15 else "low", levels_required=1)
        first = records.raise_escalation(session, project.id, escalation_data(),
                                         actor="pm1", now=at("01-05"))
        records.raise_escalation(session, project.id, escalation_data(kind="vendor"),
                                 actor="pm1", now=at("02-18"))
        records.record_escalation_decision(session, first.id, decision="Split the crew.",
                                           level="pmo", decided_by="reviewer1",
                                           now=at("01-08"))
        records.resolve_escalation(session, first.id, actor="pm1", now=at("01-10"),
                                   resolution="Done.")
    return ids


def figures(session, filters=PERIOD, only=None):
    return insight.dashboard(session, filters, NOW, weekdays, only).figures


def test_cycle_time_per_process_calendar_and_working_days(session, known):
    fig = figures(session)["cycle_time"]
    assert fig.columns[:3] == ("process", "completed", "running")
    # A: 10 days (8 working), B: 30 (21), D: 4 (4); nearest-rank median and p90
    assert fig.rows == (("project_approval", 3, 1, 10.0, 30.0, 8.0, 21.0),)


def test_cycle_trend_by_month_finished(session, known):
    fig = figures(session)["cycle_trend"]
    assert fig.rows == (("2026-01", "project_approval", 1, 10.0, 10.0),
                        ("2026-02", "project_approval", 2, 4.0, 30.0))
    assert fig.chart["labels"] == ["2026-01", "2026-02"]
    assert fig.chart["series"] == {"project_approval": [10.0, 4.0]}


def test_steps_waiting_time_and_sla_breaches(session, known):
    rows = {r[1]: r for r in figures(session)["steps"].rows}
    # check: A 4 days, B 1, D 1 completed; C open and overdue -> breaches A and C
    assert rows["check"][3:] == (3, 1.0, 4.0, 1.0, 2)
    assert rows["review_pmo_head"][3] == 3 and rows["review_pmo_head"][7] == 1
    assert rows["steering_vote"][3:5] == (1, 27.0) and rows["steering_vote"][7] == 1
    assert rows["review_finance"][7] == 0
    by_role = {r[0]: r for r in figures(session)["sla_by_role"].rows}
    assert by_role["pmo_reviewer"] == ("pmo_reviewer", 4, 2, 50.0)
    assert by_role["finance"] == ("finance", 2, 0, 0.0)


def test_work_in_progress_and_age(session, known):
    fig = figures(session)["wip"]
    assert fig.rows == (("project_approval", "check", "Check", 1, 18.0, 18.0, 1),)


def test_throughput_per_month(session, known):
    rows = figures(session)["throughput"].rows
    assert rows == (("2026-01", "project_approval", 2, 1),
                    ("2026-02", "project_approval", 2, 2))


def test_approvals_by_route(session, known):
    fig = figures(session)["approval_routes"]
    assert fig.columns == ("route", "approvals", "median_days", "p90_days")
    assert fig.rows == (("pmo_head", 1, 10.0, 10.0), ("pmo_head + finance", 1, 4.0, 4.0),
                        ("pmo_head + finance + committee", 1, 30.0, 30.0))


def test_approvals_by_route_count_the_approvals_decided_in_the_period(session, known):
    # February: B (all three reviews, 30 days) and D (PMO head + finance, 4 days) ended;
    # A ended in January, C is still running
    feb = insight.Filters(date(2026, 2, 1), date(2026, 2, 28))
    assert figures(session, feb)["approval_routes"].rows == (
        ("pmo_head + finance", 1, 4.0, 4.0), ("pmo_head + finance + committee", 1, 30.0, 30.0))
    # a review still open or withdrawn does not make a route
    with unit_of_work(session):
        session.add(HumanTask(
            instance_id=known["A"], spiff_task_id="A-late", element_id="steering_vote",
            name="Vote", process_key="project_approval", role="steering", status="cancelled",
            created_at=at("01-10"), completed_at=at("01-11")))
    jan = insight.Filters(date(2026, 1, 1), date(2026, 1, 31))
    assert figures(session, jan)["approval_routes"].rows == (("pmo_head", 1, 10.0, 10.0),)


def test_route_names_the_reviews_in_a_fixed_order():
    assert insight.route_of(["steering_vote", "check", "review_pmo_head"]) == (
        "pmo_head + committee")
    assert insight.route_of(["review_finance", "revise"]) == "finance"
    assert insight.route_of(["check"]) == ""


def test_risk_grid_and_open_escalations(session, known):
    figs = figures(session)
    grid = figs["risk_grid"].chart["grid"]
    assert grid[3][4] == 1 and grid[1][1] == 1 and sum(map(sum, grid)) == 2
    assert figs["risk_grid"].rows == (("cost", "low", 1), ("technical", "high", 1))
    assert figs["escalations"].rows == (("vendor", "0-7", 1),)


def test_period_and_category_filters(session, known):
    feb = insight.Filters(date(2026, 2, 1), date(2026, 2, 28))
    # finished in February: B (30 days, 21 working) and D (4); C started then, running
    assert figures(session, feb)["cycle_time"].rows == (
        ("project_approval", 2, 1, 4.0, 30.0, 4.0, 21.0),)
    none = insight.Filters(date(2026, 1, 1), date(2026, 2, 28), category="marketing")
    figs = figures(session, none)
    assert figs["cycle_time"].rows == () and figs["risk_grid"].rows == ()
    it = insight.Filters(date(2026, 1, 1), date(2026, 2, 28), category="it")
    assert figures(session, it)["risk_grid"].rows != ()  # the project is an IT project


@pytest.mark.parametrize(("raw", "field", "code"), [
    ({"start": "2026-13-01"}, "start", "dashboard.date_invalid"),
    ({"end": "yesterday"}, "end", "dashboard.date_invalid"),
    ({"start": "2026-02-01", "end": "2026-01-01"}, "end", "dashboard.period_reversed"),
    ({"start": "2019-01-01", "end": "2026-01-01"}, "start", "dashboard.period_too_long"),
    ({"start": "2027-01-01", "end": "2027-02-01"}, "start", "dashboard.period_future"),
    ({"category": "space"}, "category", "dashboard.category_unknown"),
])
def test_impossible_filters_name_the_field(raw, field, code):
    with pytest.raises(InvalidData) as err:
        insight.parse_filters(raw, date(2026, 2, 20))
    assert list(err.value.errors) == [field]
    assert err.value.errors[field].code == code


def test_default_period_is_the_last_twelve_months():
    # twelve calendar months up to today: the trend's first month is a whole month
    f = insight.parse_filters({}, date(2026, 2, 20))
    assert (f.start, f.end, f.category) == (date(2025, 3, 1), date(2026, 2, 20), None)
    assert len(insight._months(f)) == 12
    f = insight.parse_filters({}, date(2026, 12, 31))
    assert (f.start, f.end) == (date(2026, 1, 1), date(2026, 12, 31))
    f = insight.parse_filters({}, date(2026, 1, 1))
    assert f.start == date(2025, 2, 1)


def test_only_the_pmo_head_and_admin_read_it(engine, session, people, known, clock):
    clock.set(NOW)
    with pytest.raises(Forbidden):
        insight.read(engine, session, "pm1", {})
    with pytest.raises(Forbidden):
        insight.read(engine, session, "reviewer1", {})
    board = insight.read(engine, session, "pmohead", {"start": "2026-01-01"})
    assert board.figures["cycle_time"].rows[0][1] == 3
    assert board.now == NOW and board.filters.end == NOW.date()
    assert timedelta(0) < NOW - board.filters.since


def test_heatmap_of_a_version_from_its_tasks(session, known):
    heat = insight.heatmap(session, "project_approval", 1, PERIOD)
    assert (heat.versions, heat.instances) == ((1,), 4)
    check = heat.elements["check"]
    assert (check.visits, check.completed, check.median_days, check.p90_days) == (
        4, 3, 1.0, 4.0)
    assert {e: h.visits for e, h in heat.elements.items()} == {
        "check": 4, "review_pmo_head": 3, "review_finance": 2, "steering_vote": 1}
    assert heat.elements["steering_vote"].median_days == 27.0
    feb = insight.heatmap(session, "project_approval", 1,
                          insight.Filters(date(2026, 2, 1), date(2026, 2, 28)))
    assert feb.instances == 2 and feb.elements["check"].visits == 2
    with pytest.raises(NotFound):
        insight.heatmap(session, "project_approval", 2, PERIOD)


def test_department_filter_on_both_databases(session, known, clock):
    """The project's proposal names IT and Sales: its risks count for either, not for HR;
    a department with a quote or a Chinese name is matched exactly, never as a pattern."""
    sales = insight.Filters(date(2026, 1, 1), date(2026, 2, 28), department="Sales")
    hr = insight.Filters(date(2026, 1, 1), date(2026, 2, 28), department="HR")
    assert sum(r[2] for r in figures(session, sales)["risk_grid"].rows) == 2
    assert figures(session, hr)["risk_grid"].rows == ()
    with unit_of_work(session):
        odd = approved_project(session, clock, title="Odd names",
                               departments=['研发 "R&D"', "Sal%"])
        records.raise_risk(session, odd.id, risk_data(), actor="pm1", now=at("01-21"),
                           score=20, level="high", levels_required=1)
    assert insight.departments(session) == ("IT", "Sal%", "Sales", '研发 "R&D"')
    chinese = insight.Filters(date(2026, 1, 1), date(2026, 2, 28), department='研发 "R&D"')
    assert sum(r[2] for r in figures(session, chinese)["risk_grid"].rows) == 1
    pattern = insight.Filters(date(2026, 1, 1), date(2026, 2, 28), department="Sal%")
    assert sum(r[2] for r in figures(session, pattern)["risk_grid"].rows) == 1
    both = insight.Filters(date(2026, 1, 1), date(2026, 2, 28), category="marketing",
                           department="Sales")
    assert figures(session, both)["risk_grid"].rows == ()
    with pytest.raises(InvalidData) as err:
        insight.parse_filters({"department": "Nowhere"}, date(2026, 2, 20),
                              insight.departments(session))
    assert err.value.errors["department"].code == "dashboard.department_unknown"


def test_lessons_published_and_read_by_month(session, known, clock):
    with unit_of_work(session):
        project = approved_project(session, clock, title="Lessons")
        lessons = [records.add_lesson(session, project.id, {
            "title": f"L{n}", "category": "technical", "what_went_well": "Fine."},
            author="team1", now=at("01-10")) for n in range(3)]
        records.curate_lessons(session, publish_ids=[lessons[0].id, lessons[1].id],
                               curator="reviewer1", now=at("01-25"))
    with unit_of_work(session):
        assert records.record_read(session, lessons[0].id, "pm1", at("01-26"))
        assert not records.record_read(session, lessons[0].id, "pm1", at("02-03"))  # once
        assert records.record_read(session, lessons[0].id, "pm2", at("02-03"))
        assert records.record_read(session, lessons[1].id, "pm2", at("02-04"))
        assert not records.record_read(session, lessons[0].id, "team1", at("02-04"))  # author
        assert not records.record_read(session, lessons[2].id, "pm1", at("02-04"))  # draft
    fig = figures(session, only=["lessons"])["lessons"]
    assert fig.rows == (("2026-01", 2, 1, 1), ("2026-02", 0, 2, 1))
    assert records.read_counts(session, [lessons[0].id, lessons[2].id]) == {lessons[0].id: 2}
