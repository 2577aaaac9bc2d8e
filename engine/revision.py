"""Optimistic locking for actions a person takes on what they saw: the page carried the
instance's revision; if the instance moved on meanwhile, the action is refused with what
changed (the audit events since, its status and where it waits now)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.store.models import AuditEvent


class InstanceMovedOn(Conflict):
    """The instance changed after the person looked at it; nothing was done."""

    code = "ops.instance_moved_on"


def require_revision(session: Session, inst: Any, expected: int | None) -> None:
    """Raise :class:`InstanceMovedOn` when ``expected`` (the revision the caller saw) is
    not the instance's revision any more; ``None`` skips the check."""
    if expected is None or int(expected) == inst.revision:
        return
    last = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.instance_id == inst.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    ).first()
    change = ""
    if last is not None:
        change = last.kind.replace("_", " ")
        if last.element_name or last.element_id:
            change += f" '{last.element_name or last.element_id}'"
        change += f" by {last.actor}"
    where = inst.current_step or "-"
    raise InstanceMovedOn(
        f"instance {inst.id} changed since you looked at it (revision {expected}, now "
        f"{inst.revision}): last change {change or '-'}; it is {inst.status}, at: {where}. "
        "Reload and decide again.",
        instance_id=inst.id,
        seen=int(expected),
        revision=inst.revision,
        status=inst.status,
        step=where,
        change=change or "-",
        change_kind=last.kind if last is not None else None,
        change_actor=last.actor if last is not None else None,
        change_at=last.at.isoformat() if last is not None else None,
    )
