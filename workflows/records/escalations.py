"""The escalation log: issues beyond a PM's authority, triaged and decided above them.

Escalation data (task-data JSON)::

    {"title": "Tower supplier double-booked", "description": "...",
     "kind": "resource_conflict", "severity": "high", "tried": "...",
     "needed_by": "2026-03-10", "affected_project_ids": [7, 9]}

Status: ``triage`` -> ``pmo`` | ``steering`` | ``handed_back`` | ``decided``; the raising
PM then ``resolved`` it or ``reopened`` it (back to triage).  See
:data:`~workflows.records.vocab.ESCALATION_TRANSITIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, Forbidden, InvalidData, NotFound
from workflows.records.models import Escalation, Project
from workflows.records.projects import load_project
from workflows.records.search import page
from workflows.records.validate import Fields, require_text
from workflows.records.views import EscalationEvent, EscalationView
from workflows.records.vocab import (
    ACTIVE_STAGES,
    DECISION_LEVELS,
    ESCALATION_KINDS,
    ESCALATION_STATUSES,
    ESCALATION_TRANSITIONS,
    PMO_DECIDES_IN,
    SEVERITIES,
)

#: Statuses set by their own function (they carry text), not by set_escalation_status.
_DEDICATED = {"handed_back": "record_escalation_decision", "decided":
              "record_escalation_decision", "resolved": "resolve_escalation",
              "reopened": "reopen_escalation"}


def raise_escalation(session: Session, project_id: int, data: Mapping[str, Any], *,
                     actor: str, now: datetime, instance_id: int | None = None
                     ) -> EscalationView:
    """Log an escalation (status ``triage``)."""
    project = load_project(session, project_id)
    if project.stage not in ACTIVE_STAGES:
        raise Conflict(f"Project {project.code or project.id} is {project.stage}; issues "
                       "are escalated on approved, running projects.")
    f = Fields(data)
    values = {
        "title": f.text("title", max_len=300),
        "description": f.text("description", required=False, max_len=20_000),
        "kind": f.choice("kind", ESCALATION_KINDS),
        "severity": f.choice("severity", SEVERITIES),
        "tried": f.text("tried", max_len=20_000),
        "needed_by": f.day("needed_by"),
        "affected_project_ids": _affected(session, f, project_id),
    }
    if values["needed_by"] is not None and values["needed_by"] < now.date():
        f.error("needed_by", "The decision date is in the past.")
    f.check()
    row = Escalation(project_id=project_id, status="triage", raised_by=actor, raised_at=now,
                     updated_at=now, instance_id=instance_id, reopen_count=0, **values)
    session.add(row)
    session.flush()
    return _views(session, [row])[0]


def record_escalation_decision(session: Session, escalation_id: int, *, decision: str,
                               decided_by: str, level: str, now: datetime,
                               outcome: str = "decided") -> EscalationView:
    """Record the PMO's or the steering committee's decision.

    ``outcome`` is ``decided`` (settled at that level) or ``handed_back`` (``decision``
    is then the guidance to the PM).  The PMO decides during triage or in ``pmo``;
    steering only once escalated to ``steering``.
    """
    f = Fields({"decision": decision, "level": level, "outcome": outcome})
    text = f.text("decision", max_len=20_000)
    level_ = f.choice("level", DECISION_LEVELS)
    outcome_ = f.choice("outcome", ("decided", "handed_back"))
    f.check()
    row = _load(session, escalation_id, lock=True)
    allowed = PMO_DECIDES_IN if level_ == "pmo" else {"steering"}
    if row.status not in allowed:
        raise Conflict(f"Escalation {row.id} is {row.status}; the {level_} level cannot "
                       "decide it now.")
    if decided_by == row.raised_by:
        raise Forbidden("Four eyes: nobody decides an escalation they raised themselves.")
    row.status, row.decision, row.decided_by = outcome_, text, decided_by
    row.decided_at, row.decision_level, row.updated_at = now, level_, now
    _log(row, outcome_, text, decided_by, now, level_)
    session.flush()
    return _views(session, [row])[0]


def set_escalation_status(session: Session, escalation_id: int, status: str, *,
                          actor: str, now: datetime) -> EscalationView:
    """Route an escalation (``triage``, ``pmo``, ``steering``); ``Conflict`` if illegal."""
    if status not in ESCALATION_STATUSES:
        raise InvalidData({"status": f"Must be one of: {', '.join(ESCALATION_STATUSES)}."})
    if status in _DEDICATED:
        raise InvalidData({"status": f"Use {_DEDICATED[status]} to set {status}."})
    row = _load(session, escalation_id, lock=True)
    _move(row, status)
    row.updated_at = now
    session.flush()
    return _views(session, [row])[0]


def resolve_escalation(session: Session, escalation_id: int, *, actor: str, now: datetime,
                       resolution: str = "") -> EscalationView:
    """The raising PM confirms the issue is resolved."""
    f = Fields({"resolution": resolution})
    text = f.text("resolution", required=False, max_len=20_000)
    f.check()
    row = _load(session, escalation_id, lock=True)
    _move(row, "resolved")
    row.resolution, row.resolved_at, row.updated_at = text, now, now
    session.flush()
    return _views(session, [row])[0]


def reopen_escalation(session: Session, escalation_id: int, *, actor: str, now: datetime,
                      reason: str) -> EscalationView:
    """The raising PM says the decision did not settle it: back to triage, counted."""
    reason = require_text(reason, "reason", max_len=20_000)
    row = _load(session, escalation_id, lock=True)
    _move(row, "reopened")
    row.reopen_count += 1
    row.reopen_reason, row.updated_at = reason, now
    _log(row, "reopened", reason, actor, now)
    session.flush()
    return _views(session, [row])[0]


def get_escalation(session: Session, escalation_id: int) -> EscalationView:
    """One escalation; ``NotFound`` if there is none."""
    return _views(session, [_load(session, escalation_id)])[0]


def list_escalations(session: Session, *, project_id: int | None = None,
                     status: str | None = None, kind: str | None = None,
                     severity: str | None = None, raised_by: str | None = None,
                     limit: int = 50, offset: int = 0,
                     visible: ColumnElement[bool] | None = None
                     ) -> tuple[list[EscalationView], int]:
    """The escalation log, newest first, and the total for the same filters."""
    conds = [column == value for column, value in (
        (Escalation.project_id, project_id), (Escalation.status, status),
        (Escalation.kind, kind), (Escalation.severity, severity),
        (Escalation.raised_by, raised_by)) if value is not None]
    if visible is not None:  # the need-to-know condition (records.visibility)
        conds.append(visible)
    total = session.scalar(select(func.count()).select_from(Escalation).where(*conds)) or 0
    limit, offset = page(limit, offset)
    rows = session.scalars(select(Escalation).where(*conds)
                           .order_by(Escalation.raised_at.desc(), Escalation.id.desc())
                           .limit(limit).offset(offset))
    return _views(session, list(rows)), total


def escalation_recipients(session: Session, escalation_id: int) -> list[str]:
    """Who hears the decision: the PM of the project and of every affected project."""
    row = _load(session, escalation_id)
    ids = [row.project_id, *row.affected_project_ids]
    pms = dict(session.execute(select(Project.id, Project.pm).where(Project.id.in_(ids)))
               .all())
    return list(dict.fromkeys(pms[i] for i in ids if i in pms))


# --------------------------------------------------------------------------- helpers


def _affected(session: Session, f: Fields, project_id: int) -> list[int]:
    value = f.data.get("affected_project_ids") or []
    if not isinstance(value, list | tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        f.error("affected_project_ids", "Must be a list of project ids.")
        return []
    ids = list(dict.fromkeys(value))
    if project_id in ids:
        f.error("affected_project_ids", "List the other projects, not this one.")
        return []
    known = set(session.scalars(select(Project.id).where(Project.id.in_(ids))))
    missing = [str(i) for i in ids if i not in known]
    if missing:
        f.error("affected_project_ids", f"No project with id {', '.join(missing)}.")
        return []
    return ids


def _move(row: Escalation, status: str) -> None:
    allowed = ESCALATION_TRANSITIONS[row.status]
    if status not in allowed:
        options = ", ".join(sorted(allowed)) or "none (final)"
        raise Conflict(f"Escalation {row.id} cannot go from {row.status} to {status}; "
                       f"allowed: {options}.")
    row.status = status


def _log(row: Escalation, kind: str, text: str, by: str, at: datetime,
         level: str | None = None) -> None:
    """Append to the escalation's log (a new list: the JSON column sees the change)."""
    row.log = [*(row.log or []), {"kind": kind, "text": text, "by": by,
                                  "at": at.isoformat(), "level": level}]


def _load(session: Session, escalation_id: int, *, lock: bool = False) -> Escalation:
    row = session.get(Escalation, escalation_id, with_for_update=lock or None,
                      populate_existing=lock)
    if row is None:
        raise NotFound(f"No escalation with id {escalation_id}.")
    return row


def _views(session: Session, rows: list[Escalation]) -> list[EscalationView]:
    codes = dict(session.execute(select(Project.id, Project.code).where(
        Project.id.in_({r.project_id for r in rows}))).all())
    return [EscalationView(
        id=r.id, project_id=r.project_id, project_code=codes.get(r.project_id),
        affected_project_ids=tuple(r.affected_project_ids or ()), title=r.title,
        description=r.description, kind=r.kind, severity=r.severity, tried=r.tried,
        needed_by=r.needed_by, status=r.status, decision=r.decision,
        decided_by=r.decided_by, decided_at=r.decided_at, decision_level=r.decision_level,
        resolution=r.resolution, resolved_at=r.resolved_at, raised_by=r.raised_by,
        raised_at=r.raised_at, instance_id=r.instance_id, reopen_count=r.reopen_count,
        reopen_reason=r.reopen_reason, updated_at=r.updated_at,
        log=tuple(_entry(e) for e in r.log or ()),
    ) for r in rows]


def _entry(entry: Mapping[str, Any]) -> EscalationEvent:
    at = entry.get("at")
    return EscalationEvent(kind=str(entry.get("kind") or "decided"),
                           text=str(entry.get("text") or ""), by=str(entry.get("by") or ""),
                           at=datetime.fromisoformat(at) if at else None,
                           level=entry.get("level"))
