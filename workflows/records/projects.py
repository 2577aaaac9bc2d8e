"""The project registry: proposal, approval (with its code), stages, the portfolio list.

Plain functions over a ``Session``: they flush, never commit, never open sessions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, Forbidden, InvalidData, NotFound
from workflows.records.codes import allocate_project_code
from workflows.records.models import Project, ProjectStageChange
from workflows.records.proposal import read_actuals, read_proposal
from workflows.records.search import contains_pattern, page
from workflows.records.validate import require_text
from workflows.records.views import Money, ProjectView, StageChangeView
from workflows.records.vocab import (
    PROJECT_STAGES,
    STAGE_REASON_REQUIRED,
    STAGE_TRANSITIONS,
)


def propose_project(session: Session, data: Mapping[str, Any], *, pm: str, now: datetime,
                    instance_id: int | None = None) -> ProjectView:
    """Register a proposal (stage Proposed, no code yet); ``InvalidData`` per field."""
    values = read_proposal(session, data, pm=pm)
    project = Project(**values, pm=pm, stage="Proposed", approval_instance_id=instance_id,
                      created_at=now, updated_at=now)
    session.add(project)
    session.flush()
    _history(session, project, None, "Proposed", by=pm, now=now, reason="")
    return project_view(project)


def update_proposal(session: Session, project_id: int, data: Mapping[str, Any], *,
                    actor: str, now: datetime) -> ProjectView:
    """Revise a proposal sent back for rework (only while Proposed).

    ``data`` may be complete or hold only the changed fields; the result is validated
    as a whole.
    """
    project = _load(session, project_id, lock=True)
    if project.stage != "Proposed":
        raise Conflict(f"Project {_name(project)} is {project.stage}; only a proposal "
                       "can be revised.")
    merged = {**proposal_data(project), **dict(data)}
    if "budget" not in data and ("budget_amount" in data or "currency" in data):
        merged.pop("budget")
    for key, value in read_proposal(session, merged, pm=project.pm).items():
        setattr(project, key, value)
    project.updated_at = now
    session.flush()
    return project_view(project)


def approve_project(session: Session, project_id: int, *, actor: str, now: datetime,
                    votes: Sequence[Mapping[str, Any]] | None = None) -> ProjectView:
    """Approve a proposal: allocate its code, stage Initiation, ``approved_at``.

    A committee's approval: ``actor`` is ``committee:<role>`` and ``votes`` its members'
    votes, kept in the stage history.
    """
    project = _load(session, project_id, lock=True)
    if actor == project.pm:
        raise Forbidden("Four eyes: a project manager cannot approve their own proposal.")
    _transition(session, project, "Initiation", actor=actor, now=now, reason="", votes=votes)
    return project_view(project)


def reject_project(session: Session, project_id: int, *, actor: str, now: datetime,
                   reason: str, votes: Sequence[Mapping[str, Any]] | None = None
                   ) -> ProjectView:
    """Reject a proposal; the reason is required and kept in the stage history (with a
    committee's ``votes`` when a committee decided, as for :func:`approve_project`)."""
    project = _load(session, project_id, lock=True)
    if actor == project.pm:
        raise Forbidden("Four eyes: a project manager cannot decide their own proposal.")
    _transition(session, project, "Rejected", actor=actor, now=now, reason=reason,
                votes=votes)
    return project_view(project)


def withdraw_project(session: Session, project_id: int, *, actor: str, now: datetime,
                     reason: str = "") -> ProjectView:
    """Withdraw a proposal or a project still in Initiation."""
    project = _load(session, project_id, lock=True)
    _transition(session, project, "Withdrawn", actor=actor, now=now, reason=reason)
    return project_view(project)


def set_stage(session: Session, project_id: int, stage: str, *, actor: str, now: datetime,
              reason: str = "") -> ProjectView:
    """Move a project to ``stage``; an illegal transition raises ``Conflict``.

    Entering Initiation allocates the code (as :func:`approve_project` does); entering
    Closed sets ``closed_at``.  Rejections and closures sent back need a reason.
    """
    project = _load(session, project_id, lock=True)
    _transition(session, project, stage, actor=actor, now=now, reason=reason)
    return project_view(project)


def record_actuals(session: Session, project_id: int, data: Mapping[str, Any], *,
                   actor: str, now: datetime) -> ProjectView:
    """Record closure figures (``actual_end``, ``actual_cost``, ``customer_satisfaction``)."""
    project = _load(session, project_id, lock=True)
    for key, value in read_actuals(data).items():
        setattr(project, key, value)
    project.updated_at = now
    session.flush()
    return project_view(project)


def get_project(session: Session, project_id: int) -> ProjectView:
    """One project; ``NotFound`` if there is none."""
    return project_view(_load(session, project_id))


def get_project_by_code(session: Session, code: str) -> ProjectView:
    """One project by its code (``PRJ-2026-0042``)."""
    project = session.scalar(select(Project).where(Project.code == code.strip().upper()))
    if project is None:
        raise NotFound(f"No project with code {code!r}.")
    return project_view(project)


def list_projects(session: Session, *, stage: str | None = None, pm: str | None = None,
                  sponsor: str | None = None, q: str | None = None, limit: int = 50,
                  offset: int = 0, visible: ColumnElement[bool] | None = None
                  ) -> tuple[list[ProjectView], int]:
    """The portfolio list (newest first) and the total count for the same filters.

    ``q`` matches the title or the code, case-insensitively, as typed (no wildcards).
    """
    conds = []
    if stage is not None:
        conds.append(Project.stage == stage)
    if pm is not None:
        conds.append(Project.pm == pm)
    if sponsor is not None:
        conds.append(Project.sponsor == sponsor)
    if q and q.strip():
        pattern = contains_pattern(q.strip())
        conds.append(or_(Project.title.ilike(pattern, escape="\\"),
                         Project.code.ilike(pattern, escape="\\")))
    if visible is not None:  # the need-to-know condition (records.visibility)
        conds.append(visible)
    total = session.scalar(select(func.count()).select_from(Project).where(*conds)) or 0
    limit, offset = page(limit, offset)
    rows = session.scalars(select(Project).where(*conds).order_by(Project.id.desc())
                           .limit(limit).offset(offset))
    return [project_view(p) for p in rows], total


def stage_history(session: Session, project_id: int) -> list[StageChangeView]:
    """A project's stage changes, oldest first (the first is its submission)."""
    _load(session, project_id)
    rows = session.scalars(select(ProjectStageChange)
                           .where(ProjectStageChange.project_id == project_id)
                           .order_by(ProjectStageChange.at, ProjectStageChange.id))
    return [StageChangeView(r.project_id, r.from_stage, r.to_stage, r.at, r.by, r.reason,
                            tuple(r.votes or ()))
            for r in rows]


# --------------------------------------------------------------------------- helpers


def _transition(session: Session, project: Project, stage: str, *, actor: str,
                now: datetime, reason: str,
                votes: Sequence[Mapping[str, Any]] | None = None) -> None:
    if stage not in PROJECT_STAGES:
        raise InvalidData({"stage": f"Unknown stage {stage!r}; use one of: "
                                    f"{', '.join(PROJECT_STAGES)}."})
    current = project.stage
    if stage not in STAGE_TRANSITIONS[current]:
        allowed = ", ".join(sorted(STAGE_TRANSITIONS[current])) or "none (final stage)"
        raise Conflict(f"Project {_name(project)} cannot go from {current} to {stage}; "
                       f"allowed from {current}: {allowed}.")
    if (current, stage) in STAGE_REASON_REQUIRED:
        reason = require_text(reason, "reason", max_len=5_000)
    if stage == "Initiation" and project.code is None:
        project.code = allocate_project_code(session, now.year)
        project.approved_at = now
    if stage == "Closed":
        project.closed_at = now
    project.stage = stage
    project.updated_at = now
    _history(session, project, current, stage, by=actor, now=now, reason=reason, votes=votes)


def _history(session: Session, project: Project, from_stage: str | None, to_stage: str, *,
             by: str, now: datetime, reason: str,
             votes: Sequence[Mapping[str, Any]] | None = None) -> None:
    session.add(ProjectStageChange(project_id=project.id, from_stage=from_stage,
                                   to_stage=to_stage, at=now, by=by, reason=reason or "",
                                   votes=[dict(v) for v in votes] if votes else None))
    session.flush()


def _load(session: Session, project_id: int, *, lock: bool = False) -> Project:
    project = session.get(Project, project_id, with_for_update=lock or None,
                          populate_existing=lock)
    if project is None:
        raise NotFound(f"No project with id {project_id}.")
    return project


def load_project(session: Session, project_id: int, *, lock: bool = False) -> Project:
    """The ORM row (for the other record modules); ``NotFound`` if missing."""
    return _load(session, project_id, lock=lock)


def _name(project: Project) -> str:
    return project.code or f"#{project.id} ({project.title})"


def proposal_data(project: Project) -> dict[str, Any]:
    """A project's proposal as task data (what the rework form is pre-filled with)."""
    return {
        "title": project.title, "business_case": project.business_case,
        "strategic_objective": project.strategic_objective, "category": project.category,
        "budget": Money(project.budget_amount, project.currency).to_json(),
        "planned_start": project.planned_start.isoformat(),
        "planned_end": project.planned_end.isoformat(), "sponsor": project.sponsor,
        "expected_roi_pct": format(project.expected_roi_pct, "f"),
        "risk_rating": project.risk_rating, "departments": list(project.departments),
        "headcount": project.headcount,
    }


def project_view(p: Project) -> ProjectView:
    """The view of an ORM row."""
    cost = cost_rep = None
    if p.actual_cost_amount is not None and p.actual_cost_currency:
        cost = Money(p.actual_cost_amount, p.actual_cost_currency)
        cost_rep = Money(p.actual_cost_reporting or p.actual_cost_amount,
                         p.reporting_currency)
    return ProjectView(
        id=p.id, code=p.code, title=p.title, business_case=p.business_case,
        strategic_objective=p.strategic_objective, category=p.category,
        budget=Money(p.budget_amount, p.currency),
        budget_reporting=Money(p.budget_reporting, p.reporting_currency),
        planned_start=p.planned_start, planned_end=p.planned_end, actual_end=p.actual_end,
        actual_cost=cost, actual_cost_reporting=cost_rep,
        customer_satisfaction=p.customer_satisfaction, expected_roi_pct=p.expected_roi_pct,
        risk_rating=p.risk_rating, departments=tuple(p.departments or ()),
        headcount=p.headcount, pm=p.pm, sponsor=p.sponsor, stage=p.stage,
        approval_instance_id=p.approval_instance_id, created_at=p.created_at,
        updated_at=p.updated_at, approved_at=p.approved_at, closed_at=p.closed_at,
    )
