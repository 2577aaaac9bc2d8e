"""Plain dataclasses the engine returns (never ORM rows or SpiffWorkflow objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
