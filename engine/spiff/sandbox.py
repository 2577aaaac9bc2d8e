"""Sandboxed evaluation of diagram expressions and scripts (RestrictedPython).

Every gateway condition, script task, timer expression, service parameter and DMN cell
runs through this module.  See ``../shared/notes/engine-risks.md`` for the threats.

* Policy (compile time, identical for ``check_source`` and for runs): RestrictedPython's
  transformer, plus no imports, classes, ``global``, ``with``, ``print``, slice assignment
  or bytes literals, and no risky attribute names.  A bare ``except:`` becomes
  ``except Exception:``.  A ``_tick_()`` call opens every loop, function and lambda body.
  ``** * << + %``, f-string fields and starred displays go through guards that refuse
  oversized results before building them.
* Clock: a thread-local deadline.  Once it has passed, every tick raises ``_Interrupted``,
  a ``BaseException`` that scripts cannot name or catch.  A run's ``_tick_`` lives in its
  globals, which are emptied when it ends: code of a finished run that wakes up later (a
  generator finalized by the garbage collector) finds the builtins' ``_tick_``, which
  stops it at once, whatever else that thread is running.
* Data: only the variables the code names are copied in.  Only those it assigned or changed
  go back, as plain JSON, all or nothing.
"""

from __future__ import annotations

import ast
import builtins
import json
import math
import operator
import re
import threading
import types
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from functools import lru_cache
from time import monotonic
from typing import Any, Literal, NamedTuple

from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
)
from RestrictedPython.transformer import (
    INSPECT_ATTRIBUTES,
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.spiff.script_helpers import make_helpers

__all__ = [
    "NonJsonValue",
    "SandboxEnvironment",
    "SandboxError",
    "SandboxLimitError",
    "SandboxLimits",
    "SandboxTimeout",
    "SandboxedScriptEngine",
    "check_source",
    "to_json_value",
]

Mode = Literal["eval", "exec"]
FILENAME = "<sandbox>"
MAX_SOURCE_CHARS = 100_000
MAX_DEPTH = 100  # nesting levels of task data
TICK_EVERY = 32  # items between deadline checks while iterating


@dataclass(frozen=True)
class SandboxLimits:
    """Time and size limits of one sandbox."""

    condition_seconds: float = 0.2  # evaluate(): gateway conditions, timers, DMN cells, params
    script_seconds: float = 2.0  # execute(): script tasks, pre/post scripts
    max_int_bits: int = 4096 * 8  # results of ** * << capped
    max_items: int = 1_000_000  # sequence/str repetition and range sizes capped


DEFAULT_LIMITS = SandboxLimits()


class SandboxError(Exception):
    """A problem the sandbox reports; the message is written for the diagram's author."""

    line_number: int | None = None


class SandboxTimeout(SandboxError):
    """The code ran past its time limit."""


class SandboxLimitError(SandboxError):
    """A result would have been too large (integer bits, items, characters)."""


class NonJsonValue(SandboxError):
    """A value that is not plain JSON data; the message names the variable path."""


class _Interrupted(BaseException):
    """Raised by every tick past the deadline; scripts can neither name nor catch it."""


# --- policy ---------------------------------------------------------------------------

DENIED_ATTRIBUTES = INSPECT_ATTRIBUTES | {
    "format", "format_map", "ljust", "rjust", "center", "zfill", "expandtabs",
    "translate", "encode", "to_bytes", "mro",
}  # fmt: skip
_UNCATCHABLE = {"BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit"}
_CHECKED_OPS = {ast.Pow: "_pow_", ast.Mult: "_mul_", ast.LShift: "_lshift_",
                ast.Add: "_add_", ast.Mod: "_mod_"}  # fmt: skip


def _call(func: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(func, ast.Load()), args=args, keywords=[])
    copy_locations(node, where)
    return node


class SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, tightened and instrumented for PMOflow (see module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[tuple[int | None, str]] = []
        self.names: set[str] = set()
        self.assigned: set[str] = set()

    def error(self, node: ast.AST, info: str) -> None:
        self.problems.append((getattr(node, "lineno", None), info))

    def visit_Import(self, node: ast.AST) -> ast.AST:
        self.error(node, "import statements are not allowed; use the provided helper functions")
        return node

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed; use dicts and lists")
        return node

    def visit_Global(self, node: ast.Global) -> ast.AST:
        self.error(node, "global statements are not allowed")
        return node

    def visit_With(self, node: ast.With) -> ast.AST:
        self.error(node, "with statements are not allowed")
        return node

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, bytes):
            self.error(node, "bytes literals are not allowed; task data is text")
        return super().visit_Constant(node)

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in ("print", "printed"):
            self.error(node, "print() is not available in scripts")
            return node
        self.names.add(node.id)
        if not isinstance(node.ctx, ast.Load):
            self.assigned.add(node.id)
        return super().visit_Name(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr in DENIED_ATTRIBUTES - INSPECT_ATTRIBUTES:
            hint = " (use f-strings for formatting)" if "format" in node.attr else ""
            self.error(node, f'".{node.attr}" is not allowed in scripts{hint}')
        return super().visit_Attribute(node)

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        if isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):
            self.error(node, "slice assignment is not allowed")
        return super().visit_Subscript(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        func = _CHECKED_OPS.get(type(node.op))
        return node if func is None else _call(func, [node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """``d[k] += v`` becomes a guarded read, a bounded in-place op and a guarded write."""
        target = node.target
        if not isinstance(target, ast.Subscript) or isinstance(target.slice, ast.Slice):
            return super().visit_AugAssign(node)
        obj, key = self.gen_tmp_name(), self.gen_tmp_name()
        value, index = self.visit(target.value), self.visit(target.slice)
        old = _call("_getitem_", [ast.Name(obj, ast.Load()), ast.Name(key, ast.Load())], node)
        op = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        new = _call("_inplacevar_", [op, old, self.visit(node.value)], node)
        slot = ast.Subscript(_call("_write_", [ast.Name(obj, ast.Load())], node),
                             ast.Name(key, ast.Load()), ast.Store())  # fmt: skip
        statements = [ast.Assign(targets=[ast.Name(obj, ast.Store())], value=value),
                      ast.Assign(targets=[ast.Name(key, ast.Store())], value=index),
                      ast.Assign(targets=[slot], value=new)]  # fmt: skip
        for statement in statements:
            copy_locations(statement, node)
        return statements

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = self.node_contents_visit(node)
        spec = node.format_spec or ast.Constant("")
        node.value = _call("_format_", [node.value, ast.Constant(node.conversion), spec], node)
        node.conversion, node.format_spec = -1, None
        return node

    def _sized_display(self, node: ast.List | ast.Tuple) -> Any:
        node = self.node_contents_visit(node)
        starred = any(isinstance(elt, ast.Starred) for elt in node.elts)
        if starred and isinstance(node.ctx, ast.Load):
            return _call("_sized_", [node], node)
        return node

    visit_List = visit_Tuple = _sized_display

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        if node.type is None:
            node.type = ast.Name("Exception", ast.Load())
            copy_locations(node.type, node)
        for name in ast.walk(node.type):
            if isinstance(name, ast.Name) and name.id in _UNCATCHABLE:
                self.error(node, f"catching {name.id} is not allowed")
        return super().visit_ExceptHandler(node)

    def _ticked(self, node: Any) -> Any:
        tick = ast.Expr(_call("_tick_", [], node.body[0]))
        copy_locations(tick, node.body[0])
        node.body.insert(0, tick)
        return node

    def visit_While(self, node: ast.While) -> Any:
        return self._ticked(super().visit_While(node))

    def visit_For(self, node: ast.For) -> Any:
        return self._ticked(super().visit_For(node))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        return self._ticked(super().visit_FunctionDef(node))

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)
        body = ast.BoolOp(op=ast.Or(), values=[_call("_tick_", [], node.body), node.body])
        copy_locations(body, node.body)
        node.body = body
        return node


class _Compiled(NamedTuple):
    code: types.CodeType | None
    mode: str
    names: frozenset[str]  # every variable name the code mentions
    assigned: frozenset[str]  # names it stores or deletes
    problem: tuple[int | None, str] | None


@lru_cache(maxsize=4096)
def _compile(source: str, mode: Mode) -> _Compiled:
    """Compile under the sandbox policy (cached per source and mode)."""
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    nothing: frozenset[str] = frozenset()
    if len(source) > MAX_SOURCE_CHARS:
        return _Compiled(None, mode, nothing, nothing, (None, "the code is too long"))
    policy = SandboxPolicy()
    try:
        tree = policy.visit(ast.parse(source, FILENAME, mode))
        if policy.problems:
            first = min(policy.problems, key=lambda p: (p[0] is None, p[0] or 0))
            return _Compiled(None, mode, nothing, nothing, first)
        code = compile(tree, FILENAME, mode, dont_inherit=True)
    except SyntaxError as exc:
        return _Compiled(None, mode, nothing, nothing, (exc.lineno, f"SyntaxError: {exc.msg}"))
    except (RecursionError, MemoryError, ValueError):
        return _Compiled(None, mode, nothing, nothing, (None, "the code is nested too deeply"))
    return _Compiled(code, mode, frozenset(policy.names), frozenset(policy.assigned), None)


def check_source(source: str, mode: Literal["eval", "exec"]) -> tuple[int | None, str] | None:
    """Compile ``source`` under the sandbox policy without running it.

    Returns ``None`` when it compiles, else ``(line, message)`` describing the first
    problem (a syntax error or a construct the sandbox forbids, such as ``import``).
    """
    return _compile(source, mode).problem


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
        if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 and (
            b > self.bits or b * math.log2(abs(a)) > self.bits
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

    def _replace(self, text: str | bytes) -> Callable:
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


# --- data -------------------------------------------------------------------------------


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


def _sandbox_line(exc: BaseException) -> int | None:
    """The line of the sandboxed code where ``exc`` was raised, if known."""
    line = getattr(exc, "line_number", None)
    if line:
        return line
    if isinstance(exc, SyntaxError) and exc.filename == FILENAME:
        return exc.lineno
    tb, found = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            found = tb.tb_lineno
        tb = tb.tb_next
    return found


# --- environment and engine -------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that runs diagram code in the sandbox.

    ``helpers`` are exposed to scripts by name; ``None`` means ``make_helpers`` with the
    UTC wall clock, ``{}`` means none.  Task data shadows helpers of the same name.
    """

    def __init__(
        self, limits: SandboxLimits = DEFAULT_LIMITS, helpers: Mapping[str, Callable] | None = None
    ) -> None:
        super().__init__({})
        self.limits = limits
        chosen = make_helpers(_utc_now) if helpers is None else helpers
        self._builtins = _builtins_for(limits, chosen)

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        """Evaluate an expression against a private copy of ``context``; return JSON data."""
        compiled = self._compiled(expression, "eval")
        scope = self._scope(compiled, context, external_context)
        try:
            result = self._run(compiled, scope, self.limits.condition_seconds)
        finally:
            scope.clear()
        return to_json_value(result, "the result", max_items=self.limits.max_items)

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        """Run a script; store the variables it assigned or changed (and its deletions)."""
        compiled = self._compiled(script, "exec")
        scope = self._scope(compiled, context, external_context)
        try:
            self._run(compiled, scope, self.limits.script_seconds)
            updates, deletions = self._changes(compiled, scope, context, external_context or {})
        finally:
            scope.clear()
        context.update(updates)
        for name in deletions:
            del context[name]
        return True

    def call_service(self, context: dict, **kwargs: Any) -> Any:
        """Service calls go through ``SandboxedScriptEngine.call_service``."""
        raise NotImplementedError("use SandboxedScriptEngine(services=...)")

    @staticmethod
    def _compiled(source: str, mode: Mode) -> _Compiled:
        if not isinstance(source, str):
            raise SandboxError("the code must be a string")
        compiled = _compile(source, mode)
        if compiled.problem is not None:
            line, message = compiled.problem
            error = SandboxError(f"line {line}: {message}" if line else message)
            error.line_number = line
            raise error
        return compiled

    def _scope(self, compiled: _Compiled, context: Mapping, external: Mapping | None) -> dict:
        scope: dict[str, Any] = {"__builtins__": self._builtins, "_tick_": _tick_}
        for name in compiled.names:
            if name in context:
                value = context[name]
            elif external and name in external:
                value = external[name]
            else:
                continue
            try:
                scope[name] = _copy_in(value)
            except _Bad as bad:
                raise SandboxError(f"task data {name!r} {bad.problem}") from None
            except RecursionError:
                raise SandboxError(f"task data {name!r} is nested too deeply") from None
        return scope

    def _run(self, compiled: _Compiled, scope: dict, seconds: float) -> Any:
        previous = _clock.deadline
        deadline = monotonic() + seconds
        _clock.deadline = min(deadline, previous) if previous else deadline
        try:
            return eval(compiled.code, scope)
        except BaseException as exc:
            error = _translate(exc, seconds)
            if error is exc:
                raise
            raise error from None
        finally:
            _clock.deadline = previous

    def _changes(
        self, compiled: _Compiled, scope: dict, context: Mapping, external: Mapping
    ) -> tuple[dict[str, Any], list[str]]:
        updates: dict[str, Any] = {}
        deletions: list[str] = []
        for name in sorted(compiled.names):
            if name not in scope:
                if name in context:
                    deletions.append(name)
                continue
            value = scope[name]
            if _script_function(value):
                continue
            if name not in compiled.assigned:
                if name not in context or _same(value, context[name]):
                    continue
            elif name not in context and name in external and _same(value, external[name]):
                continue
            updates[name] = to_json_value(value, name, max_items=self.limits.max_items)
        return updates, deletions


def _translate(exc: BaseException, seconds: float) -> BaseException:
    """What a run's failure looks like to callers (the sandbox's own errors carry a line)."""
    if isinstance(exc, _Interrupted):
        return _located(SandboxTimeout(f"time limit of {seconds:g} s exceeded"), exc)
    if isinstance(exc, RecursionError):
        return _located(SandboxError("too much recursion"), exc)
    if isinstance(exc, MemoryError):
        return _located(SandboxLimitError("out of memory"), exc)
    if isinstance(exc, SandboxError):
        return _located(exc, exc)
    if isinstance(exc, (Exception, KeyboardInterrupt, SystemExit)):
        return exc  # the script's own error, or a genuine interrupt of this process
    return _located(SandboxError(f"stopped by {type(exc).__name__}"), exc)


def _located(error: SandboxError, cause: BaseException) -> SandboxError:
    """Attach the sandboxed line where ``cause`` happened to ``error`` (and its message)."""
    if error.line_number is None:
        error.line_number = _sandbox_line(cause)
        if error.line_number and error is not cause:
            error.args = (f"{error.args[0]} (line {error.line_number})",)
    return error


class SandboxedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine running everything in a ``SandboxEnvironment``.

    Errors come back as ``WorkflowTaskException`` carrying the task (element), the line,
    the cause as ``__cause__``/``__context__``, and a readable message.  ``services`` is
    called as ``services(task, operation_name, operation_params)`` for service tasks,
    where the params are SpiffWorkflow's ``{name: {"value": ..., "type": ...}}``.
    """

    def __init__(
        self,
        limits: SandboxLimits = DEFAULT_LIMITS,
        helpers: Mapping[str, Callable] | None = None,
        services: Callable[[Any, str, dict], Any] | None = None,
    ) -> None:
        super().__init__(environment=SandboxEnvironment(limits, helpers))
        self.services = services

    def evaluate(self, task: Any, expression: str, external_context: dict | None = None) -> Any:
        """Evaluate ``expression`` against ``task.data``."""
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as exc:
            exc.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as exc:
            raise _task_error(task, expression, exc, script=False) from exc

    def execute(self, task: Any, script: str, external_context: dict | None = None) -> bool:
        """Run ``script`` against ``task.data`` (updated in place on success only)."""
        try:
            return self.environment.execute(script, task.data, external_context)
        except SpiffWorkflowException:
            raise
        except Exception as exc:
            raise _task_error(task, script, exc, script=True) from exc

    def call_service(self, task: Any, **kwargs: Any) -> str:
        """Call the configured service handler; return its result as a JSON string."""
        name = kwargs.get("operation_name")
        if self.services is None:
            raise WorkflowTaskException(f"no service handler for operation {name!r}", task=task)
        try:
            result = self.services(task, name, kwargs.get("operation_params") or {})
            return json.dumps(to_json_value(result, "the service result"))
        except SpiffWorkflowException:
            raise
        except Exception as exc:
            message = f"service {name!r} failed: {exc}"
            raise WorkflowTaskException(message, task=task, exception=exc) from exc


def _task_error(task: Any, source: str, exc: Exception, script: bool) -> WorkflowTaskException:
    line = _sandbox_line(exc)
    lines = source.splitlines()
    error_line = lines[line - 1] if line and 0 < line <= len(lines) else ""
    detail = str(exc) if isinstance(exc, SandboxError) else f"{type(exc).__name__}: {exc}"
    if script:
        message = f"script error on line {line}: {detail}" if line else f"script error: {detail}"
    else:
        shown = source if len(source) <= 200 else source[:197] + "..."
        message = f"error evaluating expression {shown!r}: {detail}"
    return WorkflowTaskException(
        message, task=task, exception=exc, line_number=line, error_line=error_line
    )
