"""The engine's error hierarchy.

Every failure the engine reports to a caller is one of these.  Each carries a message
written for the person who caused it (a process owner, a reviewer, an operator), and the
web layer maps the classes to HTTP answers in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""

    #: HTTP-ish status the web layer uses when it translates the error.
    status = 400


class NotFound(EngineError):
    """An id or key that names nothing (process key, instance, task, user)."""

    status = 404


class Forbidden(EngineError):
    """The actor may not do this (wrong role, four-eyes rule, not the assignee)."""

    status = 403


class Conflict(EngineError):
    """Someone else changed the same thing first (optimistic lock lost, task taken)."""

    status = 409


class NotReady(Conflict):
    """The task exists but cannot be worked on now (already completed, cancelled...)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a diagram, decision table or form file.

    ``element_id``/``element_name``/``line`` are filled in whenever they can be known.
    """

    file: str
    message: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        """One line: ``file:line: element_id 'name': message``."""
        where = self.file + (f":{self.line}" if self.line else "")
        what = ""
        if self.element_id:
            what = f" {self.element_id}"
            if self.element_name:
                what += f" '{_one_line(self.element_name)}'"
            what += ":"
        return f"{where}:{what} {_one_line(self.message)}"

    def to_dict(self) -> dict[str, object]:
        """Plain-dict form, for JSON answers and templates."""
        return {
            "file": self.file,
            "line": self.line,
            "element_id": self.element_id,
            "element_name": self.element_name,
            "message": self.message,
        }


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class InvalidDiagram(EngineError):
    """A deployment was refused; ``problems`` lists everything that is wrong."""

    status = 422

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        head = f"{len(self.problems)} problem(s) found"
        super().__init__(head + ":\n" + "\n".join(str(p) for p in self.problems))


class InvalidData(EngineError):
    """Submitted data failed validation; ``errors`` maps a field path to its message."""

    status = 422

    def __init__(self, errors: Mapping[str, str], message: str | None = None):
        self.errors = dict(errors)
        text = message or "; ".join(f"{k or '(form)'}: {v}" for k, v in self.errors.items())
        super().__init__(text)


class TaskFailed(EngineError):
    """An expression, script, decision or service call failed while the engine ran.

    Nothing was saved: the unit of work rolled back.
    """

    status = 422

    def __init__(
        self,
        message: str,
        *,
        element_id: str | None = None,
        element_name: str | None = None,
        line: int | None = None,
        error_type: str | None = None,
        source_line: str | None = None,
    ):
        self.element_id = element_id
        self.element_name = element_name
        self.line = line
        self.error_type = error_type
        self.source_line = source_line
        where = ""
        if element_id:
            where = f"element {element_id}"
            if element_name:
                where += f" '{element_name}'"
            if line:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)
        self.detail = message


class WorkflowStalled(TaskFailed):
    """The engine stopped without reaching an end event and with nothing left to do."""


class StateError(EngineError):
    """A saved instance state cannot be loaded (unknown serializer version, corrupt)."""

    status = 500


class InstanceChanged(Conflict):
    """Someone else saved the instance between this action's read and its write.

    Not the user's conflict: the engine retries the action on fresh state (see
    :mod:`engine.retry`); it reaches a caller only when retries run out.
    """


class Busy(Conflict):
    """The database stayed busy (locks, serialization failures) through every retry."""
