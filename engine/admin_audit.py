"""The audit trail of administration: who changed which user, role or SLA default, when,
and what it was before and after.

Rows go into ``audit_events`` with no instance: ``kind`` says what changed (``user.*``,
``role.*``, ``project_role.*``, ``sla_default.*``), ``element_id`` names what was changed
(a username, or ``process_key/element_id``), ``detail`` holds ``before`` and ``after``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.store import rows
from engine.store.models import AuditEvent
from engine.views import AuditView, audit_view

#: Kind prefixes of administration events.
PREFIXES = (
    "user.",
    "role.",
    "project_role.",
    "sla_default.",
    "calendar.",
    "clock.",
    "sso_mapping.",
)


def record(
    session: Session,
    *,
    actor: str,
    now: datetime,
    kind: str,
    target: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Append one administration event (``kind`` starts with one of :data:`PREFIXES`)."""
    if not kind.startswith(PREFIXES):
        raise ValueError(f"not an administration event kind: {kind!r}")
    rows.audit(
        session,
        instance_id=None,
        at=now,
        actor=actor,
        kind=kind,
        element_id=target[:200],
        reason=reason,
        detail={"before": dict(before or {}), "after": dict(after or {})},
    )


def recent(
    session: Session,
    *,
    target: str | None = None,
    limit: int = 100,
    exclude: tuple[str, ...] = (),
) -> list[AuditView]:
    """Administration events, newest first (about ``target`` only, when given; without
    the kinds in ``exclude``)."""
    q = select(AuditEvent).where(
        AuditEvent.instance_id.is_(None), or_(*(AuditEvent.kind.startswith(p) for p in PREFIXES))
    )
    if target is not None:
        q = q.where(AuditEvent.element_id == target)
    if exclude:
        q = q.where(AuditEvent.kind.not_in(exclude))
    found = session.scalars(q.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
    return [audit_view(r) for r in found]
