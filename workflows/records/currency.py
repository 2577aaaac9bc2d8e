"""Conversion of budgets and costs into the portfolio's reporting currency.

The PMO compares projects in one currency.  Rates are *planning rates* (the budget rate
finance fixes for the year), not market rates: a configuration table for now, which a
PMO-editable table can replace later without changing callers.  Each record keeps the
converted amount it was given when it was entered, so a rate change never rewrites
history.  See ``docs/records.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from engine.errors import InvalidData

REPORTING_CURRENCY = "CNY"

#: Units of :data:`REPORTING_CURRENCY` per one unit of each currency (planning rates).
RATES: dict[str, Decimal] = {
    "CNY": Decimal("1"),
    "USD": Decimal("7.20"),
    "EUR": Decimal("7.80"),
    "GBP": Decimal("9.10"),
    "JPY": Decimal("0.048"),
    "HKD": Decimal("0.92"),
    "SGD": Decimal("5.35"),
    "AUD": Decimal("4.70"),
    "CHF": Decimal("8.10"),
}

_CENT = Decimal("0.01")


def supported_currencies(rates: Mapping[str, Decimal] | None = None) -> tuple[str, ...]:
    """The ISO codes a budget may be given in, sorted."""
    return tuple(sorted(RATES if rates is None else rates))


def to_reporting(amount: Decimal, currency: str,
                 rates: Mapping[str, Decimal] | None = None) -> Decimal:
    """``amount`` in ``currency`` converted to the reporting currency, to the cent.

    Rounds half up.  An unknown currency raises ``InvalidData({"currency": ...})``.
    """
    table = RATES if rates is None else rates
    code = (currency or "").strip().upper()
    rate = table.get(code)
    if rate is None:
        raise InvalidData({"currency": f"Unknown currency {currency!r}; use one of: "
                                       f"{', '.join(supported_currencies(table))}."})
    return (Decimal(amount) * rate).quantize(_CENT, rounding=ROUND_HALF_UP)


def check_currency(code: str) -> str | None:
    """A message if ``code`` has no rate, else None."""
    if code.upper() in RATES:
        return None
    return f"Unknown currency {code!r}; use one of: {', '.join(supported_currencies())}."
