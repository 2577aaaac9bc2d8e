"""The engine's public surface: one object, a handful of verbs, plain dataclasses back.

Every verb takes the SQLAlchemy ``Session`` to work in (the web app passes Flask-
SQLAlchemy's, the CLI and worker their own).  A verb that writes runs as one unit of work
(see :mod:`engine.store.uow`); the modules that carry the verbs out receive the engine's
:class:`~engine.context.EngineContext` and never import this module back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine import (
    access,
    attachments,
    definitions,
    doctor,
    housekeeping,
    identity,
    instance_data,
    instances,
    notifications,
    tasks,
    tokens,
)
from engine.clock import Clock, SystemClock
from engine.context import EngineContext
from engine.definitions import SpecCache
from engine.errors import (
    FieldError,
    Forbidden,
    InvalidData,
    InvalidDiagram,
    NotFound,
    Problem,
    StateError,
)
from engine.forms import validate_form
from engine.jobs import runner
from engine.services import ServiceRegistry
from engine.settings import EngineSettings
from engine.spiff.bundle import SourceFile
from engine.spiff.layout import with_layout
from engine.store import rows
from engine.store.models import AuditEvent, ProcessDefinition, ProcessInstance
from engine.store.uow import read_only, unit_of_work
from engine.tasks import SORTS, TaskQuery
from engine.views import (
    AttachmentView,
    AuditView,
    DataViews,
    DefinitionView,
    DeployResult,
    DoctorReport,
    FireReport,
    IncidentView,
    InstanceView,
    JobView,
    NewToken,
    NotificationView,
    RepairResult,
    TaskView,
    TokenView,
    UserView,
    audit_view,
)

#: How task lists can be sorted (``TaskQuery.sort``).
TASK_SORTS: tuple[str, ...] = tuple(SORTS)
#: What :meth:`Engine.repair` can do to an instance.
REPAIR_ACTIONS: tuple[str, ...] = ("rerun", "cancel")


class Engine:
    """Deploy, start, list tasks, claim, complete, cancel, fire timers, read history."""

    def __init__(self, *, clock: Clock | None = None, settings: EngineSettings | None = None,
                 services: ServiceRegistry | None = None):
        self.ctx = EngineContext(clock=clock or SystemClock(),
                                 settings=settings or EngineSettings(),
                                 services=services or ServiceRegistry())

    @property
    def clock(self) -> Clock:
        """The engine's clock (every time it records or compares)."""
        return self.ctx.clock

    @property
    def settings(self) -> EngineSettings:
        """The engine's limits."""
        return self.ctx.settings

    @property
    def services(self) -> ServiceRegistry:
        """The glue operations service tasks may call (register more on it)."""
        return self.ctx.services

    @property
    def cache(self) -> SpecCache:
        """Parsed specs and definition snapshots by version."""
        return self.ctx.cache

    # ------------------------------------------------------------------ definitions

    def check_context(self, session: Session | None) -> definitions.CheckContext:
        """What new diagrams may refer to (deployed processes, decisions, roles, glue)."""
        services = self.ctx.services
        if session is None:
            return definitions.CheckContext(
                known_operations=services.names(), max_bytes=self.settings.max_diagram_bytes
            )
        roles = identity.role_keys(session) or None
        return definitions.check_context(
            session, operations=services.names(), roles=roles,
            max_bytes=self.settings.max_diagram_bytes,
        )

    def validate(self, session: Session | None, files: Sequence[SourceFile], *,
                 actor: str | None = None) -> list[Problem]:
        """Every problem in ``files`` (empty when deployable): exactly the checks
        :meth:`deploy` makes, against what ``session``'s database holds. Stores nothing.

        With ``actor``, only a process owner may ask (:class:`Forbidden`).
        """
        if session is None:
            return definitions.validate(files, self.check_context(None))
        with read_only(session):
            if actor is not None:
                access.require_process_owner(session, actor)
            ctx = self.check_context(session)
        return definitions.validate(files, ctx)

    def deploy(self, session: Session, files: Sequence[SourceFile], actor: str, *,
               check_role: bool = False) -> DeployResult:
        """Validate and store new versions; raises :class:`InvalidDiagram` with problems.

        ``check_role``: refuse unless ``actor`` is a process owner (what people asking
        through the web or the API get; operators and the demo seed deploy as ``actor``
        without it).
        """
        with unit_of_work(session):
            if check_role:
                access.require_process_owner(session, actor)
            ctx = self.check_context(session)
            return definitions.deploy(session, files, actor=actor, now=self.clock.now(),
                                      ctx=ctx, cache=self.cache)

    def definitions(self, session: Session, *, all_versions: bool = False
                    ) -> list[DefinitionView]:
        """Deployed processes (newest active versions, or every version)."""
        q = select(ProcessDefinition)
        if not all_versions:
            q = q.where(ProcessDefinition.active.is_(True))
        found = session.scalars(q.order_by(ProcessDefinition.key,
                                           ProcessDefinition.version.desc()))
        return [definitions.definition_view(r) for r in found]

    def definition_source(self, session: Session, definition_id: int) -> str:
        """The BPMN XML of a deployed version, as uploaded."""
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(f"no process definition {definition_id}",
                               code="definition.not_found", definition_id=definition_id)
        return row.source

    def diagram(self, session: Session, definition_id: int) -> str:
        """The BPMN XML of a deployed version for a viewer: as uploaded, with a generated
        drawing when the file has none."""
        return with_layout(self.definition_source(session, definition_id))

    def form_schema(self, session: Session, definition_id: int, form: str | None
                    ) -> dict[str, Any] | None:
        """The JSON Schema frozen with a process version, or None."""
        if not form:
            return None
        try:
            snapshot = self.cache.definition(session, definition_id)
        except NotFound:
            return None
        return copy.deepcopy(snapshot.forms.get(form))

    @staticmethod
    def validate_form(schema: Mapping[str, Any] | None, data: Mapping[str, Any]) -> None:
        """Check form data against a schema (:class:`InvalidData` with errors per field)."""
        validate_form(schema, data)

    # ------------------------------------------------------------------ instances

    def start(self, session: Session, process_key: str, actor: str,
              data: Mapping[str, Any] | None = None, *, business_key: str | None = None,
              title: str = "", project_id: int | None = None) -> InstanceView:
        """Start the newest active version of a process as ``actor``."""
        return instances.start(self.ctx, session, process_key, actor, data,
                               business_key=business_key, title=title, project_id=project_id)

    def complete(self, session: Session, task_id: int, actor: str,
                 data: Mapping[str, Any] | None = None) -> InstanceView:
        """Complete a human task with form data."""
        return instances.complete(self.ctx, session, task_id, actor, data)

    def cancel(self, session: Session, instance_id: int, actor: str, reason: str, *,
               kind: str = "cancelled") -> InstanceView:
        """Stop a running instance with a reason (``kind``: cancelled or withdrawn).

        The process's ``onCancel`` glue runs in the same transaction.
        """
        if kind not in ("cancelled", "withdrawn"):
            raise InvalidData({"kind": FieldError(
                "Choose cancelled or withdrawn.", "input.choice", field="kind",
                allowed="cancelled, withdrawn")})
        return instances.cancel(self.ctx, session, instance_id, actor, reason, kind=kind)

    def withdraw(self, session: Session, instance_id: int, username: str, reason: str
                 ) -> InstanceView:
        """Withdraw a running request: only the person who started it may."""
        with read_only(session):
            access.require_starter(session, instance_id, username)
        return self.cancel(session, instance_id, username, reason)

    def instance(self, session: Session, instance_id: int) -> InstanceView:
        """An instance from its indexed row."""
        return instances.read_instance_view(self.ctx, session, instance_id)

    def instances(self, session: Session, *, started_by: str | None = None,
                  status: str | None = None, process_key: str | None = None,
                  limit: int = 100) -> list[InstanceView]:
        """Instances, newest first (no workflow state is read)."""
        q = select(ProcessInstance.id)
        if started_by:
            q = q.where(ProcessInstance.started_by == started_by)
        if status:
            q = q.where(ProcessInstance.status == status)
        if process_key:
            q = q.where(ProcessInstance.process_key == process_key)
        found = session.scalars(q.order_by(ProcessInstance.id.desc()).limit(limit)).all()
        return [instances.read_instance_view(self.ctx, session, i) for i in found]

    def instance_and_task_data(self, session: Session, instance_id: int,
                               task_id: int | None) -> DataViews:
        """The instance's current data, the data as task ``task_id`` sees it (``None``
        without one, or if it is not a task of this instance any more) and the visited
        elements: what a task page needs, from one read and one deserialization."""
        return instance_data.data_views(self.ctx, session, instance_id, task_id)

    def history(self, session: Session, instance_id: int) -> list[AuditView]:
        """The audit trail of one instance, oldest first."""
        found = [audit_view(r) for r in session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id)
            .order_by(AuditEvent.at, AuditEvent.id))]
        if not found:  # every instance has a "started" event: is there one at all?
            rows.require_instance(session, instance_id)
        return found

    # ------------------------------------------------------------------ tasks

    def tasks(self, session: Session, username: str | None,
              query: TaskQuery | None = None) -> tuple[list[TaskView], int]:
        """Inbox query: (tasks, total) for ``username``."""
        return tasks.list_tasks(self.ctx, session, username, query or TaskQuery())

    def task(self, session: Session, task_id: int, username: str | None = None) -> TaskView:
        """One task (checked against ``username``'s access when given)."""
        return tasks.get_task(self.ctx, session, task_id, username)

    def claim(self, session: Session, task_id: int, username: str) -> TaskView:
        """Claim an open task."""
        return tasks.claim(self.ctx, session, task_id, username)

    def unclaim(self, session: Session, task_id: int, username: str) -> TaskView:
        """Return a claimed task to its pool."""
        return tasks.unclaim(self.ctx, session, task_id, username)

    def delegate(self, session: Session, task_id: int, username: str, to_user: str,
                 reason: str, *, admin: bool = False) -> TaskView:
        """Hand a task to someone, with a reason."""
        return tasks.delegate(self.ctx, session, task_id, username, to_user, reason,
                              admin=admin)

    def reassign(self, session: Session, task_id: int, admin: str, to_user: str,
                 reason: str) -> TaskView:
        """Give anyone's open task to a named person, with a reason (PMO administrators)."""
        with read_only(session):
            access.require_admin(session, admin)
        return tasks.delegate(self.ctx, session, task_id, admin, to_user, reason, admin=True)

    def save_draft(self, session: Session, task_id: int, username: str,
                   data: Mapping[str, Any]) -> TaskView:
        """Keep unfinished form input on a task."""
        return tasks.save_draft(self.ctx, session, task_id, username, data)

    # ------------------------------------------------------------------ people

    def authenticate(self, session: Session, username: str, password: str
                     ) -> UserView | None:
        """The active user whose password this is, or None (never says which part was
        wrong)."""
        with read_only(session):
            user = identity.check_password(session, username, password)
            return identity.user_view(session, user) if user is not None else None

    def user(self, session: Session, username: str) -> UserView:
        """A user with their global and project roles (:class:`NotFound` if none)."""
        with read_only(session):
            return identity.user_view(session, identity.get_user(session, username))

    def active_user(self, session: Session, user_id: int) -> UserView | None:
        """The active user with this id, or None (what a signed-in session refers to)."""
        return identity.active_user(session, user_id, self.clock.now())

    def set_locale(self, session: Session, username: str, locale: str) -> None:
        """Remember ``username``'s language (``en`` or ``zh``)."""
        if locale not in identity.LOCALES:
            allowed = ", ".join(sorted(identity.LOCALES))
            raise InvalidData({"lang": FieldError(f"Choose one of: {allowed}.", "input.choice",
                                                  field="lang", allowed=allowed)})
        with unit_of_work(session):
            identity.get_user(session, username).locale = locale

    # ------------------------------------------------------------------ attachments

    def add_attachment(self, session: Session, actor: str, filename: str, data: bytes
                       ) -> AttachmentView:
        """Store an uploaded file for a form the actor is filling in; its type is sniffed
        from the bytes, its name cleaned, the uploader's quota of unattached bytes
        enforced (:class:`InvalidData` on field ``file``)."""
        with unit_of_work(session):
            return attachments.add(session, actor=actor, filename=filename, data=data,
                                   now=self.clock.now(),
                                   max_bytes=self.settings.max_attachment_bytes,
                                   quota_bytes=self.settings.upload_quota_bytes)

    def attachment(self, session: Session, attachment_id: int, username: str
                   ) -> tuple[AttachmentView, bytes]:
        """A file and its bytes, for its uploader or anyone who may see its instance."""
        meta, data = attachments.get(session, attachment_id)
        if meta.uploaded_by == username:
            return meta, data
        if meta.instance_id is not None:
            inst = session.get(ProcessInstance, meta.instance_id)
            if inst is not None and access.may_view_instance(session, username, inst,
                                                             self.clock.now()):
                return meta, data
        raise Forbidden("you have no access to this file", code="access.no_access",
                        attachment_id=attachment_id)

    # ------------------------------------------------------------------ notifications

    def notifications(self, session: Session, username: str, *, unread_only: bool = False,
                      limit: int = 20) -> list[NotificationView]:
        """A person's notifications, newest first."""
        return notifications.for_user(session, username, unread_only=unread_only, limit=limit)

    def nav_counts(self, session: Session, username: str) -> dict[str, int]:
        """{"mine", "claimable", "unread"}: the navigation bar's badges, one statement."""
        return tasks.nav_counts(self.ctx, session, username)

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
        return runner.fire_due_jobs(self.ctx, session, limit=limit)

    def work(self, sessions: Callable[[], Session], *, poll_seconds: float = 1.0,
             stop: Callable[[], bool] = lambda: False,
             log: Callable[[str], None] = print) -> None:
        """Fire due jobs until ``stop()`` says so (the worker process or thread); every
        so often also run the doctor and delete old unattached uploads (settings)."""
        chores = housekeeping.Housekeeping(self.ctx, sessions, log)
        runner.worker_loop(self.ctx, sessions, poll_seconds=poll_seconds, stop=stop, log=log,
                           each_pass=chores.run_due)

    def jobs(self, session: Session, *, status: str | None = None,
             instance_id: int | None = None) -> list[JobView]:
        """Scheduled jobs."""
        return runner.list_jobs(session, status=status, instance_id=instance_id)

    def retry_job(self, session: Session, job_id: int, actor: str) -> JobView:
        """Re-queue a failed job."""
        return runner.retry_job(self.ctx, session, job_id, actor)

    # ------------------------------------------------------------------ API tokens

    def create_token(self, session: Session, username: str, *, name: str = "",
                     expires_in: timedelta | None = None) -> NewToken:
        """A personal API token for ``username``; the secret is returned only here."""
        return tokens.create(session, username, name=name, now=self.clock.now(),
                             expires_in=expires_in)

    def api_tokens(self, session: Session, username: str | None = None
                   ) -> list[TokenView]:
        """API tokens of ``username`` (everyone's with None), newest first."""
        return tokens.list_tokens(session, username)

    def revoke_token(self, session: Session, token_id: int, actor: str | None
                     ) -> TokenView:
        """Revoke a token (its owner or a PMO administrator; None: an operator)."""
        return tokens.revoke(session, token_id, actor, self.clock.now())

    def authenticate_token(self, session: Session, secret: str) -> str | None:
        """The active user a token secret belongs to, or None."""
        return tokens.authenticate(session, secret, self.clock.now())


    # ------------------------------------------------------------------ doctor and incidents

    def doctor(self, session: Session, *, keep: bool = True, offset: int = 0,
               limit: int | None = None) -> DoctorReport:
        """Find stranded instances, task and job rows out of step with the saved state,
        jobs of finished instances and jobs that failed for good.

        ``keep``: turn each finding into an incident (one open incident per problem) and
        resolve incidents whose problem is gone.  ``offset``/``limit`` choose which running
        instances (by id) are read; incidents are cleared only after a whole pass.
        """
        return doctor.run(self.ctx, session, keep=keep, offset=offset, limit=limit)

    def incidents(self, session: Session, open_only: bool = True, *,
                  instance_id: int | None = None, limit: int = 200) -> list[IncidentView]:
        """Incidents (open ones, or all), newest first."""
        with read_only(session):
            return doctor.list_incidents(session, open_only=open_only,
                                         instance_id=instance_id, limit=limit)

    def repair(self, session: Session, instance_id: int, actor: str, action: str = "rerun",
               reason: str = "", *, check_role: bool = False) -> RepairResult:
        """Repair an instance and resolve its incidents, audited as ``repaired``.

        ``rerun``: run its engine steps and bring task rows and jobs back in step with the
        saved state (failed jobs are queued again).  ``cancel``: cancel it with a reason
        through :meth:`cancel` (rows only when its state no longer loads).  An instance
        that is over only loses its leftover jobs.  ``check_role``: only a PMO
        administrator may (what the web pages ask for).
        """
        if action not in REPAIR_ACTIONS:
            allowed = ", ".join(REPAIR_ACTIONS)
            raise InvalidData({"action": FieldError(f"Choose one of: {allowed}.", "input.choice",
                                                    field="action", allowed=allowed)})
        if check_role:
            with read_only(session):
                if access.ADMIN_ROLE not in identity.global_roles(session, actor):
                    raise Forbidden("only a PMO administrator may repair instances",
                                    code="access.admin_only", role="pmo_admin")
        reason = (reason or "").strip()
        if action == "rerun":
            return doctor.rerun(self.ctx, session, instance_id, actor, reason)
        if not reason:
            raise InvalidData({"reason": FieldError("Give a reason for cancelling.",
                                                    "input.reason_required", field="reason")})
        with read_only(session):
            running = rows.require_instance(session, instance_id).status == "running"
        if running:
            try:
                instances.cancel(self.ctx, session, instance_id, actor, reason)
            except StateError:
                doctor.force_cancel(self.ctx, session, instance_id, actor, reason)
        return doctor.after_cancel(self.ctx, session, instance_id, actor, reason)

    def ping(self, session: Session) -> None:
        """Ask the database for one row (a health check); raises the driver's error when
        it cannot answer."""
        with read_only(session):
            session.execute(text("SELECT 1")).scalar_one()

    def purge_unlinked_uploads(self, session: Session) -> int:
        """Delete uploads no request holds that are older than the settings allow (except
        those a saved draft refers to); returns how many."""
        return housekeeping.purge_uploads(self.ctx, session)


__all__ = ["REPAIR_ACTIONS", "TASK_SORTS", "Engine", "EngineSettings", "InvalidDiagram",
           "SourceFile", "TaskQuery"]
