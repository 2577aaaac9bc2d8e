"""Task data in and out of the sandbox: private copies in, plain JSON back."""

from __future__ import annotations

import math
import operator
import types
import uuid
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from typing import Any

from engine.spiff.sandbox.limits import (
    DEFAULT_LIMITS,
    FILENAME,
    MAX_DEPTH,
    NonJsonValue,
    SandboxLimitError,
)


class _Bad(Exception):
    def __init__(self, problem: str, limit: bool = False) -> None:
        super().__init__(problem)
        self.problem, self.limit, self.path = problem, limit, list[str]()


def _key(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def to_json_value(value: Any, path: str = "", *, max_items: int = DEFAULT_LIMITS.max_items) -> Any:
    """Return ``value`` as plain JSON data (a new structure; tuples become lists).

    Anything else (sets, bytes, objects, callables, modules, subclasses of dict/str/list,
    NaN/infinity, non-string keys) raises ``NonJsonValue`` naming the path, e.g.
    ``result['x'][2]``.  More than ``max_items`` items or ``16 * max_items`` characters
    of text raises ``SandboxLimitError``.
    """
    budget = [max_items, 16 * max_items]
    try:
        return _plain(value, budget, 0)
    except _Bad as bad:
        where = (path or "value") + "".join(reversed(bad.path))
        if bad.limit:
            raise SandboxLimitError(f"{where} is too large to store as task data") from None
        raise NonJsonValue(f"{where} {bad.problem}") from None
    except RecursionError:
        raise NonJsonValue(f"{path or 'value'} is nested too deeply") from None


def _plain(value: Any, budget: list[int], depth: int) -> Any:
    kind = type(value)
    if kind is str:
        budget[1] -= len(value)
        if budget[1] < 0:
            raise _Bad("too much text", limit=True)
        return value
    if value is None or kind is bool or kind is int:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        raise _Bad(f"is {value!r}, which is not a finite number")
    if kind is not dict and kind is not list and kind is not tuple:
        raise _Bad(f"is a {kind.__name__}, which is not plain JSON data")
    if depth >= MAX_DEPTH:
        raise _Bad(f"is nested more than {MAX_DEPTH} levels deep")
    budget[0] -= len(value)
    if budget[0] < 0:
        raise _Bad("too many items", limit=True)
    if kind is dict:
        return _plain_dict(value, budget, depth + 1)
    out = []
    for index, item in enumerate(value):
        try:
            out.append(_plain(item, budget, depth + 1))
        except _Bad as bad:
            bad.path.append(f"[{index}]")
            raise
    return out


def _plain_dict(value: dict, budget: list[int], depth: int) -> dict[str, Any]:
    out = {}
    for key, item in value.items():
        if type(key) is not str:
            raise _Bad(f"has the non-string key {_key(key)}")
        try:
            out[key] = _plain(item, budget, depth)
        except _Bad as bad:
            bad.path.append(f"[{_key(key)}]")
            raise
    return out


_IMMUTABLE = frozenset({str, int, float, bool, type(None), date, datetime, time_of_day,
                        timedelta, uuid.UUID})  # fmt: skip


def _copy_in(value: Any) -> Any:
    """A private copy of task data for one run, in exact builtin types; refuses objects."""
    if type(value) in _IMMUTABLE:
        return value
    if isinstance(value, dict):
        return {key: _copy_in(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_in(item) for item in value]
    if isinstance(value, tuple):
        return tuple(map(_copy_in, value))
    if isinstance(value, (set, frozenset)):
        return (frozenset if isinstance(value, frozenset) else set)(map(_copy_in, value))
    if isinstance(value, str):
        return str.__str__(value)  # e.g. a StrEnum member: its plain text
    if isinstance(value, int) and not isinstance(value, bool):
        return operator.index(value)
    raise _Bad(f"holds a {type(value).__name__}, which scripts may not use")


def _kind(value: Any) -> type:
    return dict if isinstance(value, dict) else list if isinstance(value, list) else type(value)


def _same(new: Any, old: Any) -> bool:
    """Whether a variable still holds its original value (``_copy_in`` plain-ifies dicts)."""
    try:
        return new is old or (_kind(new) is _kind(old) and bool(new == old))
    except RecursionError:
        return False


def _script_function(value: Any) -> bool:
    return type(value) is types.FunctionType and value.__code__.co_filename == FILENAME
