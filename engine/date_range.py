"""A date field's range in a task form: ``x-earliest`` and ``x-latest`` (docs/forms.md).

Shared by the validator (``engine.forms``), the schema checker (``engine.form_schema``)
and the web layer (the date picker's ``min``/``max``), so all three read a bound alike.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

#: A date field's earliest/latest day (``x-earliest``/``x-latest``, docs/forms.md): an ISO
#: date, ``today``, or ``today`` plus or minus whole days (``today+30d``, ``today-7d``;
#: ``+30d`` alone means the same as ``today+30d``).
DATE_BOUND = re.compile(
    r"^(?:(?P<iso>\d{4}-\d{2}-\d{2})|(?P<today>today)?(?:(?P<sign>[+-])(?P<days>\d{1,4})d)?)$"
)
#: The keywords of a date range, with the error code of a day outside it.
DATE_RANGE = {"x-earliest": "form.earliest", "x-latest": "form.latest"}


def date_bound(value: Any, today: date) -> date | None:
    """The day a ``x-earliest``/``x-latest`` value names, ``today`` being the site's
    today; None when it is not one (``form_schema`` reports that)."""
    found = DATE_BOUND.match(value) if isinstance(value, str) and value else None
    if found is None:
        return None
    if found["iso"]:
        try:
            return date.fromisoformat(found["iso"])
        except ValueError:
            return None
    if not found["today"] and not found["sign"]:
        return None
    days = int(found["days"] or 0) * (-1 if found["sign"] == "-" else 1)
    return today + timedelta(days=days)


def local_today(now: datetime, zone: tzinfo) -> date:
    """The calendar day ``now`` falls on in the site's time zone (what "today" means in
    a date range)."""
    return now.astimezone(zone).date()
