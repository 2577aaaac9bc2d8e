"""Run-time support of sandboxed code: the clock, the size guards and the builtins.

Clock: a thread-local deadline.  Once it has passed, every tick raises ``_Interrupted``.
The builtins table built here maps ``_tick_`` to ``_stale_tick_``; a run puts the live
``_tick_`` into its own globals (see ``environment.py``), so code of a finished run, whose
globals have been emptied, falls back to the builtins' ``_tick_`` and stops at once.
"""

from __future__ import annotations

import builtins
import math
import operator
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from time import monotonic
from typing import Any, AnyStr

from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
)

from engine.spiff.sandbox.limits import (
    TICK_EVERY,
    SandboxError,
    SandboxLimitError,
    SandboxLimits,
    _Interrupted,
)
from engine.spiff.sandbox.policy import DENIED_ATTRIBUTES

# --- clock ------------------------------------------------------------------------------


class _Clock(threading.local):
    deadline = 0.0  # 0 outside a run: stray ticks (e.g. late generator finalizers) stop


_clock = _Clock()


def _tick_() -> None:
    if monotonic() > _clock.deadline:
        raise _Interrupted


def _stale_tick_() -> None:
    raise _Interrupted  # sandboxed code outlived its run


def _ticking(iterable: Any) -> Iterator[Any]:
    count = 0
    for item in iterable:
        count += 1
        if count == TICK_EVERY:
            count = 0
            _tick_()
        yield item


def _getiter_(ob: Any) -> Any:
    _tick_()
    if type(ob) in (tuple, str, range, dict, set) and len(ob) <= TICK_EVERY:
        return ob  # fixed size (dict/set refuse resizing while iterated)
    return _ticking(ob)


# --- guards -----------------------------------------------------------------------------

_SEQUENCES = (str, list, tuple, bytes)
_SIZED = (str, list, tuple, bytes, dict, set, frozenset, range)
_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
            "/=": operator.itruediv, "//=": operator.ifloordiv, "%=": operator.imod,
            "**=": operator.ipow, "<<=": operator.ilshift, ">>=": operator.irshift,
            "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
            "@=": operator.imatmul}  # fmt: skip
_CONVERSIONS: dict[int, Callable[[Any], str]] = {115: str, 114: repr, 97: ascii}


def _checked(op: Callable[[Any, Any], Any], check: Callable[[Any, Any], None]) -> Callable:
    def guarded(a: Any, b: Any) -> Any:
        check(a, b)
        return op(a, b)

    return guarded


def _sum(iterable: Any, /, start: Any = 0) -> Any:
    if not isinstance(start, (int, float)):
        raise SandboxError("sum() only adds numbers")
    return sum(iterable, start)


def _apply_(func: Callable, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


class _Guards:
    """Run-time guards bound to one set of size limits."""

    def __init__(self, limits: SandboxLimits) -> None:
        self.bits, self.items = limits.max_int_bits, limits.max_items
        self.checks = {"+=": self.check_add, "*=": self.check_mul, "**=": self.check_pow,
                       "<<=": self.check_lshift, "%=": self.check_mod}  # fmt: skip

    def refuse_int(self) -> None:
        raise SandboxLimitError(f"the result would exceed {self.bits} bits")

    def check_size(self, size: int, what: str = "the result") -> None:
        if size > self.items:
            raise SandboxLimitError(f"{what} would exceed {self.items} items")

    def check_pow(self, a: Any, b: Any) -> None:
        if (
            isinstance(a, int)
            and isinstance(b, int)
            and b > 0
            and abs(a) > 1
            and (b > self.bits or b * math.log2(abs(a)) > self.bits)
        ):
            self.refuse_int()

    def check_mul(self, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int):
            if a.bit_length() + b.bit_length() > self.bits:
                self.refuse_int()
        elif isinstance(a, _SEQUENCES) and isinstance(b, int):
            self.check_size(len(a) * b)
        elif isinstance(b, _SEQUENCES) and isinstance(a, int):
            self.check_size(len(b) * a)

    def check_lshift(self, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int) and a and a.bit_length() + b > self.bits:
            self.refuse_int()

    def check_add(self, a: Any, b: Any) -> None:
        if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            self.check_size(len(a) + len(b))

    def check_mod(self, a: Any, b: Any) -> None:
        if isinstance(a, str):
            for field in _PRINTF_FIELD.finditer(a):
                for number in field.groups():
                    if number == "*" or (number and self._big(number)):
                        raise SandboxLimitError("%-format widths must be small numbers")

    def _big(self, digits: str) -> bool:
        return len(digits) > 9 or int(digits) > self.items

    def format(self, value: Any, conversion: int, spec: str) -> str:
        if conversion in _CONVERSIONS:
            value = _CONVERSIONS[conversion](value)
        if any(self._big(digits) for digits in _DIGITS.findall(spec)):
            raise SandboxLimitError("format widths must be small numbers")
        text = builtins.format(value, spec)
        self.check_size(len(text), "the formatted text")
        return text

    def sized(self, value: Any) -> Any:
        self.check_size(len(value))
        return value

    def range(self, *args: Any) -> range:
        span = range(*args)
        try:
            self.check_size(len(span), "range()")
        except OverflowError:
            self.check_size(self.items + 1, "range()")
        return span

    def round(self, number: Any, ndigits: Any = None) -> Any:
        if isinstance(ndigits, int) and abs(ndigits) > 1000:
            raise SandboxLimitError("round() accepts at most 1000 digits")
        return round(number, ndigits)

    def zip(self, *iterables: Any, strict: bool = False) -> Any:
        if iterables and all(isinstance(it, _SIZED) for it in iterables):
            self.check_size(min(map(len, iterables)) * len(iterables), "zip()")
        return zip(*iterables, strict=strict)

    def inplace(self, op: str, target: Any, value: Any) -> Any:
        check = self.checks.get(op)
        if check is not None:
            check(target, value)
        return _INPLACE[op](target, value)

    def getattr(self, obj: Any, name: str) -> Any:
        if type(name) is not str or name.startswith("_") or name in DENIED_ATTRIBUTES:
            raise SandboxError(f"access to attribute {name!r} is not allowed")
        if type(obj) in (str, bytes) and name in ("join", "replace"):
            return self._join(obj) if name == "join" else self._replace(obj)
        if type(obj) is list and name == "extend":
            return self._extend(obj)
        if isinstance(obj, type) and name in ("join", "replace", "extend"):
            raise SandboxError(f"call .{name}() on a value, not on the type")
        return getattr(obj, name)

    def _join(self, sep: str | bytes) -> Callable:
        def join(iterable: Any, /) -> str | bytes:
            parts = list(iterable)
            with suppress(TypeError):  # str.join reports a non-string item itself
                self.check_size(sum(map(len, parts)) + len(sep) * max(len(parts) - 1, 0))
            return sep.join(parts)

        return join

    def _replace(self, text: AnyStr) -> Callable:
        def replace(old: Any, new: Any, count: Any = -1, /) -> str | bytes:
            if type(old) is type(new) is type(text) and len(new) > len(old):
                hits = text.count(old) if old else len(text) + 1
                if isinstance(count, int) and count >= 0:
                    hits = min(hits, count)
                self.check_size(len(text) + hits * (len(new) - len(old)))
            return text.replace(old, new, count)

        return replace

    def _extend(self, target: list) -> Callable:
        def extend(iterable: Any, /) -> None:
            items = iterable if isinstance(iterable, _SIZED) else list(iterable)
            self.check_size(len(target) + len(items))
            target.extend(items)

        return extend


_PLAIN_BUILTINS = ("abs", "all", "any", "bool", "dict", "enumerate", "filter", "float", "int",
                   "isinstance", "len", "list", "map", "max", "min", "reversed", "set",
                   "sorted", "str", "tuple", "ArithmeticError", "AttributeError", "Exception",
                   "IndexError", "KeyError", "LookupError", "TypeError", "ValueError",
                   "ZeroDivisionError")  # fmt: skip


def _builtins_for(limits: SandboxLimits, helpers: Mapping[str, Callable]) -> dict[str, Any]:
    g = _Guards(limits)
    table: dict[str, Any] = {name: getattr(builtins, name) for name in _PLAIN_BUILTINS}
    table.update(range=g.range, round=g.round, sum=_sum, zip=g.zip)
    table.update(
        _getattr_=g.getattr, _getitem_=operator.getitem, _getiter_=_getiter_,
        _write_=full_write_guard, _inplacevar_=g.inplace, _apply_=_apply_, _tick_=_stale_tick_,
        _iter_unpack_sequence_=guarded_iter_unpack_sequence,
        _unpack_sequence_=guarded_unpack_sequence, _format_=g.format, _sized_=g.sized,
        _pow_=_checked(operator.pow, g.check_pow), _mul_=_checked(operator.mul, g.check_mul),
        _lshift_=_checked(operator.lshift, g.check_lshift),
        _add_=_checked(operator.add, g.check_add), _mod_=_checked(operator.mod, g.check_mod),
    )  # fmt: skip
    for name, helper in helpers.items():
        if not name.isidentifier() or name.startswith("_") or not callable(helper):
            raise ValueError(f"invalid script helper {name!r}")
        table[name] = helper
    return table
