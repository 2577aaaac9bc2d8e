"""Sandboxed evaluation of diagram expressions and scripts (RestrictedPython).

Every gateway condition, script task, timer expression, service parameter and DMN cell
runs through this package.  See ``../shared/notes/engine-risks.md`` for the threats.

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

Modules: ``limits`` (limits, constants, errors), ``policy`` (compile-time policy,
``check_source``), ``guards`` (clock, run-time guards, builtins), ``data`` (copy-in and
JSON write-back), ``environment`` (script environment and engine, error translation).
"""

from engine.spiff.sandbox.data import to_json_value
from engine.spiff.sandbox.environment import SandboxedScriptEngine, SandboxEnvironment
from engine.spiff.sandbox.limits import (
    NonJsonValue,
    SandboxError,
    SandboxLimitError,
    SandboxLimits,
    SandboxTimeout,
)
from engine.spiff.sandbox.policy import _compile as _compile
from engine.spiff.sandbox.policy import check_source

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
