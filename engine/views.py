"""Plain dataclasses the engine returns (never ORM rows or SpiffWorkflow objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple


@dataclass(frozen=True)
class DefinitionView:
    """A deployed process version."""

    id: int
    key: str
    version: int
    name: str
    file_name: str
    content_hash: str
    deployed_by: str
    deployed_at: datetime
    active: bool
    start_form: str | None
    start_role: str | None
    #: Why it was deployed (None: deployed without a comment).
    comment: str | None = None
    #: New instances start on it from then (None: from its deployment).
    effective_from: datetime | None = None


@dataclass(frozen=True)
class VersionView:
    """A process version in the library: the version and its running instances."""

    definition: DefinitionView
    running: int
    #: True for the version a new instance would start on now.
    current: bool


@dataclass(frozen=True)
class ProcessDraftView:
    """A process owner's saved, undeployed diagram."""

    id: int
    owner: str
    process_key: str
    name: str
    based_on: int | None
    created_at: datetime
    updated_at: datetime
    xml: str = ""


@dataclass(frozen=True)
class FormView:
    """A task form: its saved draft (if any), else the newest deployed copy.

    ``deployed_in``: the process versions (``key vN``) that froze a copy of it;
    ``draft``: a designer draft waits for the next deployment."""

    name: str
    title: str
    schema: dict[str, Any]
    draft: bool
    deployed_in: tuple[str, ...] = ()
    updated_by: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class FormPreview:
    """A draft form checked, and sample data validated against it (errors by field)."""

    schema: dict[str, Any]
    errors: dict[str, Any]


@dataclass(frozen=True)
class MoveCandidate:
    """A running instance of an older version and whether it can move to a newer one."""

    instance_id: int
    title: str
    version: int
    #: Names of the steps it waits at now.
    waiting: tuple[str, ...]
    #: Steps it is at (or has kept) that the target version lacks: empty when movable.
    missing: tuple[str, ...]

    @property
    def movable(self) -> bool:
        """True when every step it waits at exists in the target version."""
        return not self.missing


@dataclass(frozen=True)
class VersionPage:
    """A process's versions, the one looked at, and the running work that could move to
    it from older versions."""

    key: str
    name: str
    versions: list[VersionView]
    selected: VersionView
    candidates: list[MoveCandidate]


@dataclass(frozen=True)
class MoveResult:
    """What moving instances to another version did."""

    moved: tuple[int, ...]
    #: instance id -> why it stayed
    refused: dict[int, str]


@dataclass(frozen=True)
class DecisionView:
    """A deployed decision table version."""

    id: int
    key: str
    version: int
    name: str
    file_name: str
    deployed_by: str
    deployed_at: datetime


@dataclass(frozen=True)
class DecisionVersionView:
    """One version of a decision table: a draft, published (maybe from a later date) or
    retired, with who and when."""

    id: int
    key: str
    version: int
    status: str
    name: str
    saved_by: str
    saved_at: datetime
    published_by: str | None
    published_at: datetime | None
    effective_from: datetime | None
    comment: str | None
    retired_by: str | None
    retired_at: datetime | None
    in_effect: bool
    instances: int = 0


@dataclass(frozen=True)
class DecisionColumn:
    """An input or output column of a table (``name``: the output's variable)."""

    id: str
    label: str
    expression: str | None = None
    name: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class DecisionTableView:
    """A decision table with the version in effect, its draft and every version."""

    key: str
    name: str
    hit_policy: str
    inputs: list[DecisionColumn]
    outputs: list[DecisionColumn]
    #: Task data the output cells read besides the inputs (the test panel asks for it).
    variables: list[str]
    in_effect: DecisionVersionView | None
    draft: DecisionVersionView | None
    versions: list[DecisionVersionView]
    source: str
    draft_source: str | None
    #: What publishing the saved draft would refuse (each naming rule row and column).
    draft_problems: list[Any] = field(default_factory=list)  # engine.errors.Problem


@dataclass(frozen=True)
class RuleTestResult:
    """A table run on test inputs: matched rows (1-based) and outputs per column; or the
    error that stopped it."""

    version: str
    rows: list[int]
    outputs: dict[str, list[Any]]
    error: str | None = None


@dataclass(frozen=True)
class WhatIfChange:
    """How one past instance would have been decided differently."""

    instance_id: int
    title: str
    before: dict[str, list[Any]]
    after: dict[str, list[Any]]
    #: (output column, values added, values removed), one per differing column
    columns: list[tuple[str, list[Any], list[Any]]]


@dataclass(frozen=True)
class WhatIfSummary:
    """ "N would have gained (or lost) value V in output column C"."""

    column: str
    kind: str  # added | removed
    value: Any
    count: int


@dataclass(frozen=True)
class WhatIfResult:
    """A draft replayed over the recorded inputs of past instances."""

    key: str
    checked: int
    changed: list[WhatIfChange]
    summary: list[WhatIfSummary]
    #: instances whose recorded inputs the draft could not be run on, with why
    failed: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class DeployResult:
    """What one deployment created; ``unchanged`` lists keys whose content was identical."""

    processes: list[DefinitionView] = field(default_factory=list)
    decisions: list[DecisionView] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TaskView:
    """A human task as the inbox and task page see it."""

    id: int
    instance_id: int
    element_id: str
    name: str
    process_key: str
    role: str | None
    project_id: int | None
    assignee: str | None
    status: str
    form: str | None
    four_eyes: bool
    created_at: datetime
    due_at: datetime | None
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    on_behalf_of: str | None
    outcome: str | None
    comment: str | None
    instance_title: str = ""
    business_key: str | None = None
    #: The process version whose form schema ``form`` names (None: the instance's own).
    form_definition_id: int | None = None


@dataclass(frozen=True)
class InstanceView:
    """A process instance, read from its indexed row (no workflow state involved)."""

    id: int
    process_key: str
    definition_id: int
    definition_version: int
    business_key: str | None
    title: str
    project_id: int | None
    status: str
    revision: int
    started_by: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    current_step: str
    open_tasks: list[TaskView] = field(default_factory=list)


@dataclass(frozen=True)
class AuditView:
    """One audit trail entry."""

    id: int
    instance_id: int | None
    at: datetime
    actor: str
    kind: str
    element_id: str | None
    element_name: str | None
    human_task_id: int | None
    outcome: str | None
    reason: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class JobView:
    """A scheduled job (timer, later SLA reminders and e-mail)."""

    id: int
    kind: str
    instance_id: int | None
    task_ref: str
    element_id: str | None
    due_at: datetime
    status: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class FireReport:
    """What one pass of the job runner did."""

    fired: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    #: When the next pending job is due (None: none pending, or the pass stopped at its
    #: limit); the worker sleeps until then.
    next_due_at: datetime | None = None


@dataclass(frozen=True)
class UserView:
    """A user and their global roles."""

    id: int
    username: str
    display_name: str
    email: str | None
    active: bool
    locale: str | None
    roles: tuple[str, ...]
    #: (project id, role key) pairs held per project.
    project_roles: tuple[tuple[int, str], ...] = ()
    #: IANA time zone name, or None for the site's default.
    time_zone: str | None = None
    #: Part of the signed-in id; raised to end every session of the user.
    session_version: int = 0
    #: True while failed sign-ins keep the account locked.
    locked: bool = False


@dataclass(frozen=True)
class NotificationView:
    """One notification as the bell shows it."""

    id: int
    kind: str
    title: str
    body: str
    link: str | None
    instance_id: int | None
    created_at: datetime
    read_at: datetime | None
    #: Message keys and params (``engine.notifications.Note.message``); None on old rows.
    message: dict[str, Any] | None = None


@dataclass(frozen=True)
class AttachmentView:
    """An attachment's metadata (the bytes travel separately)."""

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    instance_id: int | None


class DataViews(NamedTuple):
    """An instance's data, one task's view of it, and the visited elements (with the
    instance and its open tasks, read in the same statement)."""

    data: dict[str, Any]
    task_data: dict[str, Any] | None
    visited: dict[str, int]
    instance: InstanceView


@dataclass(frozen=True)
class TokenView:
    """A token as lists show it (never the secret)."""

    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewToken:
    """A token just made: its view and the secret, which is not stored anywhere."""

    token: TokenView
    secret: str


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found wrong (see :mod:`engine.doctor`).

    ``kind`` names the check, ``code`` is stable for clients (``doctor.<kind>``),
    ``message`` one line of English, ``params`` the values in it.
    """

    kind: str
    code: str
    message: str
    instance_id: int | None = None
    human_task_id: int | None = None
    job_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """What makes two findings the same problem (one open incident per key)."""
        return (
            f"{self.kind}:i{self.instance_id or ''}:t{self.human_task_id or ''}"
            f":j{self.job_id or ''}:{self.params.get('ref', '')}"
        )[:200]

    def __str__(self) -> str:
        """One line: ``instance 12: stranded: ...``."""
        where = f"instance {self.instance_id}" if self.instance_id else f"job {self.job_id}"
        return f"{where}: {self.kind}: {self.message}"


@dataclass(frozen=True)
class IncidentView:
    """An incident: a finding or failed job, open until repaired or no longer found."""

    id: int
    kind: str
    code: str
    instance_id: int | None
    job_id: int | None
    human_task_id: int | None
    detail: str
    params: dict[str, Any]
    status: str
    opened_at: datetime
    last_seen_at: datetime
    seen_count: int
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


@dataclass(frozen=True)
class DoctorReport:
    """What one doctor pass found and did to the incidents."""

    findings: list[Finding] = field(default_factory=list)
    #: Incidents opened by this pass (ids).
    opened: list[int] = field(default_factory=list)
    #: Open incidents this pass found again.
    seen_again: int = 0
    #: Incidents resolved because their problem is no longer found (ids).
    cleared: list[int] = field(default_factory=list)
    #: Running instances whose saved state was read.
    instances_checked: int = 0


@dataclass(frozen=True)
class RepairResult:
    """What a repair did to one instance."""

    instance_id: int
    action: str
    status: str
    #: Incidents the repair resolved (ids).
    resolved: list[int] = field(default_factory=list)
    #: Task rows reopened, jobs re-queued or cancelled: ``{"reopened": [...], ...}``.
    changes: dict[str, list[int]] = field(default_factory=dict)


# ---------------------------------------------------------------- from rows


def instance_view(inst: Any, definition_version: int, open_rows: list[Any]) -> InstanceView:
    """Dataclass view of an instance row (ORM object or record) with its open tasks."""
    return InstanceView(
        id=inst.id,
        process_key=inst.process_key,
        definition_id=inst.definition_id,
        definition_version=definition_version,
        business_key=inst.business_key,
        title=inst.title,
        project_id=inst.project_id,
        status=inst.status,
        revision=inst.revision,
        started_by=inst.started_by,
        started_at=inst.started_at,
        updated_at=inst.updated_at,
        ended_at=inst.ended_at,
        current_step=inst.current_step,
        open_tasks=[task_view(r, inst) for r in open_rows],
    )


def task_view(row: Any, inst: Any | None = None) -> TaskView:
    """Dataclass view of a human task row (ORM object or record)."""
    return TaskView(
        id=row.id,
        instance_id=row.instance_id,
        element_id=row.element_id,
        name=row.name,
        process_key=row.process_key,
        role=row.role,
        project_id=row.project_id,
        assignee=row.assignee,
        status=row.status,
        form=row.form,
        form_definition_id=row.form_definition_id,
        four_eyes=row.four_eyes,
        created_at=row.created_at,
        due_at=row.due_at,
        claimed_at=row.claimed_at,
        completed_at=row.completed_at,
        completed_by=row.completed_by,
        on_behalf_of=row.on_behalf_of,
        outcome=row.outcome,
        comment=row.comment,
        instance_title=inst.title if inst is not None else "",
        business_key=inst.business_key if inst is not None else None,
    )


def audit_view(row: Any) -> AuditView:
    """Dataclass view of an audit row."""
    return AuditView(
        id=row.id,
        instance_id=row.instance_id,
        at=row.at,
        actor=row.actor,
        kind=row.kind,
        element_id=row.element_id,
        element_name=row.element_name,
        human_task_id=row.human_task_id,
        outcome=row.outcome,
        reason=row.reason,
        detail=row.detail or {},
    )


def job_view(job: Any) -> JobView:
    """Dataclass view of a job row."""
    return JobView(
        id=job.id,
        kind=job.kind,
        instance_id=job.instance_id,
        task_ref=job.task_ref,
        element_id=job.element_id,
        due_at=job.due_at,
        status=job.status,
        attempts=job.attempts,
        last_error=job.last_error,
    )


def incident_view(row: Any) -> IncidentView:
    """Dataclass view of an incident row."""
    return IncidentView(
        id=row.id,
        kind=row.kind,
        code=row.code,
        instance_id=row.instance_id,
        job_id=row.job_id,
        human_task_id=row.human_task_id,
        detail=row.detail,
        params=dict(row.params or {}),
        status=row.status,
        opened_at=row.opened_at,
        last_seen_at=row.last_seen_at,
        seen_count=row.seen_count,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution=row.resolution,
    )


@dataclass(frozen=True)
class RoleView:
    """A role: key, display name, scope (``global`` or ``project``)."""

    key: str
    name: str
    scope: str


@dataclass(frozen=True)
class SlaDefaultView:
    """How long a step may take when its diagram says nothing (set by a PMO admin)."""

    process_key: str
    element_id: str
    duration: str
    updated_by: str
    updated_at: datetime
    #: The second period before an overdue step escalates (None: one working day).
    escalate_after: str | None = None


@dataclass(frozen=True)
class StepView:
    """A human step of a deployed process, with the SLA its diagram gives (if any)."""

    process_key: str
    process_name: str
    element_id: str
    name: str
    diagram_sla: str | None


@dataclass(frozen=True)
class AdminPage:
    """What the admin page shows: people, roles, SLA defaults and the recent changes."""

    users: list[UserView]
    roles: list[RoleView]
    sla_defaults: list[SlaDefaultView]
    changes: list[AuditView]
    #: The steps an SLA default can be set for (user tasks of the active versions).
    steps: list[StepView] = field(default_factory=list)


@dataclass(frozen=True)
class AdminUserPage:
    """One user as the admin sees them: profile, roles, the roles there are, changes."""

    user: UserView
    roles: list[RoleView]
    changes: list[AuditView]


@dataclass(frozen=True)
class Deactivation:
    """A deactivated user and the open tasks they held that went back to their role."""

    user: UserView
    released_task_ids: tuple[int, ...]
    #: Open tasks still assigned to them because the step has no role to go back to.
    kept_task_ids: tuple[int, ...]


@dataclass(frozen=True)
class MailView:
    """One mail of the outbox and how its delivery stands."""

    id: int
    username: str
    subject: str
    kind: str
    #: pending | sent | failed
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    to_address: str | None


@dataclass(frozen=True)
class MailDetail:
    """One mail rendered as its recipient gets it (both parts)."""

    mail: MailView
    address: str | None
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class MailPage:
    """The outbox for the PMO admin: the mails, counts per status, whether SMTP is set."""

    mails: list[MailView]
    counts: dict[str, int]
    smtp_configured: bool


@dataclass(frozen=True)
class OutOfOfficeView:
    """A person's out-of-office period and who takes over their work."""

    delegate: str
    starts_at: datetime
    ends_at: datetime | None
    reason: str


@dataclass(frozen=True)
class MailPreferences:
    """A person's mail: their address, immediate or daily digest, out of office."""

    email: str | None
    mail_mode: str
    out_of_office: OutOfOfficeView | None


@dataclass(frozen=True)
class CalendarDayView:
    """A day the PMO set apart: ``kind`` is ``holiday`` or ``workday`` (a make-up day)."""

    day: date
    name: str
    kind: str


@dataclass(frozen=True)
class InstallStatus:
    """Whether this is a demo install, and how far its clock runs ahead of real time."""

    demo: bool
    offset: timedelta
    now: datetime

    @property
    def moved(self) -> bool:
        """True while the clock is not real time."""
        return self.offset != timedelta(0)


@dataclass(frozen=True)
class WaitView:
    """A timer an instance waits on: when it fires and whether a person may close it."""

    job_id: int
    instance_id: int
    element_id: str
    name: str
    due_at: datetime
    closable: bool
    #: The step the timer is attached to (a boundary event), whether it ends that step,
    #: and the name of what runs when it fires (``Remind member``, ``Escalate``...).
    attached_to: str | None = None
    interrupting: bool = True
    then: str | None = None
    #: ``timer`` (the diagram's), or the general SLA reminder of a step that models none:
    #: ``sla_reminder`` (its holders are reminded) or ``sla_escalation`` (the PMO head).
    kind: str = "timer"
