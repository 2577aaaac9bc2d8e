"""Template filters: dates, durations and values in the user's language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import flask_babel
from babel import Locale, dates, lists, numbers, units
from flask import Flask, g, has_app_context
from markupsafe import Markup, escape

from webui.i18n import gettext, ngettext


def _request_locale() -> tuple[Locale, tzinfo]:
    """This request's locale and time zone, resolved once per request (a task table
    formats a hundred dates)."""
    if not has_app_context():  # e.g. building a form outside a request
        return Locale("en"), UTC
    found = g.get("_pmoflow_format")
    if found is None:
        found = (flask_babel.get_locale() or Locale("en"), flask_babel.get_timezone())
        g._pmoflow_format = found
    return found


@lru_cache(maxsize=4096)
def _timedelta_text(minutes: int, locale: str, add_direction: bool) -> str:
    return dates.format_timedelta(timedelta(minutes=minutes), granularity="minute",
                                  add_direction=add_direction, locale=locale)


def format_timedelta(delta: timedelta, *, add_direction: bool = False) -> str:
    """``3 days`` / ``in 2 hours`` in the request's language (to the minute; memoized,
    as the same few phrases come back on every page)."""
    minutes = round(delta.total_seconds() / 60)
    return _timedelta_text(minutes, str(_request_locale()[0]), add_direction)


def dt(value: datetime | None) -> str:
    """``2026-03-02 09:00`` (site time zone)."""
    if not value:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_request_locale()[1]).strftime("%Y-%m-%d %H:%M")


def format_decimal(number: Any, format: str | None = None) -> str:
    """A number in the request's locale."""
    return numbers.format_decimal(number, format=format, locale=_request_locale()[0])


def ago(value: datetime | None, now: datetime) -> str:
    """``3 days ago`` / ``in 2 hours`` relative to ``now``; ``just now`` within a minute."""
    if value is None:
        return ""
    if abs(value - now) < timedelta(minutes=1):
        return gettext("just now")
    return format_timedelta(value - now, add_direction=True)


def duration(start: datetime | None, end: datetime) -> str:
    """How long from ``start`` to ``end``: ``3 days``."""
    if start is None:
        return ""
    delta = max(end - start, timedelta(0))
    if delta < timedelta(minutes=1):
        return gettext("just now")
    return format_timedelta(delta)


def amount(value: Any) -> str:
    """A decimal amount with grouping: ``1,234,567.50``."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_decimal(number, format="#,##0.00")


def money(value: Any, currency: str | None = None, *, whole: bool = False) -> str:
    """An amount of money by its currency and the user's locale: ``CN¥500,000.00`` in
    English, ``¥500,000.00`` in Chinese, ``€1,200.50``.

    ``value``: anything with ``amount`` and ``currency`` (a record's money, a form's
    ``{"amount", "currency"}``) or a number with ``currency``; ``whole``: no decimals
    when the amount has no cents (portfolio figures).  Not an amount: shown as given;
    no currency: the amount with grouping.
    """
    if isinstance(value, dict):
        value, currency = value.get("amount"), value.get("currency") or currency
    elif hasattr(value, "amount") and hasattr(value, "currency"):
        value, currency = value.amount, value.currency
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return str(value if value is not None else "")
    if not number.is_finite():
        return str(value)
    if not currency:
        return amount(number)
    locale = _request_locale()[0]
    pattern = None
    if whole and number % 1 == 0:
        pattern = locale.currency_formats["standard"].pattern.replace(".00", "")
    try:
        return numbers.format_currency(number, str(currency), format=pattern, locale=locale,
                                       currency_digits=pattern is None)
    except (ValueError, KeyError):  # not a currency Babel knows: code and amount
        return f"{currency} {amount(number)}"


def number(value: Any) -> str:
    """A number with grouping in the user's locale."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return format_decimal(value)


def working_days(cycle: Any) -> str:
    """A cycle time's working days: ``2.5 working days`` (one decimal, none when whole)."""
    days = round(float(cycle.working_days), 1)
    text = format_decimal(days, format="#,##0.#")
    return ngettext("%(days)s working day", "%(days)s working days",
                    1 if days == 1 else 2, days=text)


def elapsed(cycle: Any) -> str:
    """A cycle time's elapsed time, exact to the two largest units: ``7 days``,
    ``1 day, 12 hours``, ``3 hours, 5 minutes`` (``1天12小时``)."""
    minutes = max(int(cycle.elapsed.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = ([(days, "day"), (hours, "hour")] if days else
             [(hours, "hour"), (mins, "minute")] if hours else [(mins, "minute")])
    locale = _request_locale()[0]
    shown = [units.format_unit(n, f"duration-{unit}", locale=locale) for n, unit in parts
             if n or len(parts) == 1]
    return lists.format_list(shown, style="unit", locale=locale)


def due(due_at: datetime | None, now: datetime, inline: bool = False) -> Markup:
    """A due date as the inbox and task pages show it: red with an *Overdue* badge once
    passed, with how far off it is (``inline``: one line, without the distance).

    Built with :func:`markupsafe.escape` and one ``Markup`` per call (an inbox page asks
    25 times; ``Markup % (...)`` wraps each value in a helper object first)."""
    if not due_at:
        return Markup(f'<span class="text-secondary">{escape(gettext("No deadline"))}</span>')
    late = due_at < now
    if inline:
        html = (f'<span class="{"text-danger fw-semibold" if late else ""}">'
                f"{escape(dt(due_at))}</span>")
        if late:
            html += (' <span class="badge text-bg-danger overdue" data-testid="overdue">'
                     f'{escape(gettext("Overdue"))}</span>')
        return Markup(html)
    if late:
        return Markup(
            f'<span class="text-danger fw-semibold text-nowrap">{escape(dt(due_at))}</span>'
            '<span class="d-block small text-nowrap"><span class="badge text-bg-danger overdue"'
            ' data-testid="overdue"><i class="bi bi-exclamation-triangle-fill"'
            f' aria-hidden="true"></i> {escape(gettext("Overdue"))}</span> '
            f'<span class="text-danger">{escape(ago(due_at, now))}</span></span>')
    return Markup(f'<span class="text-nowrap">{escape(dt(due_at))}</span>'
                  f'<span class="d-block small text-secondary">{escape(ago(due_at, now))}</span>')


def install(app: Flask) -> None:
    """Register the filters."""
    for name, func in {"dt": dt, "ago": ago, "duration": duration, "amount": amount,
                       "money": money, "number": number,
                       "working_days": working_days, "elapsed": elapsed}.items():
        app.add_template_filter(func, name)
    app.add_template_global(due, "due")
