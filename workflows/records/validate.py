"""Reading task data (JSON) into typed values, collecting every problem per field.

A :class:`Fields` reads one mapping; each reader returns the typed value (or ``None``)
and notes a message under the field's dotted path when the value is wrong, so one
:class:`~engine.errors.InvalidData` reports everything at once, the way forms show it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.errors import InvalidData

_MISSING = object()
#: Money amounts: up to 12 integer digits.  SQLite keeps NUMERIC as a double, which is
#: exact to the cent below ~4.5e13; 12 digits leave room for conversion and sums.
_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_CENT = Decimal("0.01")
_LIST_SPLIT = re.compile(r"[,，、;；\n]")


class Fields:
    """Typed access to one data mapping with per-field error collection."""

    def __init__(self, data: Mapping[str, Any] | None, prefix: str = ""):
        self.data: Mapping[str, Any] = data or {}
        self.prefix = prefix
        self.errors: dict[str, str] = {}

    # ---------------------------------------------------------------- bookkeeping

    def error(self, name: str, message: str) -> None:
        """Note a problem with field ``name`` (the first one per field wins)."""
        self.errors.setdefault(self.prefix + name, message)

    def check(self) -> None:
        """Raise :class:`InvalidData` if any problem was noted."""
        if self.errors:
            raise InvalidData(self.errors)

    def has(self, name: str) -> bool:
        """Whether the data holds a non-empty value for ``name``."""
        return _present(self.data.get(name, _MISSING))

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name, _MISSING)
        if not _present(value):
            if required:
                self.error(name, "This field is required.")
            return _MISSING
        return value

    # ---------------------------------------------------------------- readers

    def text(self, name: str, *, required: bool = True, max_len: int = 10_000) -> str:
        """A string, stripped; ``""`` when absent and optional."""
        value = self._get(name, required)
        if value is _MISSING:
            return ""
        if not isinstance(value, str):
            self.error(name, "Must be text.")
            return ""
        value = value.strip()
        if len(value) > max_len:
            self.error(name, f"At most {max_len} characters.")
        return value

    def choice(self, name: str, choices: Iterable[str], *, required: bool = True
               ) -> str | None:
        """One of ``choices`` (exact, after stripping)."""
        value = self._get(name, required)
        if value is _MISSING:
            return None
        options = tuple(choices)
        if not isinstance(value, str) or value.strip() not in options:
            self.error(name, f"Must be one of: {', '.join(options)}.")
            return None
        return value.strip()

    def integer(self, name: str, lo: int, hi: int, *, required: bool = True) -> int | None:
        """A whole number in ``lo..hi`` (ints or digit strings; never booleans)."""
        value = self._get(name, required)
        if value is _MISSING:
            return None
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", value):
            number = int(value)
        if number is None:
            self.error(name, "Must be a whole number.")
            return None
        if not lo <= number <= hi:
            self.error(name, f"Must be between {lo} and {hi}.")
            return None
        return number

    def decimal(self, name: str, lo: Decimal, hi: Decimal, *, places: int = 2,
                required: bool = True) -> Decimal | None:
        """A decimal number in ``lo..hi`` with at most ``places`` decimals."""
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if isinstance(value, float):  # a "number" form field; not money, so no harm
            value = repr(value)
        number = to_decimal(value)
        if number is None:
            self.error(name, "Must be a number (as a decimal string, e.g. \"12.5\").")
            return None
        if -number.normalize().as_tuple().exponent > places:  # type: ignore[operator]
            self.error(name, f"At most {places} decimal places.")
            return None
        if not lo <= number <= hi:
            self.error(name, f"Must be between {lo} and {hi}.")
            return None
        return number.quantize(Decimal(1).scaleb(-places))

    def flag(self, name: str) -> bool:
        """A boolean (absent means False)."""
        value = self.data.get(name, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.error(name, "Must be true or false.")
            return False
        return value

    def day(self, name: str, *, required: bool = True) -> date | None:
        """A calendar date given as ``YYYY-MM-DD`` (or a ``date``)."""
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.error(name, "Must be a date (YYYY-MM-DD).")
        return None

    def money(self, name: str, *, required: bool = True) -> tuple[Decimal, str] | None:
        """``{"amount": "1234.50", "currency": "CNY"}`` -> (Decimal amount, currency).

        The amount is a non-negative decimal string with at most two decimals (a plain
        int is accepted; floats are refused because they are not exact).  The currency
        is upper-cased and checked by the caller against the rate table.
        """
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, Mapping):
            self.error(name, 'Must be {"amount": "…", "currency": "…"}.')
            return None
        inner = Fields(value, prefix=f"{self.prefix}{name}.")
        amount = inner.amount("amount")
        currency = inner.text("currency", max_len=3).upper()
        self.errors.update({k: v for k, v in inner.errors.items() if k not in self.errors})
        if amount is None or not currency:
            return None
        return amount, currency

    def amount(self, name: str, *, required: bool = True) -> Decimal | None:
        """A non-negative money amount (decimal string or int, two decimals at most)."""
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            value = str(value)
        if isinstance(value, Decimal):
            value = format(value, "f")
        if isinstance(value, float):
            self.error(name, 'Give the amount as a decimal string (e.g. "1234.50").')
            return None
        if not isinstance(value, str) or not _AMOUNT.fullmatch(value.strip()):
            message = "Must not be negative." if _negative(value) else (
                "Must be an amount such as 1234.50 (up to 12 digits, 2 decimals).")
            self.error(name, message)
            return None
        return Decimal(value.strip()).quantize(_CENT)

    def strings(self, name: str, *, required: bool = True, max_items: int = 50,
                max_len: int = 100, lower: bool = False) -> tuple[str, ...]:
        """A list of short strings (a list, or one comma-separated string), de-duplicated."""
        value = self._get(name, required)
        if value is _MISSING:
            return ()
        if isinstance(value, str):
            value = _LIST_SPLIT.split(value)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            self.error(name, "Must be a list of text values.")
            return ()
        items = [v.strip().lower() if lower else v.strip() for v in value]
        items = list(dict.fromkeys(v for v in items if v))
        if required and not items:
            self.error(name, "This field is required.")
        elif len(items) > max_items:
            self.error(name, f"At most {max_items} entries.")
        elif any(len(v) > max_len for v in items):
            self.error(name, f"Each entry has at most {max_len} characters.")
        return tuple(items)


def to_decimal(value: Any) -> Decimal | None:
    """A finite Decimal from an int, Decimal or numeric string; None otherwise."""
    if isinstance(value, bool | float):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def _present(value: Any) -> bool:
    if value is _MISSING or value is None:
        return False
    return not (isinstance(value, str | list | tuple | dict) and not (
        value.strip() if isinstance(value, str) else value))


def _negative(value: Any) -> bool:
    number = to_decimal(value) if isinstance(value, str) else None
    return number is not None and number < 0


def require_text(value: str | None, field: str, *, max_len: int = 10_000) -> str:
    """A single required free-text argument (a comment, a reason), stripped."""
    checker = Fields({field: value})
    text = checker.text(field, max_len=max_len)
    checker.check()
    return text
