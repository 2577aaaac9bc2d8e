"""The SpiffWorkflow script environment and engine that run diagram code in the sandbox.

Each run gets fresh globals holding the live ``_tick_`` and private copies of the
variables its code names; they are emptied when the run ends.  Failures are translated
into the sandbox's errors (carrying the sandboxed line) or ``WorkflowTaskException``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from time import monotonic
from typing import Any, cast

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.spiff.sandbox.data import _Bad, _copy_in, _same, _script_function, to_json_value
from engine.spiff.sandbox.guards import _builtins_for, _clock, _tick_
from engine.spiff.sandbox.limits import (
    DEFAULT_LIMITS,
    FILENAME,
    Mode,
    SandboxError,
    SandboxLimitError,
    SandboxLimits,
    SandboxTimeout,
    _Interrupted,
)
from engine.spiff.sandbox.policy import _compile, _Compiled
from engine.spiff.script_helpers import make_helpers


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
        assert compiled.code is not None, "_compiled() raised for code that did not compile"
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
        # SpiffWorkflow's service task always passes the operator's name (deploy checks it)
        name = cast(str, kwargs.get("operation_name"))
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
