"""Working days: SLAs count in the business calendar.

One implementation for both the engine (task due dates) and the script helpers (timers
such as ``in_working_days(1)``).  ``closed`` is either a collection of holiday dates
(then Monday to Friday except those count) or a calendar with ``is_workday(day)`` and a
``zone`` (:class:`engine.business_calendar.BusinessCalendar`): then days are counted in
that zone, so 20:00 UTC on a Tuesday is already Wednesday in Shanghai.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol, runtime_checkable

MAX_WORKING_DAYS = 10_000

_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


@runtime_checkable
class WorkCalendar(Protocol):
    """A calendar that knows working days and the time zone its days are counted in."""

    zone: tzinfo

    def is_workday(self, day: date) -> bool: ...


Closed = Collection[date] | WorkCalendar


def _is_workday(closed: Closed) -> Callable[[date], bool]:
    if isinstance(closed, WorkCalendar):
        return closed.is_workday
    return lambda day: day.weekday() < 5 and day not in closed


def shift_working_days(day: date, n: int, closed: Closed = ()) -> date:
    """``day`` moved ``n`` working days forward (or back when negative)."""
    is_workday = _is_workday(closed)
    if abs(n) > MAX_WORKING_DAYS:
        raise ValueError(f"at most {MAX_WORKING_DAYS} working days, not {n}")
    step = 1 if n > 0 else -1
    remaining = n
    while remaining:
        day += timedelta(days=step)
        if is_workday(day):
            remaining -= step
    return day


def add_working_days(when: datetime, n: int, closed: Closed = ()) -> datetime:
    """``when`` moved ``n`` working days, keeping the (calendar's local) time of day.

    With a calendar, work that starts on a day off starts counting when the next working
    day begins: one working day from Saturday is the end of Monday (Tuesday 00:00).
    """
    if isinstance(closed, WorkCalendar) and when.tzinfo is not None:
        local = when.astimezone(closed.zone)
        if n > 0 and not closed.is_workday(local.date()):
            # Started on a day off: the count starts when the next working day begins.
            start = shift_working_days(local.date(), 1, closed)
            local = datetime.combine(start, time(0), tzinfo=closed.zone)
        moved = datetime.combine(shift_working_days(local.date(), n, closed), local.timetz())
        return moved.astimezone(when.tzinfo)
    return datetime.combine(shift_working_days(when.date(), n, closed), when.timetz())


#: Prefix of an SLA whose hours run around the clock (``clock:PT8H``: an urgent risk).
CLOCK_PREFIX = "CLOCK:"


def add_working_time(when: datetime, span: timedelta, calendar: WorkCalendar) -> datetime:
    """``when`` moved forward by ``span`` of working time: only the calendar's working
    hours (``calendar.hours``, local start and end) of its working days count; weekends,
    holidays and the time outside the hours are skipped, make-up working days count."""
    start_t, end_t = calendar.hours  # type: ignore[attr-defined]
    zone = calendar.zone
    out_zone = when.tzinfo or UTC
    cursor = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(zone)
    remaining = span
    for _ in range(MAX_WORKING_DAYS * 2):
        day = cursor.date()
        if calendar.is_workday(day):
            opens = datetime.combine(day, start_t, tzinfo=zone)
            closes = datetime.combine(day, end_t, tzinfo=zone)
            if cursor < opens:
                cursor = opens
            if cursor < closes:
                room = closes.astimezone(UTC) - cursor.astimezone(UTC)
                if remaining <= room:
                    return (cursor.astimezone(UTC) + remaining).astimezone(out_zone)
                remaining -= room
        cursor = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    raise ValueError(f"more than {MAX_WORKING_DAYS} working days of working time")


def sla_due(now: datetime, sla: str | int, closed: Closed = ()) -> datetime:
    """When a step with this SLA is due.

    ``sla`` is a number of working days, or an ISO 8601 duration whose days and weeks are
    working days (a week is five): ``P3D`` is three working days.  Its hours, minutes and
    seconds are working time when ``closed`` is a calendar with working hours (``PT4H``
    from Friday 16:00 with 09:00-18:00 is Monday 11:00), else clock time.  Written
    ``clock:PT8H`` they always run around the clock (an urgent risk's review).
    """
    if isinstance(sla, bool) or not isinstance(sla, int | str):
        raise ValueError(f"an SLA is a number of working days or an ISO duration, not {sla!r}")
    if isinstance(sla, int):
        if sla < 0:
            raise ValueError(f"an SLA cannot be negative ({sla})")
        return add_working_days(now, sla, closed)
    text = sla.strip().upper()
    around_the_clock = text.startswith(CLOCK_PREFIX)
    if around_the_clock:
        text = text[len(CLOCK_PREFIX) :].strip()
    m = _DURATION.match(text)
    if not m or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"{sla!r} is not an ISO 8601 duration such as P3D or PT48H")
    parts = {k: int(v) for k, v in m.groupdict().items() if v}
    days = parts.get("w", 0) * 5 + parts.get("d", 0)
    due = add_working_days(now, days, closed) if days else now
    span = timedelta(hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0))
    if not span:
        return due
    if not around_the_clock and isinstance(closed, WorkCalendar) and hasattr(closed, "hours"):
        return add_working_time(due, span, closed)
    return due + span
