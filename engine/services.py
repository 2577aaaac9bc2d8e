"""Service-task operations: the glue functions a diagram's service tasks may call.

A service task names an operation (``<spiffworkflow:serviceTaskOperator id="name">``); the
engine looks it up here and calls it inside the running unit of work.  Operations are
registered explicitly by the process catalog (``workflows/``); deployment refuses a
diagram that names an operation nobody registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.notifications import Note, english, jsonable, message


class UnknownOperation(EngineError):
    """A service task named an operation that is not registered."""


@dataclass
class ServiceCall:
    """Everything a glue function may use. It must not open sessions of its own."""

    session: Session
    instance_id: int
    process_key: str
    element_id: str
    actor: str
    now: datetime
    params: dict[str, Any]
    data: dict[str, Any]
    project_id: int | None = None
    #: When the actor works for someone else (delegation): that person.
    on_behalf_of: str | None = None
    #: The install's business calendar (``engine.working_days.sla_due(now, sla, calendar)``).
    calendar: Any = None
    #: Set by :meth:`bind_project`; the engine copies it onto the instance and its tasks.
    bound_project_id: int | None = field(default=None, init=False)
    #: Set by :meth:`describe`; the engine copies them onto the instance row.
    title: str | None = field(default=None, init=False)
    business_key: str | None = field(default=None, init=False)
    #: Messages for the audit trail (``detail.notes``, in English).
    notes: list[str] = field(default_factory=list, init=False)
    #: The same messages as ``{"msg": msgid, "params": {...}}`` (``detail.note_keys``),
    #: shown in the reader's language; see :mod:`engine.notifications` for params.
    note_keys: list[dict[str, Any]] = field(default_factory=list, init=False)
    #: Notifications to write with the step (bell + e-mail outbox).
    notifications: list[Note] = field(default_factory=list, init=False)

    def notify(
        self,
        usernames: Iterable[str],
        title: str,
        body: str = "",
        *,
        kind: str = "info",
        link: str | None = None,
        params: dict[str, Any] | None = None,
        named: bool = False,
    ) -> None:
        """Tell people something (in-app and by e-mail) when this step commits.

        Only those who may see the request are told (the need-to-know policy,
        :func:`engine.access.audience`); ``named``: the process names these people on the
        request (e.g. the PMs of the projects an escalation affects), which lets them see
        it.

        With ``params``, ``title`` and ``body`` are message ids filled from them and shown
        in each reader's language (:mod:`engine.notifications`); without, fixed text.
        ``link`` defaults to the instance page.
        """
        self.notifications.append(
            Note(
                usernames=tuple(usernames),
                kind=kind,
                title=title if params is None else english(title, params),
                body=body if params is None else english(body, params),
                link=link or f"/instances/{self.instance_id}",
                instance_id=self.instance_id,
                message=None if params is None else message(title, body, params),
                named=named,
            )
        )

    def note(self, msgid: str, **params: Any) -> None:
        """Add a line to the step's audit entry: ``msgid`` (English, ``%(name)s``
        placeholders) filled from ``params``, shown in the reader's language."""
        self.notes.append(english(msgid, params))
        self.note_keys.append({"msg": msgid, "params": jsonable(params)})

    def describe(self, *, title: str | None = None, business_key: str | None = None) -> None:
        """Name the request in lists (title) and give it a business key (e.g. a code)."""
        if title is not None:
            self.title = " ".join(str(title).split())[:500]
        if business_key is not None:
            self.business_key = str(business_key)[:200]

    def bind_project(self, project_id: int) -> None:
        """Attach the instance to a project (for project-scoped roles and lists)."""
        self.bound_project_id = project_id
        self.project_id = project_id


Operation = Callable[[ServiceCall], Any]


class ServiceRegistry:
    """Name -> operation. Operations return JSON values (stored in task data)."""

    def __init__(self, operations: Iterable[tuple[str, Operation]] = ()):
        self._ops: dict[str, Operation] = {}
        for name, op in operations:
            self.register(name, op)

    def register(self, name: str, operation: Operation) -> None:
        """Add an operation; names are unique."""
        if name in self._ops:
            raise ValueError(f"service operation {name!r} is registered twice")
        self._ops[name] = operation

    def names(self) -> frozenset[str]:
        """Every registered operation name."""
        return frozenset(self._ops)

    def call(self, name: str, call: ServiceCall) -> Any:
        """Run an operation; unknown names raise :class:`UnknownOperation`."""
        op = self._ops.get(name)
        if op is None:
            raise UnknownOperation(
                f"no service operation named {name!r} is registered",
                code="service.unknown_operation",
                name=name,
            )
        return op(call)
