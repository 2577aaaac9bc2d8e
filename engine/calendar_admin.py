"""The PMO's own calendar days: extra holidays and make-up working days.

The PMO edits them as text, one day a line: ``2026-10-09, Company day, holiday``.  A
save replaces the whole list or nothing: a bad line or a date listed twice is an error
naming the line.  The engine's :class:`~engine.business_calendar.BusinessCalendar` is
refreshed from the table at most every few seconds, so web, worker and CLI agree.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime
from datetime import time as clock_time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.business_calendar import DEFAULT_HOURS, KINDS, BusinessCalendar
from engine.errors import FieldError, InvalidData
from engine.store.models import CalendarDay, InstallSetting
from engine.views import CalendarDayView

#: Seconds a process keeps the PMO's days before reading them again.
REFRESH_SECONDS = 5.0
#: Longest list a PMO may save.
MAX_LINES = 2000
#: The install setting holding the working hours (``09:00-18:00``).
HOURS_KEY = "working_hours"
_HOURS = re.compile(r"^(\d{2}):(\d{2})\s*[-–]\s*(\d{2}):(\d{2})$")


def refresh(calendar: BusinessCalendar, session: Session, *, force: bool = False) -> None:
    """Load the PMO's days into ``calendar`` unless it did so very recently."""
    stamp = calendar.loaded_at
    if not force and stamp is not None and time.monotonic() - stamp < REFRESH_SECONDS:
        return
    found = session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
    calendar.set_days({day: kind for day, kind in found})
    calendar.hours = hours(session)
    calendar.loaded_at = time.monotonic()


def hours(session: Session) -> tuple[clock_time, clock_time]:
    """The install's working hours (local start and end; 09:00-18:00 unless set)."""
    text = session.scalar(select(InstallSetting.value).where(InstallSetting.key == HOURS_KEY))
    if not text:
        return DEFAULT_HOURS
    try:
        return parse_hours(text)
    except InvalidData:  # written by hand into the database: fall back, never fail
        return DEFAULT_HOURS


def hours_text(value: tuple[clock_time, clock_time]) -> str:
    """``09:00-18:00``."""
    return f"{value[0]:%H:%M}-{value[1]:%H:%M}"


def parse_hours(text: str) -> tuple[clock_time, clock_time]:
    """``HH:MM-HH:MM`` with the start before the end; :class:`InvalidData` on
    ``working_hours`` otherwise."""
    raw = str(text or "").strip()
    m = _HOURS.match(raw)
    try:
        if not m:
            raise ValueError(raw)
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = clock_time(h1, m1), clock_time(h2, m2)
        if not start < end:
            raise ValueError(raw)
    except ValueError:
        message = f"{raw[:40]!r} is not working hours such as 09:00-18:00 (start before end)."
        raise InvalidData(
            {
                "working_hours": FieldError(
                    message, "calendar.hours_invalid", field="working_hours", value=raw[:40]
                )
            }
        ) from None
    return start, end


def save_hours(
    session: Session, actor: str, text: str, now: datetime
) -> tuple[clock_time, clock_time]:
    """Set the install's working hours (validated first; nothing saved on error)."""
    value = parse_hours(text)
    row = session.get(InstallSetting, HOURS_KEY)
    if row is None:
        session.add(
            InstallSetting(key=HOURS_KEY, value=hours_text(value), updated_by=actor, updated_at=now)
        )
    else:
        row.value, row.updated_by, row.updated_at = hours_text(value), actor, now
    session.flush()
    return value


def days(session: Session) -> list[CalendarDayView]:
    """The PMO's days, in date order."""
    found = session.scalars(select(CalendarDay).order_by(CalendarDay.day))
    return [CalendarDayView(d.day, d.name, d.kind) for d in found]


def as_text(views: list[CalendarDayView]) -> str:
    """The list as the admin page edits it."""
    return "\n".join(f"{v.day.isoformat()}, {v.name}, {v.kind}" for v in views)


def parse(text: str) -> list[CalendarDayView]:
    """Read ``date, name, kind`` lines (blank lines and ``#`` comments skipped)."""
    out: list[CalendarDayView] = []
    seen: dict[date, int] = {}
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise _bad(MAX_LINES + 1, lines[MAX_LINES], code="calendar.line_invalid")
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if len(parts) == 2:
            parts.append("holiday")
        if len(parts) != 3 or parts[2].lower() not in KINDS or not parts[1]:
            raise _bad(number, line, code="calendar.line_invalid")
        try:
            day = date.fromisoformat(parts[0])
        except ValueError:
            raise _bad(number, line, code="calendar.line_invalid") from None
        if day in seen:
            raise _bad(number, line, code="calendar.date_repeated", other=seen[day])
        seen[day] = number
        out.append(CalendarDayView(day, parts[1][:200], parts[2].lower()))
    return out


def _bad(number: int, line: str, code: str, **extra: int) -> InvalidData:
    if code == "calendar.date_repeated":
        message = f"Line {number}: {line!r} repeats the date of line {extra['other']}."
    else:
        message = f"Line {number}: {line!r} is not 'YYYY-MM-DD, name, holiday|workday'."
    return InvalidData(
        {"days": FieldError(message, code, field="days", line=number, value=line[:80], **extra)}
    )


def save(session: Session, actor: str, text: str, now: datetime) -> list[CalendarDayView]:
    """Replace the PMO's days with those in ``text`` (all or nothing)."""
    new = parse(text)
    session.execute(delete(CalendarDay))
    for v in new:
        session.add(
            CalendarDay(day=v.day, name=v.name, kind=v.kind, updated_by=actor, updated_at=now)
        )
    session.flush()
    return new
