"""Vetted helper functions that diagram scripts and expressions may call.

Scripts run in the sandbox (``sandbox.py``) without imports, so anything they need beyond
the short builtin allow-list comes from here.  Every helper is a plain function that takes
and returns plain JSON values (dates travel as ISO strings), is bounded in time, and hands
out no module, class or object: a module object would expose its own imports
(``datetime.sys``), which the attribute guard cannot see.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import cast

from engine import working_days
from engine.working_days import MAX_WORKING_DAYS

_AMOUNT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def _iso_date(value: object, helper: str) -> date:
    """Parse ``YYYY-MM-DD`` (or the date part of an ISO datetime string)."""
    if not isinstance(value, str):
        raise TypeError(f"{helper}() expects an ISO date string like '2025-01-31'")
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise ValueError(
            f"{helper}(): {value[:40]!r} is not an ISO date like '2025-01-31'"
        ) from None


def _whole_number(value: object, helper: str, limit: int) -> int:
    if type(value) is not int or abs(value) > limit:
        raise ValueError(f"{helper}() expects a whole number between -{limit} and {limit}")
    return value


def _shift(day: date, days: int, helper: str) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise ValueError(f"{helper}(): the resulting date is out of range") from None


def make_helpers(
    now: Callable[[], datetime],
    holidays: Iterable[str] = (),
    calendar: working_days.WorkCalendar | None = None,
) -> dict[str, Callable]:
    """Build the helper functions handed to sandboxed scripts.

    ``now`` returns the current time (a naive result is taken as UTC); tests pass a fixed
    clock.  ``holidays`` lists ISO dates that ``add_working_days`` skips in addition to
    Saturdays and Sundays; a ``calendar`` (the engine's business calendar) replaces both.
    """
    closed: working_days.Closed = frozenset(_iso_date(day, "make_helpers") for day in holidays)
    if calendar is not None:
        closed = calendar

    def utc_now() -> datetime:
        moment = now()
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    def today() -> str:
        """Today's date (UTC) as ``YYYY-MM-DD``."""
        return utc_now().date().isoformat()

    def now_iso() -> str:
        """The current UTC time as an ISO string with seconds precision."""
        return utc_now().replace(microsecond=0).isoformat()

    def add_days(iso_date: str, n: int) -> str:
        """``iso_date`` plus ``n`` calendar days (``n`` may be negative)."""
        day = _iso_date(iso_date, "add_days")
        return _shift(day, _whole_number(n, "add_days", 10**6), "add_days").isoformat()

    def days_between(a: str, b: str) -> int:
        """Calendar days from ``a`` to ``b`` (negative when ``b`` is earlier)."""
        return (_iso_date(b, "days_between") - _iso_date(a, "days_between")).days

    def add_working_days(iso_date: str, n: int) -> str:
        """Move ``n`` working days (Mon-Fri, not a holiday) forward, or back if negative."""
        day = _iso_date(iso_date, "add_working_days")
        count = _whole_number(n, "add_working_days", MAX_WORKING_DAYS)
        try:
            return working_days.shift_working_days(day, count, closed).isoformat()
        except OverflowError:
            raise ValueError("add_working_days(): the resulting date is out of range") from None

    def in_working_days(n: int) -> str:
        """The time ``n`` working days from now (UTC ISO), e.g. for a timer's timeDate."""
        count = _whole_number(n, "in_working_days", MAX_WORKING_DAYS)
        moment = working_days.add_working_days(utc_now(), count, closed)
        return moment.replace(microsecond=0).isoformat()

    return {
        "today": today,
        "now": now_iso,
        "add_days": add_days,
        "days_between": days_between,
        "add_working_days": add_working_days,
        "in_working_days": in_working_days,
        "parse_amount": parse_amount,
        "hours": hours,
    }


def parse_amount(value: object) -> float:
    """Turn a decimal string such as ``"1234.50"`` (or a number) into a float."""
    if type(value) in (int, float):
        number = float(cast(float, value))  # exactly an int or a float (never a bool)
    elif isinstance(value, str) and len(value) <= 40 and _AMOUNT.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        shown = repr(value)[:40] if isinstance(value, str) else type(value).__name__
        raise ValueError(f"parse_amount(): {shown} is not a decimal amount like '1234.50'")
    if not math.isfinite(number):
        raise ValueError("parse_amount(): the amount is not a finite number")
    return number


def hours(n: object) -> str:
    """An ISO 8601 duration of ``n`` hours, e.g. ``hours(48) == "PT48H"`` (for timers)."""
    number = cast(float, n)  # looked at only once type(n) is int or float
    if type(n) not in (int, float) or not math.isfinite(number) or not 0 <= number <= 10**6:
        raise ValueError("hours() expects a number of hours between 0 and 1000000")
    text = str(int(number)) if float(number).is_integer() else f"{number:.6f}".rstrip("0")
    return f"PT{text}H"
