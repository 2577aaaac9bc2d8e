"""The engine's tables (plain SQLAlchemy 2.0; no Flask).

``webui`` binds Flask-SQLAlchemy to :data:`Base.metadata`; Alembic reads it too.  Every
datetime is stored as naive UTC and comes back timezone-aware (:class:`UTCDateTime`).
People are referred to by username, which never changes once created.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of the engine's tables."""

    if TYPE_CHECKING:  # every model here maps a plain Table (SQLAlchemy says FromClause)
        __table__: ClassVar[Table]

    metadata = MetaData(naming_convention=NAMING)


# --------------------------------------------------------------------------- identity


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    #: IANA time zone name (``Asia/Shanghai``); None: the site's default.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    #: ``immediate`` (None: the same) or ``digest`` (one mail a day).
    mail_mode: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Part of the signed-in id (``"id:version"``): raising it ends every session and
    #: remember-me cookie of the user (sign-out, password change, deactivation).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Failed sign-ins since the last successful one (for the optional lockout).
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: When too many failed sign-ins locked the account (None: not locked).
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SlaDefault(Base):
    """How long a step may take when its diagram gives no ``sla``: set by a PMO admin per
    process key and element id (a number of working days or an ISO duration)."""

    __tablename__ = "sla_defaults"
    __table_args__ = (UniqueConstraint("process_key", "element_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(200))
    duration: Mapped[str] = mapped_column(String(40))
    #: The second period after the SLA before the PMO head hears of it (None: one
    #: working day; see :mod:`engine.sla_reminders`).
    escalate_after: Mapped[str | None] = mapped_column(String(40))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CalendarDay(Base):
    """A day the PMO set apart in the business calendar: an extra holiday or an extra
    working day (a make-up day), overriding the country calendar."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: "holiday" or "workday".
    kind: Mapped[str] = mapped_column(String(16))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InstallSetting(Base):
    """One install-wide value shared by web, worker and CLI (``demo``, the clock offset)."""

    __tablename__ = "install_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Role(Base):
    __tablename__ = "roles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: "global": any holder may act; "project": only holders for the task's project.
    scope: Mapped[str] = mapped_column(String(16), default="global")
    description: Mapped[str] = mapped_column(Text, default="")


class UserRole(Base):
    __tablename__ = "user_roles"

    username: Mapped[str] = mapped_column(
        ForeignKey("users.username", ondelete="CASCADE"), primary_key=True
    )
    role_key: Mapped[str] = mapped_column(
        ForeignKey("roles.key", ondelete="CASCADE"), primary_key=True, index=True
    )


class ProjectRole(Base):
    __tablename__ = "project_roles"
    __table_args__ = (
        UniqueConstraint("project_id", "username", "role_key"),
        # Every request reads the signed-in user's project roles.
        Index("ix_project_roles_username", "username", "role_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer, index=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"))
    role_key: Mapped[str] = mapped_column(ForeignKey("roles.key", ondelete="CASCADE"))


class Delegation(Base):
    """``from_user`` lets ``to_user`` act on their tasks between two instants."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_user: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    to_user: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: ``delegation`` (set by an admin) or ``out_of_office`` (set by the person: work
    #: assigned to them in the period goes to ``to_user``).
    kind: Mapped[str] = mapped_column(String(16), default="delegation", server_default="delegation")


# --------------------------------------------------------------------------- definitions


class ProcessDefinition(Base):
    """One deployed, immutable version of one executable BPMN process."""

    __tablename__ = "process_definitions"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        Index("ix_process_definitions_key_active", "key", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    file_name: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(Text)
    runtime_xml: Mapped[str] = mapped_column(Text)
    #: elements, start form, id map, references (decisions, called processes, forms...).
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: form name -> JSON Schema, frozen with this version.
    forms: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Why this version was deployed (required from the modeler; optional elsewhere).
    comment: Mapped[str | None] = mapped_column(Text)
    #: New instances start on this version from this instant (None: from deployment).
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProcessDraft(Base):
    """A process owner's unfinished diagram, kept on the server between visits."""

    __tablename__ = "process_drafts"
    __table_args__ = (UniqueConstraint("owner", "process_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"))
    #: The process the draft is for (its id in the XML): one draft per owner and process.
    process_key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    xml: Mapped[str] = mapped_column(Text)
    #: The deployed version the draft started from (None: a new or uploaded diagram).
    based_on: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CamundaImport(Base):
    """Camunda 7 files a process owner uploaded to convert, and the choices made so far
    (group -> role, service task -> operation); converted again on each visit."""

    __tablename__ = "camunda_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"))
    #: ``[{"name": file name, "content": base64 of the uploaded bytes}]``, as uploaded.
    files: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    #: Camunda group (or lane name) -> PMOflow role key.
    group_roles: Mapped[dict[str, str]] = mapped_column(JSON)
    #: Element id of a service-like task -> registered operation name.
    operations: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FormDraft(Base):
    """A task form a process owner saved in the form designer, not yet deployed: the
    next deployment from the modeler freezes it with the new process version (deployed
    versions keep their own copy, so running instances never see it change)."""

    __tablename__ = "form_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The file name diagrams refer to (``formJsonSchemaFilename``).
    name: Mapped[str] = mapped_column(String(200), unique=True)
    schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DecisionDefinition(Base):
    """One deployed, immutable version of a DMN decision (an approval rule table)."""

    __tablename__ = "decision_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    file_name: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: draft (editable, version 0 until published) | published | retired
    status: Mapped[str] = mapped_column(String(16), default="published", server_default="published")
    #: New instances bind to the newest version in effect (published, from this time).
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Why it was published (required when a PMO admin publishes).
    comment: Mapped[str | None] = mapped_column(Text)
    retired_by: Mapped[str | None] = mapped_column(String(64))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DecisionEvaluation(Base):
    """One run of a decision table by an instance: the input values it saw and what the
    table answered (what a what-if replays a draft over)."""

    __tablename__ = "decision_evaluations"
    __table_args__ = (Index("ix_decision_evaluations_key_at", "decision_key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    decision_key: Mapped[str] = mapped_column(String(200))
    definition_id: Mapped[int | None] = mapped_column(Integer)
    element_id: Mapped[str | None] = mapped_column(String(200))
    #: {"values": {input column id: value}, "context": {task data the outputs read}}
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: {"rows": [matched row numbers], "columns": {output name: [value per matched row]}}
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------- runtime


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_process_instances_status_key", "status", "process_key"),
        Index("ix_process_instances_started_by", "started_by", "status"),
        # Dashboards read instances by the period they started or ended in.
        Index(
            "ix_process_instances_started_at",
            "started_at",
            postgresql_include=["process_key", "status", "project_id", "ended_at"],
        ),
        Index(
            "ix_process_instances_ended_at",
            "ended_at",
            postgresql_include=["process_key", "status", "project_id", "started_at"],
        ),
        # The running instances a period started (beside the dashboard's summary).
        Index(
            "ix_process_instances_running_started",
            "started_at",
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
            postgresql_include=["process_key"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    project_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: running | completed | cancelled
    status: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    #: {"decisions": {key: definition id}, "processes": {key: definition id}}
    bindings: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Names of the steps waiting now, for lists that must not deserialize state.
    current_step: Mapped[str] = mapped_column(String(500), default="")
    #: The human steps completed so far (element ids, sorted, each once, joined by
    #: ``engine.rollup.STEP_SEP``; NULL: none): the instance's *variant* for the dashboard
    #: (which review steps an approval went through) without reading its tasks.
    steps_done: Mapped[str | None] = mapped_column(Text)


class HumanTask(Base):
    """A user task as the inbox sees it: the projection of a READY workflow task."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        UniqueConstraint("instance_id", "spiff_task_id"),
        Index("ix_human_tasks_status_role", "status", "role"),
        Index("ix_human_tasks_assignee_status", "assignee", "status"),
        Index("ix_human_tasks_due_at", "due_at"),
        Index("ix_human_tasks_instance_status", "instance_id", "status"),
        # A role's pool in the inbox's order (claimable lists and badges stop after a page).
        Index(
            "ix_human_tasks_pool_role_due",
            "role",
            "due_at",
            "id",
            sqlite_where=text("status = 'open' AND assignee IS NULL"),
            postgresql_where=text("status = 'open' AND assignee IS NULL"),
            postgresql_include=[
                "project_id",
                "four_eyes",
                "distinct_actors",
                "instance_id",
                "started_by",
            ],
        ),
        # The pools of project-scoped roles by project (a sponsor of 200 projects reads
        # their tasks, not the whole role's pool).
        Index(
            "ix_human_tasks_pool_project",
            "role",
            "project_id",
            "due_at",
            "id",
            sqlite_where=text("status = 'open' AND assignee IS NULL"),
            postgresql_where=text("status = 'open' AND assignee IS NULL"),
            postgresql_include=["four_eyes", "distinct_actors", "instance_id", "started_by"],
        ),
        # Someone's own open tasks in the inbox's order.
        Index(
            "ix_human_tasks_open_assignee_due",
            "assignee",
            "due_at",
            "id",
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        # The dashboard's open work by step, in step order (counts without a sort, and
        # each step's median age by its position).
        Index(
            "ix_human_tasks_open_step",
            "process_key",
            "element_id",
            "created_at",
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
            postgresql_include=["id", "due_at"],
        ),
        # The dashboard's open work of a period (beside the monthly summary).
        Index(
            "ix_human_tasks_open_created",
            "created_at",
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
            postgresql_include=["id", "process_key", "element_id", "role", "due_at"],
        ),
        # Dashboards read tasks by the period they opened in.
        Index(
            "ix_human_tasks_created_at",
            "created_at",
            postgresql_include=[
                "process_key",
                "element_id",
                "role",
                "status",
                "due_at",
                "completed_at",
                "project_id",
                "instance_id",
                "name",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    process_key: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(64))
    project_id: Mapped[int | None] = mapped_column(Integer)
    assignee: Mapped[str | None] = mapped_column(String(64))
    #: open | completed | cancelled
    status: Mapped[str] = mapped_column(String(16))
    form: Mapped[str | None] = mapped_column(String(300))
    #: The process version the form (and the step) belongs to: the instance's own, or a
    #: called process's for a step inside a call activity.
    form_definition_id: Mapped[int | None] = mapped_column(Integer)
    four_eyes: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Who started the request (a copy of the instance's ``started_by``, which never
    #: changes): the inbox tests four eyes on the task row, without reading the instance.
    started_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    #: For an instance of a multi-instance step: the step's run it belongs to (votes of
    #: one committee round share it; a vote after rework is a new round).
    multi_ref: Mapped[str | None] = mapped_column(String(36))
    #: The step is marked ``distinctActors`` (committee votes): nobody completes two of its
    #: instances in one run, so the inbox must not offer them the others.
    distinct_actors: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Job(Base):
    """Something due at a time: a timer, later SLA reminders, escalations, e-mail."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("instance_id", "kind", "task_ref"),
        Index("ix_jobs_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: timer (more kinds later: sla_reminder, sla_escalation, email)
    kind: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    task_ref: Mapped[str] = mapped_column(String(64), default="")
    element_id: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: pending | done | cancelled | failed (an incident a person can retry)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """Who did what, when, with which outcome and why."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_instance_at", "instance_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    #: started, task_completed, claimed, unclaimed, delegated, timer_fired, cancelled,
    #: completed, deployed, ...
    kind: Mapped[str] = mapped_column(String(32))
    element_id: Mapped[str | None] = mapped_column(String(200))
    element_name: Mapped[str | None] = mapped_column(String(300))
    human_task_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Incident(Base):
    """Something a person must look at: an instance the doctor found stranded or out of
    step with its saved state, a job of a finished instance, a job that failed for good.

    At most one open incident per ``key`` (what makes two findings the same problem): a
    finding seen again bumps ``last_seen_at`` and ``seen_count`` instead.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        Index(
            "ix_incidents_open_key",
            "key",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_incidents_status_opened_at", "status", "opened_at"),
        Index("ix_incidents_instance_id", "instance_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stranded | task_row_missing | task_row_stale | timer_job_missing |
    #: finished_instance_job | job_failed | state_unreadable
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    #: Stable code of the finding (``doctor.stranded``...), for clients and translations.
    code: Mapped[str] = mapped_column(String(64))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    job_id: Mapped[int | None] = mapped_column(Integer)
    human_task_id: Mapped[int | None] = mapped_column(Integer)
    #: One line of English saying what is wrong.
    detail: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: open | resolved
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_count: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    #: rerun | cancel | cleared (no longer found) | retried ... and the person's reason.
    resolution: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- messages


class Notification(Base):
    """An in-app message for one person (the bell), e.g. a task assigned to them."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_username_read_at", "username", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    #: assigned | decision | completed | escalation | reminder | lesson | withdrawn | info
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))
    instance_id: Mapped[int | None] = mapped_column(Integer)
    human_task_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: ``{"title": msgid, "body": msgid, "params": {...}}``: the words to show in the
    #: reader's language (``title``/``body`` are their English rendering, for old readers).
    message: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class OutboxMessage(Base):
    """An e-mail to send after the transaction that caused it committed."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_sent_at", "sent_at"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    notification_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: pending | sent | failed (a permanent failure, or out of attempts)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    #: The notification's kind and link (the mail's template and its button).
    kind: Mapped[str | None] = mapped_column(String(32))
    link: Mapped[str | None] = mapped_column(String(300))
    #: The address it went (or was to go) to, and its Message-ID, set when sent.
    to_address: Mapped[str | None] = mapped_column(String(320))
    message_id: Mapped[str | None] = mapped_column(String(200))
    #: No attempt before this instant (back-off after a failed attempt).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Attachment(Base):
    """A file uploaded with a form; task data refers to it by id."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Set when a submitted form refers to the file; then the instance's readers may read it.
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)


# --------------------------------------------------------------------------- API tokens


class ApiToken(Base):
    """A personal API token: only the SHA-256 of its secret is kept, plus a short
    non-secret prefix to show in lists and to find the row by."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(
        ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------- single sign-on


class SsoIdentity(Base):
    """A person as an OpenID provider knows them (``issuer`` + ``subject``), linked to the
    PMOflow user created at their first sign-in.  ``sso_roles`` are the global roles the
    last sign-in granted from the groups claim, so the next one replaces exactly those and
    leaves roles granted by hand alone."""

    __tablename__ = "sso_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    username: Mapped[str] = mapped_column(
        ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    sso_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sign_in_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SsoGroupRole(Base):
    """The administrator's mapping: members of ``group_name`` (as the provider's groups
    claim names it) hold the global role ``role_key``."""

    __tablename__ = "sso_group_roles"
    __table_args__ = (UniqueConstraint("group_name", "role_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(String(200))
    role_key: Mapped[str] = mapped_column(ForeignKey("roles.key", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SsoGroupSeen(Base):
    """A group some sign-in's claim named, so the administrator can map it."""

    __tablename__ = "sso_groups_seen"

    group_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InsightDuration(Base):
    """How many finished tasks or instances took so many tenths of a day, per month
    (:mod:`engine.rollup`; kept in the transaction that finishes the work)."""

    __tablename__ = "insight_durations"

    #: The first day of the month: of the task's creation, of the instance's end (UTC).
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    #: task | instance | variant (an instance by the steps it went through)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: The step ("" for an instance; the steps it went through for a variant).
    element_id: Mapped[str] = mapped_column(String(1000), primary_key=True)
    #: The step's role ("" for none, and for an instance).
    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: cal (calendar days) | work (working days)
    measure: Mapped[str] = mapped_column(String(4), primary_key=True)
    tenths: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)


class InsightCount(Base):
    """Per month, process, step and role: instances started and completed, tasks
    completed, completed with a due date and late, the newest task (:mod:`engine.rollup`)."""

    __tablename__ = "insight_counts"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(1000), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    started: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    with_due: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    #: The id of the newest completed task counted here (names the step).
    last_id: Mapped[int] = mapped_column(Integer, default=0)
