"""Cycle time: elapsed time and the part of it on working days, from indexed rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine.cycle_times import measure, working_time


class Weekdays:
    """Monday to Friday, in UTC, with one holiday."""

    zone = UTC

    def is_workday(self, day: date) -> bool:
        return day.weekday() < 5 and day != date(2026, 3, 6)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("start", "end", "days"), [
    ("2026-03-02T09:00", "2026-03-02T21:00", 0.5),   # half a Monday
    ("2026-03-02T09:00", "2026-03-04T09:00", 2.0),   # Monday to Wednesday
    ("2026-03-05T12:00", "2026-03-09T12:00", 1.0),   # Thu noon to Mon noon: Fri is a holiday
    ("2026-03-07T00:00", "2026-03-09T00:00", 0.0),   # a weekend
    ("2026-03-09T10:00", "2026-03-09T09:00", 0.0),   # backwards: nothing
])
def test_working_time_counts_only_hours_on_working_days(start, end, days):
    assert working_time(at(start), at(end), Weekdays()) == timedelta(days=days)


def test_working_days_are_counted_in_the_calendars_time_zone():
    from zoneinfo import ZoneInfo

    class Shanghai(Weekdays):
        zone = ZoneInfo("Asia/Shanghai")

    # Friday 20:00 UTC is already Saturday in Shanghai: no working time left that day
    assert working_time(at("2026-03-13T20:00"), at("2026-03-14T20:00"), Shanghai()) \
        == timedelta(0)
    assert working_time(at("2026-03-13T20:00"), at("2026-03-14T20:00"), Weekdays()) \
        == timedelta(hours=4)


def test_a_running_span_is_measured_up_to_now():
    now = at("2026-03-03T09:00")
    running = measure(at("2026-03-02T09:00"), None, now, Weekdays())
    assert running.running and running.elapsed == timedelta(days=1)
    assert running.working_days == 1.0
    done = measure(at("2026-03-02T09:00"), at("2026-03-02T15:00"), now, Weekdays())
    assert not done.running and done.elapsed == timedelta(hours=6)
    assert done.working_days == 0.25


def test_a_request_and_its_steps_measured_on_the_business_calendar(engine, session, people,
                                                                    clock):
    from tests.engine.driver import Driver

    drv = Driver(engine, session, clock)
    clock.set("2025-09-30T02:00:00+00:00")  # Tuesday 10:00 in Shanghai
    drv.deploy("approval3.bpmn")
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    clock.set("2025-10-09T02:00:00+00:00")  # after the National Day holidays (10-01..08)
    drv.complete(inst.id, "review", "reviewer1", {"decision": "rework", "comment": "more"})
    clock.advance(hours=6)

    cycle = engine.cycle_time(session, inst.id)
    review, revise = cycle.steps
    assert (review.element_id, review.status, review.completed_by) == (
        "review", "completed", "reviewer1")
    assert review.cycle.elapsed == timedelta(days=9) and not review.cycle.running
    assert review.cycle.working == timedelta(days=1)  # 14 h on 09-30, 10 h on 10-09
    assert (revise.element_id, revise.status) == ("revise", "open")
    assert revise.cycle.running and revise.cycle.working == timedelta(hours=6)
    assert cycle.total.running and cycle.total.elapsed == timedelta(days=9, hours=6)
    assert cycle.total.working == timedelta(days=1, hours=6)


def test_cycle_time_of_an_unknown_request_is_not_found(engine, session):
    from engine.errors import NotFound

    with pytest.raises(NotFound):
        engine.cycle_time(session, 999_999)


def test_a_withdrawn_request_measures_its_span_without_the_cancelled_step(engine, session,
                                                                          people, clock):
    from tests.engine.driver import Driver

    drv = Driver(engine, session, clock)
    drv.deploy("approval3.bpmn")
    inst = drv.start("approval3", "pm1", data={"title": "A", "budget": 1})
    clock.advance(hours=3)
    engine.withdraw(session, inst.id, "pm1", "not needed")
    clock.advance(days=2)
    cycle = engine.cycle_time(session, inst.id)
    assert cycle.steps == ()  # its one step was cancelled: no step, the request still there
    assert not cycle.total.running and cycle.total.elapsed == timedelta(hours=3)
