"""The engine's public surface: one object, a handful of verbs, plain dataclasses back.

Every verb takes the SQLAlchemy ``Session`` to work in (the web app passes Flask-
SQLAlchemy's, the CLI and worker their own) and runs as one unit of work.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import (
    attachments,
    definitions,
    identity,
    instances,
    notifications,
    running,
    tasks,
    tokens,
)
from engine.clock import Clock, SystemClock
from engine.errors import InvalidDiagram
from engine.jobs import runner
from engine.services import ServiceRegistry
from engine.spiff.bundle import SourceFile
from engine.spiff.sandbox import SandboxLimits
from engine.spiff.script_helpers import make_helpers
from engine.spiff.xmlsafe import DEFAULT_MAX_BYTES
from engine.store.models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance
from engine.store.uow import unit_of_work
from engine.views import (
    AuditView,
    DefinitionView,
    DeployResult,
    FireReport,
    InstanceView,
    JobView,
    TaskView,
)


class DataViews(NamedTuple):
    """An instance's data, one task's view of it, and the visited elements."""

    data: dict[str, Any]
    task_data: dict[str, Any] | None
    visited: dict[str, int]


@dataclass(frozen=True)
class EngineSettings:
    """Limits and knobs; the application's Config fills these in."""

    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    max_element_visits: int = 5000
    max_diagram_bytes: int = DEFAULT_MAX_BYTES
    job_max_attempts: int = 5
    job_backoff_seconds: float = 30.0
    spec_cache_size: int = 128
    max_attachment_bytes: int = 10 * 1024 * 1024


class Engine:
    """Deploy, start, list tasks, claim, complete, cancel, fire timers, read history."""

    def __init__(self, *, clock: Clock | None = None, settings: EngineSettings | None = None,
                 services: ServiceRegistry | None = None):
        self.clock = clock or SystemClock()
        self.settings = settings or EngineSettings()
        self.services = services or ServiceRegistry()
        self.cache = definitions.SpecCache(self.settings.spec_cache_size)
        self.helpers = make_helpers(self.clock.now)

    # ------------------------------------------------------------------ definitions

    def check_context(self, session: Session | None) -> definitions.CheckContext:
        """What new diagrams may refer to (deployed processes, decisions, roles, glue)."""
        if session is None:
            return definitions.CheckContext(
                known_operations=self.services.names(), max_bytes=self.settings.max_diagram_bytes
            )
        roles = identity.role_keys(session) or None
        return definitions.check_context(
            session, operations=self.services.names(), roles=roles,
            max_bytes=self.settings.max_diagram_bytes,
        )

    def validate(self, session: Session | None, files: Sequence[SourceFile]) -> list:
        """Every problem in ``files`` (empty when deployable). Stores nothing."""
        ctx = self.check_context(session)
        if session is not None:
            session.rollback()  # only reads happened; do not hold them during analysis
        return definitions.validate(files, ctx)

    def deploy(self, session: Session, files: Sequence[SourceFile], actor: str
               ) -> DeployResult:
        """Validate and store new versions; raises :class:`InvalidDiagram` with problems."""
        with unit_of_work(session):
            ctx = self.check_context(session)
            return definitions.deploy(session, files, actor=actor, now=self.clock.now(),
                                      ctx=ctx, cache=self.cache)

    def definitions(self, session: Session, *, all_versions: bool = False
                    ) -> list[DefinitionView]:
        """Deployed processes (newest active versions, or every version)."""
        q = select(ProcessDefinition)
        if not all_versions:
            q = q.where(ProcessDefinition.active.is_(True))
        rows = session.scalars(q.order_by(ProcessDefinition.key,
                                          ProcessDefinition.version.desc()))
        return [definitions.definition_view(r) for r in rows]

    def definition_source(self, session: Session, definition_id: int) -> str:
        """The BPMN XML of a deployed version, as uploaded (for the diagram viewer)."""
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise instances.NotFound(f"no process definition {definition_id}")
        return row.source

    def form_schema(self, session: Session, definition_id: int, form: str | None
                    ) -> dict[str, Any] | None:
        """The JSON Schema frozen with a process version, or None."""
        if not form:
            return None
        try:
            snapshot = self.cache.definition(session, definition_id)
        except instances.NotFound:
            return None
        return copy.deepcopy(snapshot.forms.get(form))

    # ------------------------------------------------------------------ instances

    def start(self, session: Session, process_key: str, actor: str,
              data: Mapping[str, Any] | None = None, *, business_key: str | None = None,
              title: str = "", project_id: int | None = None) -> InstanceView:
        """Start the newest active version of a process as ``actor``."""
        return instances.start(self, session, process_key, actor, data,
                               business_key=business_key, title=title, project_id=project_id)

    def complete(self, session: Session, task_id: int, actor: str,
                 data: Mapping[str, Any] | None = None) -> InstanceView:
        """Complete a human task with form data."""
        return instances.complete(self, session, task_id, actor, data)

    def cancel(self, session: Session, instance_id: int, actor: str, reason: str, *,
               kind: str = "cancelled") -> InstanceView:
        """Stop a running instance with a reason (``kind``: cancelled or withdrawn).

        The process's ``onCancel`` glue runs in the same transaction.
        """
        if kind not in ("cancelled", "withdrawn"):
            raise instances.InvalidData({"kind": "Choose cancelled or withdrawn."})
        return instances.cancel(self, session, instance_id, actor, reason, kind=kind)

    def instance(self, session: Session, instance_id: int) -> InstanceView:
        """An instance from its indexed row."""
        return instances.read_instance_view(self, session, instance_id)

    def instances(self, session: Session, *, started_by: str | None = None,
                  status: str | None = None, process_key: str | None = None,
                  limit: int = 100) -> list[InstanceView]:
        """Instances, newest first (no workflow state is read)."""
        q = select(ProcessInstance)
        if started_by:
            q = q.where(ProcessInstance.started_by == started_by)
        if status:
            q = q.where(ProcessInstance.status == status)
        if process_key:
            q = q.where(ProcessInstance.process_key == process_key)
        found = session.scalars(q.order_by(ProcessInstance.id.desc()).limit(limit)).all()
        return [instances.read_instance_view(self, session, r.id) for r in found]

    def instance_data(self, session: Session, instance_id: int, *,
                      task_id: int | None = None) -> dict[str, Any]:
        """The instance's current data (deserializes this one instance).

        With ``task_id`` (a human task of the instance) the data as that task sees it.
        Otherwise the data of the waiting user tasks wins over older copies held by
        timers and other waiting events.
        """
        views = self.instance_and_task_data(session, instance_id, task_id)
        return views.data if views.task_data is None else views.task_data

    def instance_and_task_data(self, session: Session, instance_id: int,
                               task_id: int | None) -> DataViews:
        """The instance's current data, the data as task ``task_id`` sees it (``None``
        without one, or if it is not a task of this instance any more) and the visited
        elements: what a task page needs, from one read and one deserialization."""
        from engine.spiff.serializer import load_envelope_visits

        inst = instances.get_instance(session, instance_id)
        visited = load_envelope_visits(inst.state)
        loaded = running.load(self, session, inst, "system", self.clock.now())
        wf = loaded.workflow
        seen = None
        if task_id is not None:
            row = session.get(HumanTask, task_id)
            task = (wf.get_task_from_id(uuid.UUID(row.spiff_task_id))
                    if row is not None and row.instance_id == instance_id else None)
            if task is not None:
                seen = copy.deepcopy(task.data)
        if wf.completed:
            return DataViews(copy.deepcopy(wf.data), seen, visited)
        merged: dict[str, Any] = {}
        waiting = wf.get_tasks(state=TaskState.WAITING | TaskState.STARTED, max_depth=10**9)
        ready = wf.get_tasks(state=TaskState.READY, max_depth=10**9)
        for t in [*waiting, *ready]:  # later wins: what people work on now
            # A branch waiting at a join holds no data of its own yet: take what it brought.
            merged.update(t.data or (t.parent.data if t.parent is not None else {}))
        return DataViews(copy.deepcopy(merged or wf.task_tree.data), seen, visited)

    def visited_elements(self, session: Session, instance_id: int) -> dict[str, int]:
        """Element id -> how many times it completed (for highlighting the diagram)."""
        from engine.spiff.serializer import load_envelope_visits

        inst = instances.get_instance(session, instance_id)
        return load_envelope_visits(inst.state)

    def history(self, session: Session, instance_id: int) -> list[AuditView]:
        """The audit trail of one instance, oldest first."""
        found = [audit_view(r) for r in session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id)
            .order_by(AuditEvent.at, AuditEvent.id))]
        if not found:  # every instance has a "started" event: is there one at all?
            instances.get_instance(session, instance_id)
        return found

    # ------------------------------------------------------------------ tasks

    def tasks(self, session: Session, username: str | None,
              query: tasks.TaskQuery | None = None) -> tuple[list[TaskView], int]:
        """Inbox query: (tasks, total) for ``username``."""
        return tasks.list_tasks(self, session, username, query or tasks.TaskQuery())

    def task(self, session: Session, task_id: int, username: str | None = None) -> TaskView:
        """One task (checked against ``username``'s access when given)."""
        return tasks.get_task(self, session, task_id, username)

    def task_counts(self, session: Session, username: str) -> dict[str, int]:
        """{"mine": n, "claimable": m} for the navigation bar."""
        return tasks.counts(self, session, username)

    def claim(self, session: Session, task_id: int, username: str) -> TaskView:
        """Claim an open task."""
        return tasks.claim(self, session, task_id, username)

    def unclaim(self, session: Session, task_id: int, username: str) -> TaskView:
        """Return a claimed task to its pool."""
        return tasks.unclaim(self, session, task_id, username)

    def delegate(self, session: Session, task_id: int, username: str, to_user: str,
                 reason: str, *, admin: bool = False) -> TaskView:
        """Hand a task to someone, with a reason."""
        return tasks.delegate(self, session, task_id, username, to_user, reason, admin=admin)

    def save_draft(self, session: Session, task_id: int, username: str,
                   data: Mapping[str, Any]) -> TaskView:
        """Keep unfinished form input on a task."""
        return tasks.save_draft(self, session, task_id, username, data)

    # ------------------------------------------------------------------ attachments

    def add_attachment(self, session: Session, actor: str, filename: str, content_type: str,
                       data: bytes) -> attachments.AttachmentView:
        """Store an uploaded file for a form the actor is filling in."""
        with unit_of_work(session):
            return attachments.add(session, actor=actor, filename=filename,
                                   content_type=content_type, data=data,
                                   now=self.clock.now(),
                                   max_bytes=self.settings.max_attachment_bytes)

    def attachment(self, session: Session, attachment_id: int, username: str
                   ) -> tuple[attachments.AttachmentView, bytes]:
        """A file and its bytes, for its uploader or anyone who may see its instance."""
        from engine.reads import may_view_instance

        meta, data = attachments.get(session, attachment_id)
        if meta.uploaded_by == username:
            return meta, data
        if meta.instance_id is not None:
            inst = session.get(ProcessInstance, meta.instance_id)
            if inst is not None and may_view_instance(self, session, username, inst):
                return meta, data
        raise instances.Forbidden("you have no access to this file")

    # ------------------------------------------------------------------ notifications

    def notifications(self, session: Session, username: str, *, unread_only: bool = False,
                      limit: int = 20) -> list[notifications.NotificationView]:
        """A person's notifications, newest first."""
        return notifications.for_user(session, username, unread_only=unread_only, limit=limit)

    def nav_counts(self, session: Session, username: str) -> dict[str, int]:
        """{"mine", "claimable", "unread"}: the navigation bar's badges, one statement."""
        return tasks.nav_counts(self, session, username)

    def unread_notifications(self, session: Session, username: str) -> int:
        """The bell's count."""
        return notifications.unread_count(session, username)

    def mark_notifications_read(self, session: Session, username: str,
                                ids: Sequence[int] | None = None) -> int:
        """Mark some (or all) of a person's notifications read."""
        with unit_of_work(session):
            return notifications.mark_read(session, username, ids, self.clock.now())

    # ------------------------------------------------------------------ jobs

    def fire_due_jobs(self, session: Session, *, limit: int = 100) -> FireReport:
        """Fire timers (and later other jobs) that are due by the engine clock."""
        return runner.fire_due_jobs(self, session, limit=limit)

    def jobs(self, session: Session, *, status: str | None = None,
             instance_id: int | None = None) -> list[JobView]:
        """Scheduled jobs."""
        return runner.list_jobs(session, status=status, instance_id=instance_id)

    def retry_job(self, session: Session, job_id: int, actor: str) -> JobView:
        """Re-queue a failed job."""
        return runner.retry_job(self, session, job_id, actor)

    # ------------------------------------------------------------------ API tokens

    def create_token(self, session: Session, username: str, *, name: str = "",
                     expires_in: timedelta | None = None) -> tokens.NewToken:
        """A personal API token for ``username``; the secret is returned only here."""
        return tokens.create(session, username, name=name, now=self.clock.now(),
                             expires_in=expires_in)

    def api_tokens(self, session: Session, username: str | None = None
                   ) -> list[tokens.TokenView]:
        """API tokens of ``username`` (everyone's with None), newest first."""
        return tokens.list_tokens(session, username)

    def revoke_token(self, session: Session, token_id: int, actor: str | None
                     ) -> tokens.TokenView:
        """Revoke a token (its owner or a PMO administrator; None: an operator)."""
        return tokens.revoke(session, token_id, actor, self.clock.now())

    def authenticate_token(self, session: Session, secret: str) -> str | None:
        """The active user a token secret belongs to, or None."""
        return tokens.authenticate(session, secret, self.clock.now())


def audit_view(row: AuditEvent) -> AuditView:
    """Dataclass view of an audit row."""
    return AuditView(id=row.id, instance_id=row.instance_id, at=row.at, actor=row.actor,
                     kind=row.kind, element_id=row.element_id, element_name=row.element_name,
                     human_task_id=row.human_task_id, outcome=row.outcome, reason=row.reason,
                     detail=row.detail or {})


__all__ = ["Engine", "EngineSettings", "InvalidDiagram", "SourceFile"]
