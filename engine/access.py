"""Who may see and do what, beyond holding a task's role (see :mod:`engine.identity`).

Plain checks over the indexed tables: who may start a process, see a task or an instance,
act twice on one step, withdraw a request or reassign work.  No workflow is loaded here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import identity
from engine.errors import Forbidden
from engine.store import rows
from engine.store.models import HumanTask, Notification

#: Roles that see every instance (the PMO's overview pages).
PMO_ROLES = frozenset({"pmo_admin", "pmo_head", "pmo_reviewer"})
#: Role that may reassign anyone's open task.
ADMIN_ROLE = "pmo_admin"
#: Role that may validate and deploy diagrams.
PROCESS_OWNER_ROLE = "process_owner"


def may_start(session: Session, actor: str, role: str, project_id: int | None) -> bool:
    """May ``actor`` start a process whose start event lies in ``role``'s lane?"""
    if role in identity.global_roles(session, actor):
        return True
    if project_id is not None:
        return identity.holds_role_for(session, actor, role, project_id)
    return any(r == role for _p, r in identity.project_roles(session, actor))


def require_distinct(
    session: Session, row: Any, actor: str, on_behalf_of: str | None, meta: Mapping[str, Any]
) -> None:
    """Refuse a second instance of a ``distinctActors`` step to the same person."""
    props = meta.get("elements", {}).get(row.element_id, {}).get("properties") or {}
    if str(props.get("distinctActors", "")).lower() != "true":
        return
    problem = identity.distinct_actor_problem(session, row, actor, on_behalf_of)
    if problem:
        raise Forbidden(problem)


def may_view_task(session: Session, username: str, row: Any, inst: Any, now: datetime) -> bool:
    """Whoever may work on it, worked on it, or started the instance may see a task."""
    if username in (inst.started_by, row.completed_by, row.assignee):
        return True
    people = [username, *identity.delegators(session, username, now)]
    if row.role is not None and any(
        identity.holds_role_for(session, p, row.role, row.project_id) for p in people
    ):
        return True
    return row.assignee is not None and row.assignee in people


def may_view_instance(session: Session, username: str, inst: Any, now: datetime) -> bool:
    """The starter, the PMO, whoever may see one of its tasks, and whoever the process
    told about it (a notification names the instance: e.g. the PM of a project an
    escalation affects, following the link of the decision) may see an instance."""
    if inst.started_by == username or identity.global_roles(session, username) & PMO_ROLES:
        return True
    told = session.scalar(
        select(Notification.id)
        .where(Notification.username == username, Notification.instance_id == inst.id)
        .limit(1)
    )
    if told is not None:
        return True
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == inst.id))
    return any(may_view_task(session, username, row, inst, now) for row in rows)


def require_starter(session: Session, instance_id: int, username: str) -> None:
    """Only the person who started a request may withdraw it (:class:`Forbidden`)."""
    if rows.require_instance(session, instance_id).started_by != username:
        raise Forbidden(
            "only the person who started this request may withdraw it",
            code="access.starter_only",
            instance_id=instance_id,
        )


def require_admin(session: Session, username: str) -> None:
    """Only a PMO administrator may reassign other people's tasks (:class:`Forbidden`)."""
    if ADMIN_ROLE not in identity.global_roles(session, username):
        raise Forbidden(
            "only a PMO administrator may reassign tasks", code="access.admin_only", role=ADMIN_ROLE
        )


def require_rules_admin(session: Session, username: str) -> None:
    """Only a PMO administrator may read, test, edit or publish decision tables
    (:class:`Forbidden`)."""
    if ADMIN_ROLE not in identity.global_roles(session, username):
        raise Forbidden(
            "only a PMO administrator may edit or publish rules",
            code="access.admin_only",
            role=ADMIN_ROLE,
        )


def require_process_owner(session: Session, username: str) -> None:
    """Only a process owner may validate or deploy diagrams (:class:`Forbidden`)."""
    if PROCESS_OWNER_ROLE not in identity.global_roles(session, username):
        raise Forbidden(
            "only a process owner may validate or deploy diagrams",
            code="access.process_owner_only",
            role=PROCESS_OWNER_ROLE,
        )


def require_user_admin(session: Session, username: str) -> None:
    """Only a PMO administrator may manage users, roles and SLA defaults
    (:class:`Forbidden`)."""
    if ADMIN_ROLE not in identity.global_roles(session, username):
        raise Forbidden(
            "only a PMO administrator may manage users, roles and SLA defaults",
            code="access.admin_only",
            role=ADMIN_ROLE,
        )
