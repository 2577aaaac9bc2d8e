"""Incidents: findings that stay visible until someone repairs them or they go away.

One open incident per finding key: a finding seen again updates its incident instead of
opening another (a partial unique index on the open keys holds that even when two
workers record at once).  After a pass that looked at everything, open incidents whose
problem was not found again are resolved as ``cleared``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.store.models import Incident
from engine.views import DoctorReport, Finding, IncidentView, incident_view

SYSTEM = "system"


def record(
    session: Session,
    findings: Sequence[Finding],
    now: datetime,
    *,
    complete: bool,
    instances_checked: int = 0,
) -> DoctorReport:
    """Open or refresh an incident per finding; clear the rest after a complete pass.

    Runs inside the caller's unit of work.
    """
    wanted = {f.key: f for f in findings}
    open_rows = {
        r.key: r for r in session.scalars(select(Incident).where(Incident.status == "open"))
    }
    opened: list[int] = []
    seen = 0
    for key, found in wanted.items():
        row = open_rows.get(key)
        if row is not None:
            row.last_seen_at, row.seen_count = now, row.seen_count + 1
            row.detail, row.params = found.message, dict(found.params)
            seen += 1
            continue
        new = _insert(session, found, now)
        if new is not None:
            opened.append(new)
    cleared = []
    if complete:
        for key, row in open_rows.items():
            if key not in wanted:
                _resolve(row, now, SYSTEM, "cleared: no longer found")
                cleared.append(row.id)
    session.flush()
    return DoctorReport(
        findings=list(findings),
        opened=opened,
        seen_again=seen,
        cleared=cleared,
        instances_checked=instances_checked,
    )


def _insert(session: Session, found: Finding, now: datetime) -> int | None:
    """A new open incident; None when another worker opened it a moment ago."""
    row = Incident(
        kind=found.kind,
        key=found.key,
        code=found.code,
        instance_id=found.instance_id,
        job_id=found.job_id,
        human_task_id=found.human_task_id,
        detail=found.message[:2000],
        params=dict(found.params),
        status="open",
        opened_at=now,
        last_seen_at=now,
        seen_count=1,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row.id


def resolve_instance(
    session: Session, instance_id: int, actor: str, resolution: str, now: datetime
) -> list[int]:
    """Resolve every open incident of an instance; returns their ids."""
    found = session.scalars(
        select(Incident).where(Incident.instance_id == instance_id, Incident.status == "open")
    ).all()
    for row in found:
        _resolve(row, now, actor, resolution)
    session.flush()
    return [r.id for r in found]


def _resolve(row: Incident, now: datetime, actor: str, resolution: str) -> None:
    row.status, row.resolved_at = "resolved", now
    row.resolved_by, row.resolution = actor[:64], resolution[:2000]


def list_incidents(
    session: Session, *, open_only: bool = True, instance_id: int | None = None, limit: int = 200
) -> list[IncidentView]:
    """Incidents, newest first."""
    q = select(Incident)
    if open_only:
        q = q.where(Incident.status == "open")
    if instance_id is not None:
        q = q.where(Incident.instance_id == instance_id)
    q = q.order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
    return [incident_view(r) for r in session.scalars(q)]
