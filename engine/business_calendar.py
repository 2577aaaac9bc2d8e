"""The install's business calendar: which days are working days, in which time zone.

A day is a working day when the PMO's own list says so (``calendar_days``: an extra
holiday or an extra working day), else when the country calendar says so: for ``CN`` the
maintained ``chinese_calendar`` library (public holidays and the make-up working days,
调休, per year as the State Council publishes them), for ``none`` Monday to Friday.
Years the library does not know yet count Monday to Friday, so a PMO adds them to its
list when they are published.  Day boundaries are those of the calendar's time zone
(``Asia/Shanghai`` by default), whatever zone the clock reports in.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date, time, tzinfo
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped]

#: Country calendars an install may choose (``EngineSettings.calendar_country``).
COUNTRIES: tuple[str, ...] = ("CN", "none")
#: What a PMO-listed day may be.
KINDS: tuple[str, ...] = ("holiday", "workday")
#: Working hours of an install that has set none (local time of the calendar's zone).
DEFAULT_HOURS: tuple[time, time] = (time(9), time(18))


class BusinessCalendar:
    """Working days of one install: a country calendar plus the PMO's own days."""

    def __init__(
        self,
        country: str = "CN",
        time_zone: str = "Asia/Shanghai",
        days: Mapping[date, str] | None = None,
    ):
        if country not in COUNTRIES:
            raise ValueError(f"unknown calendar country {country!r}; use one of {COUNTRIES}")
        self.country = country
        self.zone: tzinfo = ZoneInfo(time_zone)
        self._lock = threading.Lock()
        self._days: dict[date, str] = dict(days or {})
        #: The working hours of every working day (start, end); SLAs given in hours
        #: count only these (see :func:`engine.working_days.sla_due`).
        self.hours: tuple[time, time] = DEFAULT_HOURS
        #: When the PMO's days were last read (``time.monotonic()``; None: never).
        self.loaded_at: float | None = None

    def set_days(self, days: Mapping[date, str]) -> None:
        """Replace the PMO's days (day -> ``holiday`` or ``workday``)."""
        with self._lock:
            self._days = dict(days)

    def set_hours(self, start: time, end: time) -> None:
        """Set the working hours (``start`` before ``end``, local time)."""
        if not start < end:
            raise ValueError(f"working hours must start before they end ({start}-{end})")
        self.hours = (start, end)

    def is_workday(self, day: date) -> bool:
        """True when people work on ``day``."""
        with self._lock:
            kind = self._days.get(day)
        if kind is not None:
            return kind == "workday"
        if self.country == "CN":
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:  # a year the library has no data for
                pass
        return day.weekday() < 5

    def holiday_name(self, day: date) -> str | None:
        """The name of the public holiday on ``day`` per the country calendar, if any."""
        if self.country != "CN":
            return None
        try:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return None
        return str(name) if on_holiday and name else None
