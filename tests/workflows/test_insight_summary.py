"""The dashboard's monthly summary (engine.rollup, issue 14 at 1,000,000 instances):

- the engine keeps it in the transaction of the work, and what it keeps is exactly what
  a rebuild from the rows makes (start, complete, rework, late and on-time steps, an
  instance that finishes, a refused completion that writes nothing);
- the figures read from it (whole months from the summary, partial months from the rows,
  open work live) are the row-by-row figures, for periods that start and end mid-month;
- durations are tenths of a day rounded half up from microseconds, the same in Python
  and in PostgreSQL's SQL path.

Both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine import rollup
from engine.errors import NotReady
from engine.store.models import (
    HumanTask,
    InsightCount,
    InsightDuration,
    InstallSetting,
    ProcessInstance,
)
from engine.store.uow import unit_of_work
from tests.conftest import schema_drift
from tests.workflows.test_insight_sql import NOW, seeded, workday  # noqa: F401 (fixture)
from workflows import insight

SUMMARISED = ("cycle_time", "cycle_trend", "steps", "sla_by_role", "throughput",
              "approval_routes")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("2026-03-02T00:00", "2026-03-02T00:00", 0),
    ("2026-03-02T00:00", "2026-03-02T01:12", 1),   # 0.05 day exactly: half up
    ("2026-03-02T00:00", "2026-03-02T01:11:59", 0),
    ("2026-03-02T00:00", "2026-03-02T03:36", 2),   # 0.15 exactly (Python's round: 0.1)
    ("2026-03-02T00:00", "2026-03-12T00:00", 100),
    ("2026-03-02T09:00", "2026-03-02T08:00", 0),   # backwards: nothing
])
def test_tenths_round_half_up_from_microseconds(start, end, expected):
    assert rollup.tenths(at(start), at(end)) == expected


def test_working_tenths_leave_out_whole_days_off_between():
    def weekdays(day: date) -> bool:
        return day.weekday() < 5

    # Friday 12:00 to Monday 12:00: three days, Saturday and Sunday off
    assert rollup.working_tenths(at("2026-03-06T12:00"), at("2026-03-09T12:00"), weekdays) == 10
    # Saturday to Sunday: the days themselves are not "between"
    assert rollup.working_tenths(at("2026-03-07T00:00"), at("2026-03-08T00:00"), weekdays) == 10
    assert rollup.nonworking_between(at("2026-03-06T00:00"), at("2026-03-10T00:00"),
                                     weekdays) == 2


def test_percentile_of_a_histogram_is_the_nearest_rank():
    from collections import Counter

    values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    hist = Counter(values)
    for pct in (1, 10, 50, 90, 99, 100):
        assert rollup.percentile(hist, pct) == insight.percentile(values, pct)
    assert rollup.percentile(Counter(), 50) is None


def _tables(session) -> tuple[dict, dict]:
    d = {(r.month, r.kind, r.process_key, r.element_id, r.role, r.measure, r.tenths): r.n
         for r in session.scalars(select(InsightDuration))}
    c = {(r.month, r.kind, r.process_key, r.element_id, r.role):
         (r.started, r.completed, r.with_due, r.late, r.last_id)
         for r in session.scalars(select(InsightCount))}
    return d, c


def test_the_engine_keeps_the_summary_a_rebuild_would_make(engine, session, people, clock):
    from tests.engine.driver import Driver

    drv = Driver(engine, session, clock)
    clock.set("2026-01-28T09:00:00+00:00")
    drv.deploy("approval3.bpmn")
    users = {"pm": "pm1", "pmo_reviewer": "reviewer1", "pmo_head": "pmohead"}

    def finish(iid: int, element: str, data: dict) -> None:
        task = drv.task(iid, element)
        engine.complete(session, task.id, users[task.role or "pm"], data)

    first = drv.start("approval3", data={"title": "A", "budget": 1}).id
    second = drv.start("approval3", data={"title": "B", "budget": 2}).id
    clock.advance(hours=30)  # review on time (SLA 2 days)
    finish(first, "review", {"decision": "rework", "comment": "more"})
    clock.advance(days=5)    # into February; the second review is late
    finish(second, "review", {"decision": "accept", "comment": "ok"})
    finish(first, "revise", {})
    clock.advance(hours=7, minutes=12)
    finish(first, "review", {"decision": "accept", "comment": "ok"})
    finish(first, "approve", {"decision": "reject", "comment": "no"})  # the first request ends
    # a refused completion (the task is gone) writes nothing
    done = [t for t in drv.open_tasks(first)]
    assert done == []
    before = _tables(session)
    review = drv.task(second, "approve")
    engine.complete(session, review.id, "pmohead", {"decision": "accept", "comment": "ok"})
    with pytest.raises(NotReady):
        engine.complete(session, review.id, "pmohead", {"decision": "accept", "comment": "ok"})
    kept = _tables(session)
    assert kept != before
    durations, counts = kept
    jan, feb = date(2026, 1, 1), date(2026, 2, 1)
    assert counts[(jan, "instance", "approval3", "", "")][:2] == (2, 0)
    assert counts[(feb, "instance", "approval3", "", "")][1] == 1  # the first ended
    _started, completed, with_due, late, _last = counts[(jan, "task", "approval3", "review",
                                                        "pmo_reviewer")]
    assert (completed, with_due, late) == (2, 2, 1)  # the second review was late
    assert durations[(jan, "task", "approval3", "review", "pmo_reviewer", "cal", 13)] == 1
    # the steps each went through, kept on the instance as its tasks complete
    steps = dict(session.execute(select(ProcessInstance.id, ProcessInstance.steps_done)).all())
    assert steps == {first: "approve,review,revise", second: "approve,review"}
    # the first ended in February, 6.55 days after it started (66 tenths), by its variant
    assert durations[(feb, "variant", "approval3", "approve,review,revise", "", "cal",
                      66)] == 1
    assert not any(k[1] == "variant" and k[0] == jan for k in durations)

    with unit_of_work(session):
        rollup.rebuild(session, lambda day: engine.is_workday(session, day), clock.now())
    assert _tables(session) == kept
    assert rollup.is_built(session)


@pytest.mark.parametrize("filters", [
    insight.Filters(date(2025, 12, 1), date(2026, 2, 28)),   # whole months
    insight.Filters(date(2026, 1, 10), date(2026, 1, 31)),   # inside one month
    insight.Filters(date(2025, 11, 15), date(2026, 2, 20)),  # starts and ends mid-month
    insight.Filters(date(2026, 2, 1), date(2026, 2, 1)),     # one day
    insight.Filters(date(2025, 1, 1), date(2026, 2, 20)),    # long, mostly empty months
], ids=["quarter", "inside-a-month", "mid-month", "one-day", "long"])
def test_figures_from_the_summary_are_the_row_by_row_figures(session, seeded, filters):  # noqa: F811
    with unit_of_work(session):
        # the seed has some completed tasks without a completion time (for the SQL path's
        # sake); the engine always writes one, and the summary counts completions only
        for task in session.scalars(select(HumanTask).where(
                HumanTask.status == "completed", HumanTask.completed_at.is_(None))):
            task.completed_at = task.created_at + timedelta(hours=5)
        session.flush()
        rollup.fill_steps_done(session)  # the seed writes tasks, not the engine
        rollup.rebuild(session, workday, NOW)
    by_rows = insight.dashboard(session, filters, NOW, workday, only=SUMMARISED,
                                in_sql=False, summary=False).figures
    summary = insight.dashboard(session, filters, NOW, workday, only=SUMMARISED,
                                summary=True).figures
    if filters.start.month in (12, 11):
        assert by_rows["cycle_time"].rows and by_rows["steps"].rows
        assert by_rows["approval_routes"].rows
    for name in SUMMARISED:
        differ = set(summary[name].rows) ^ set(by_rows[name].rows)
        assert summary[name] == by_rows[name], (name, [str(r) for r in sorted(differ)])


def test_the_summary_is_used_only_when_built_and_unfiltered(session, seeded, monkeypatch):  # noqa: F811
    used: list[str] = []
    real = insight._summary

    def spy(*args, **kwargs):
        used.append("summary")
        return real(*args, **kwargs)

    monkeypatch.setattr(insight, "_summary", spy)
    period = insight.Filters(date(2025, 12, 1), date(2026, 2, 28))
    insight.dashboard(session, period, NOW, workday, only=["steps"])
    assert used == []  # never built on this database: the rows are read
    with unit_of_work(session):
        rollup.rebuild(session, workday, NOW)
    insight.dashboard(session, period, NOW, workday, only=["steps"])
    assert used == ["summary"]
    insight.dashboard(session, insight.Filters(period.start, period.end, category="it"), NOW,
                      workday, only=["steps"])
    assert used == ["summary"]  # a category: the summary has none, the rows are read


def test_an_upgraded_install_with_work_is_summarised_once(engine, session, people, clock):
    from tests.engine.driver import Driver

    drv = Driver(engine, session, clock)
    clock.set("2026-01-28T09:00:00+00:00")
    drv.deploy("approval3.bpmn")
    drv.start("approval3", data={"title": "A", "budget": 1})
    with unit_of_work(session):  # as before the summary existed
        session.execute(InsightCount.__table__.delete())
        session.execute(InstallSetting.__table__.delete().where(
            InstallSetting.key == rollup.BUILT_KEY))
    seen: list[tuple[str, int]] = []
    assert engine.rebuild_insight(session, only_if_needed=True,
                                  progress=lambda *a: seen.append(a)) == 1
    assert rollup.is_built(session)
    assert engine.rebuild_insight(session, only_if_needed=True) is None
    _durations, counts = _tables(session)
    assert counts[(date(2026, 1, 1), "instance", "approval3", "", "")][0] == 1


def test_models_and_migration_agree_on_the_summary_tables(db):
    # and on the instances, which keep the steps each went through
    assert schema_drift(db, {"insight_durations", "insight_counts", "process_instances"}) == []


def test_days_off_counts_as_the_day_by_day_loop():
    import random

    def workday_(day: date) -> bool:
        return day.weekday() < 5 and day.day != 13

    off = rollup.DaysOff(workday_)
    rnd = random.Random(3)
    base = at("2026-01-01T00:00")
    for _ in range(300):  # spans in random order: the count grows both ways
        a = base + timedelta(hours=rnd.randrange(-2000, 2000))
        b = a + timedelta(hours=rnd.choice([0, 5, 30, 49, rnd.randrange(0, 3000)]))
        assert off.between(a, b) == rollup.nonworking_between(a, b, workday_), (a, b)
        assert rollup.working_tenths(a, b, off) == rollup.working_tenths(a, b, workday_)
