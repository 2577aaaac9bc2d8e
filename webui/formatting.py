"""Template filters: dates, durations and values in the user's language."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask
from flask_babel import format_datetime, format_decimal, format_timedelta, gettext


def dt(value: datetime | None) -> str:
    """``2026-03-02 09:00`` (site time zone)."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def ago(value: datetime | None, now: datetime) -> str:
    """``3 days ago`` / ``in 2 hours`` relative to ``now``; ``just now`` within a minute."""
    if value is None:
        return ""
    if abs(value - now) < timedelta(minutes=1):
        return gettext("just now")
    return format_timedelta(value - now, granularity="minute", add_direction=True)


def duration(start: datetime | None, end: datetime) -> str:
    """How long from ``start`` to ``end``: ``3 days``."""
    if start is None:
        return ""
    delta = max(end - start, timedelta(0))
    if delta < timedelta(minutes=1):
        return gettext("just now")
    return format_timedelta(delta, granularity="minute")


def amount(value: Any) -> str:
    """A decimal amount with grouping: ``1,234,567.50``."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_decimal(number, format="#,##0.00")


def number(value: Any) -> str:
    """A number with grouping in the user's locale."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return format_decimal(value)


def install(app: Flask) -> None:
    """Register the filters."""
    for name, func in {"dt": dt, "ago": ago, "duration": duration, "amount": amount,
                       "number": number}.items():
        app.add_template_filter(func, name)
