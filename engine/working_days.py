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
from datetime import date, datetime, time, timedelta, tzinfo
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


def sla_due(now: datetime, sla: str | int, closed: Closed = ()) -> datetime:
    """When a step with this SLA is due.

    ``sla`` is a number of working days, or an ISO 8601 duration whose days and weeks are
    working days (a week is five) and whose hours, minutes and seconds are clock time:
    ``P3D`` is three working days, ``PT4H`` four hours.
    """
    if isinstance(sla, bool) or not isinstance(sla, int | str):
        raise ValueError(f"an SLA is a number of working days or an ISO duration, not {sla!r}")
    if isinstance(sla, int):
        if sla < 0:
            raise ValueError(f"an SLA cannot be negative ({sla})")
        return add_working_days(now, sla, closed)
    m = _DURATION.match(sla.strip().upper())
    if not m or sla.strip().upper() in ("P", "PT"):
        raise ValueError(f"{sla!r} is not an ISO 8601 duration such as P3D or PT48H")
    parts = {k: int(v) for k, v in m.groupdict().items() if v}
    days = parts.get("w", 0) * 5 + parts.get("d", 0)
    due = add_working_days(now, days, closed) if days else now
    return due + timedelta(
        hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0)
    )
