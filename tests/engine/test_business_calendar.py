"""SLAs count working days in the business calendar: weekends, Chinese public holidays,
make-up working days (调休), the PMO's own days, in the calendar's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from engine.api import Engine
from engine.business_calendar import BusinessCalendar
from engine.errors import Forbidden, InvalidData
from engine.working_days import sla_due

CN = BusinessCalendar("CN", "Asia/Shanghai")
SHANGHAI = timezone(timedelta(hours=8))


def test_weekend_is_skipped():
    friday = datetime(2025, 6, 6, 9, 0, tzinfo=SHANGHAI)
    assert sla_due(friday, 1, CN) == datetime(2025, 6, 9, 9, 0, tzinfo=SHANGHAI)
    assert sla_due(friday, "P1W", CN) == datetime(2025, 6, 13, 9, 0, tzinfo=SHANGHAI)


def test_national_day_holidays_and_make_up_days():
    # 2025: 10-01..10-08 off; Sunday 09-28 and Saturday 10-11 were working days.
    assert CN.is_workday(date(2025, 9, 28)) and CN.is_workday(date(2025, 10, 11))
    assert not any(CN.is_workday(date(2025, 10, d)) for d in range(1, 9))
    friday = datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)
    # Sat 27 off, Sun 28 is a make-up working day.
    assert sla_due(friday, 1, CN) == datetime(2025, 9, 28, 10, 0, tzinfo=SHANGHAI)
    tuesday = datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI)
    # The next working day after 09-30 is Thursday 10-09 (10-01..08 off).
    assert sla_due(tuesday, 1, CN) == datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)
    # Then Fri 10-10, Sat 10-11 (make-up), Mon 10-13.
    assert sla_due(tuesday, 3, CN) == datetime(2025, 10, 11, 10, 0, tzinfo=SHANGHAI)
    assert sla_due(tuesday, 4, CN) == datetime(2025, 10, 13, 10, 0, tzinfo=SHANGHAI)
    # Weekends only (no country calendar) knows none of this.
    plain = BusinessCalendar("none", "Asia/Shanghai")
    assert sla_due(tuesday, 1, plain) == datetime(2025, 10, 1, 10, 0, tzinfo=SHANGHAI)


def test_days_are_counted_in_the_calendar_time_zone():
    # 16:30 UTC on Tuesday 09-30 is already 00:30 on 10-01 (a holiday) in Shanghai: the
    # count starts when the next working day (10-09) begins, so one working day is the
    # end of 10-09, 00:00 Shanghai on 10-10.
    late = datetime(2025, 9, 30, 16, 30, tzinfo=UTC)
    due = sla_due(late, 1, CN)
    assert due.tzinfo == UTC
    assert due == datetime(2025, 10, 9, 16, 0, tzinfo=UTC)
    assert due.astimezone(SHANGHAI) == datetime(2025, 10, 10, 0, 0, tzinfo=SHANGHAI)
    # An hour earlier it is still Tuesday in Shanghai: one working day later is 10-09 23:30.
    early = datetime(2025, 9, 30, 15, 30, tzinfo=UTC)
    assert sla_due(early, 1, CN) == datetime(2025, 10, 9, 15, 30, tzinfo=UTC)
    # Counted in UTC days the late instant is still Tuesday: 10-09 at the same time.
    utc_cal = BusinessCalendar("CN", "UTC")
    assert sla_due(late, 1, utc_cal) == datetime(2025, 10, 9, 16, 30, tzinfo=UTC)


def test_work_started_on_a_day_off_counts_from_the_next_working_day():
    saturday = datetime(2025, 6, 7, 15, 0, tzinfo=SHANGHAI)
    assert sla_due(saturday, 1, CN) == datetime(2025, 6, 10, 0, 0, tzinfo=SHANGHAI)
    # Hours are working hours: Monday opens at 09:00.
    assert sla_due(saturday, "PT4H", CN) == datetime(2025, 6, 9, 13, 0, tzinfo=SHANGHAI)
    assert sla_due(saturday, "clock:PT4H", CN) == saturday + timedelta(hours=4)
    assert sla_due(saturday, 0, CN) == saturday


def test_hours_are_working_hours_and_mixed_durations():
    friday = datetime(2025, 6, 6, 9, 0, tzinfo=SHANGHAI)
    # 09:00-18:00 is nine working hours a day: 48 hours are five days and three hours.
    assert sla_due(friday, "PT48H", CN) == datetime(2025, 6, 13, 12, 0, tzinfo=SHANGHAI)
    assert sla_due(friday, "clock:PT48H", CN) == friday + timedelta(hours=48)
    assert sla_due(friday, "P1DT2H", CN) == datetime(2025, 6, 9, 11, 0, tzinfo=SHANGHAI)
    # Friday 16:00 plus four working hours: two on Friday, two on Monday.
    late = datetime(2025, 6, 6, 16, 0, tzinfo=SHANGHAI)
    assert sla_due(late, "PT4H", CN) == datetime(2025, 6, 9, 11, 0, tzinfo=SHANGHAI)
    # Before opening time the count starts at 09:00; after closing, the next morning.
    early = datetime(2025, 6, 9, 7, 30, tzinfo=SHANGHAI)
    assert sla_due(early, "PT30M", CN) == datetime(2025, 6, 9, 9, 30, tzinfo=SHANGHAI)
    evening = datetime(2025, 6, 9, 20, 0, tzinfo=SHANGHAI)
    assert sla_due(evening, "PT1H", CN) == datetime(2025, 6, 10, 10, 0, tzinfo=SHANGHAI)


def test_working_hours_skip_public_holidays_and_count_make_up_days():
    # Tuesday 2025-09-30 17:00: one hour left, then the National Day holiday (10-01..08).
    # Sunday 09-28 and Saturday 10-11 are make-up working days (调休).
    before = datetime(2025, 9, 30, 17, 0, tzinfo=SHANGHAI)
    assert sla_due(before, "PT2H", CN) == datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)
    sunday = datetime(2025, 9, 28, 10, 0, tzinfo=SHANGHAI)
    assert sla_due(sunday, "PT2H", CN) == datetime(2025, 9, 28, 12, 0, tzinfo=SHANGHAI)
    friday = datetime(2025, 10, 10, 17, 0, tzinfo=SHANGHAI)
    assert sla_due(friday, "PT3H", CN) == datetime(2025, 10, 11, 11, 0, tzinfo=SHANGHAI)


def test_working_hours_across_time_zones():
    # 08:00 UTC on Friday is 16:00 in Shanghai: the answer comes back in UTC.
    friday = datetime(2025, 6, 6, 8, 0, tzinfo=UTC)
    due = sla_due(friday, "PT4H", CN)
    assert due.tzinfo == UTC and due == datetime(2025, 6, 9, 3, 0, tzinfo=UTC)
    # A calendar in New York counts its own working hours (EDT, UTC-4).
    ny = BusinessCalendar("none", "America/New_York")
    assert sla_due(friday, "PT4H", ny) == datetime(2025, 6, 6, 17, 0, tzinfo=UTC)
    # Over the DST change (2025-03-09) the local hours still count nine a day.
    saturday = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
    assert sla_due(saturday, "PT9H", ny) == datetime(2025, 3, 10, 22, 0, tzinfo=UTC)


def test_installs_working_hours_apply(engine, session, people):
    from datetime import time
    engine.set_working_hours(session, "admin", "08:30-17:30")
    assert engine.working_hours(session) == (time(8, 30), time(17, 30))
    assert engine.ctx.calendar.hours == (time(8, 30), time(17, 30))
    for text in ("9-18", "18:00-09:00", "09:00-09:00", "25:00-26:00", ""):
        with pytest.raises(InvalidData) as err:
            engine.set_working_hours(session, "admin", text)
        assert err.value.errors["working_hours"].code == "calendar.hours_invalid"
    assert engine.working_hours(session) == (time(8, 30), time(17, 30))
    with pytest.raises(Forbidden):
        engine.set_working_hours(session, "pm1", "09:00-18:00")
    other = Engine(clock=engine.clock)  # another process reads the same hours
    other.is_workday(session, date(2026, 3, 2))
    assert other.ctx.calendar.hours == (time(8, 30), time(17, 30))


def test_pmo_days_override_the_country_calendar():
    cal = BusinessCalendar("CN", "Asia/Shanghai", {date(2025, 6, 9): "holiday",
                                                   date(2025, 6, 7): "workday"})
    friday = datetime(2025, 6, 6, 9, 0, tzinfo=SHANGHAI)
    assert sla_due(friday, 1, cal) == datetime(2025, 6, 7, 9, 0, tzinfo=SHANGHAI)
    assert sla_due(friday, 2, cal) == datetime(2025, 6, 10, 9, 0, tzinfo=SHANGHAI)


def test_years_the_library_does_not_know_count_weekdays():
    cal = BusinessCalendar("CN", "Asia/Shanghai")
    assert cal.is_workday(date(2031, 1, 6)) and not cal.is_workday(date(2031, 1, 4))


def test_unknown_country_is_refused():
    with pytest.raises(ValueError):
        BusinessCalendar("XX")


def test_pmo_days_saved_all_or_nothing(engine, session, people):
    saved = engine.save_calendar_days(
        session, "admin", "# company days\n2026-03-06, Company day, holiday\n"
                          "2026-03-07, Make-up day, workday\n")
    assert [(d.day, d.kind) for d in saved] == [(date(2026, 3, 6), "holiday"),
                                               (date(2026, 3, 7), "workday")]
    assert not engine.is_workday(session, date(2026, 3, 6))
    assert engine.is_workday(session, date(2026, 3, 7))
    for text, code, line in [
        ("2026-03-09, A, holiday\n2026-02-30, Bad, holiday", "calendar.line_invalid", 2),
        ("2026-03-09, A, holiday\n2026-03-10, B, festival", "calendar.line_invalid", 2),
        ("2026-03-09, A, holiday\n\n2026-03-09, B, workday", "calendar.date_repeated", 3),
    ]:
        with pytest.raises(InvalidData) as err:
            engine.save_calendar_days(session, "admin", text)
        problem = err.value.errors["days"]
        assert (problem.code, problem.params["line"]) == (code, line)
    # Nothing half-saved: the earlier list stands.
    assert [d.day for d in engine.calendar_days(session, "admin")] == [date(2026, 3, 6),
                                                                       date(2026, 3, 7)]
    kinds = [e.kind for e in engine.admin_changes(session, "admin")]
    assert kinds.count("calendar.days") == 1


def test_only_pmo_admin_edits_the_calendar(engine, session, people):
    from engine.errors import Forbidden
    with pytest.raises(Forbidden):
        engine.save_calendar_days(session, "pm1", "2026-03-06, X, holiday")
    with pytest.raises(Forbidden):
        engine.calendar_days(session, "pm1")


def test_task_sla_counts_in_the_calendar(engine, session, people, clock):
    from tests.engine.driver import Driver
    drv = Driver(engine, session, clock)
    clock.set("2025-09-30T02:00:00+00:00")  # Tuesday 10:00 in Shanghai
    drv.deploy("approval3.bpmn")
    inst = drv.start("approval3", data={"title": "A", "budget": 1})
    (task,) = drv.open_tasks(inst.id)
    # P2D from Tuesday 09-30: 10-01..08 are holidays, so 10-09 and 10-10.
    assert task.due_at == datetime(2025, 10, 10, 2, 0, tzinfo=UTC)
