"""The risk register and its three-level review.

Risk data (task-data JSON, what the PM enters)::

    {"title": "...", "description": "...", "category": "supplier", "probability": 4,
     "impact": 5, "response": "mitigate", "contingency": "...", "owner": "pm1",
     "urgent": false}

Score, level and the number of review levels come from the PMO's scoring decision table
and are passed in as computed.  Status: ``under_review`` -> (``sent_back`` ->
``under_review``)* -> ``accepted`` -> ``closed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, Forbidden, NotFound
from workflows.records.models import Project, Risk, RiskReview
from workflows.records.projects import load_project
from workflows.records.search import page
from workflows.records.validate import Fields, require_text
from workflows.records.views import RiskReviewView, RiskView
from workflows.records.vocab import (
    ACTIVE_STAGES,
    REVIEW_OUTCOMES,
    RISK_CATEGORIES,
    RISK_LEVELS,
    RISK_RESPONSES,
    TOP_REVIEW_LEVEL,
)


def raise_risk(session: Session, project_id: int, data: Mapping[str, Any], *, actor: str,
               now: datetime, score: int, level: str, levels_required: int,
               instance_id: int | None = None) -> RiskView:
    """Enter a risk in the register (status ``under_review``)."""
    project = load_project(session, project_id)
    if project.stage not in ACTIVE_STAGES:
        raise Conflict(f"Project {project.code or project.id} is {project.stage}; risks "
                       "are raised on approved, running projects.")
    risk = Risk(project_id=project_id, status="under_review", raised_by=actor, raised_at=now,
                updated_at=now, instance_id=instance_id,
                **_read(data), **_scoring(score, level, levels_required))
    session.add(risk)
    session.flush()
    return _views(session, [risk])[0]


def revise_risk(session: Session, risk_id: int, data: Mapping[str, Any], *, actor: str,
                now: datetime, score: int, level: str, levels_required: int) -> RiskView:
    """The PM's revision after a send-back (re-scored); back to ``under_review``."""
    risk = _load(session, risk_id, lock=True)
    if risk.status not in ("sent_back", "under_review"):
        raise Conflict(f"Risk {risk.id} is {risk.status}; it can no longer be revised.")
    for key, value in {**_read({**_data(risk), **dict(data)}),
                       **_scoring(score, level, levels_required)}.items():
        setattr(risk, key, value)
    risk.status, risk.updated_at = "under_review", now
    session.flush()
    return _views(session, [risk])[0]


def record_risk_review(session: Session, risk_id: int, *, level: int, reviewer: str,
                       outcome: str, comment: str = "", now: datetime) -> RiskView:
    """Record one level's verdict: ``approve``, ``send_back`` or ``escalate``.

    A send-back needs a comment and sets status ``sent_back``; escalating raises
    ``levels_required`` to the next level (even where the score did not need it).
    """
    f = Fields({"level": level, "outcome": outcome})
    level_ = f.integer("level", 1, TOP_REVIEW_LEVEL)
    outcome_ = f.choice("outcome", REVIEW_OUTCOMES)
    if outcome_ == "escalate" and level_ == TOP_REVIEW_LEVEL:
        f.error("outcome", f"Level {TOP_REVIEW_LEVEL} is the top level; it cannot escalate.")
    f.check()
    if outcome_ == "send_back":
        comment = require_text(comment, "comment")
    risk = _load(session, risk_id, lock=True)
    if risk.status != "under_review":
        raise Conflict(f"Risk {risk.id} is {risk.status}, not under review.")
    if reviewer == risk.raised_by:
        raise Forbidden("Four eyes: nobody reviews a risk they raised themselves.")
    at_level = int(level_ or 1)
    if outcome_ == "send_back":
        risk.status = "sent_back"
    elif outcome_ == "escalate":
        risk.levels_required = max(risk.levels_required, at_level + 1)
    session.add(RiskReview(risk_id=risk.id, level=at_level, reviewer=reviewer,
                           outcome=outcome_, comment=(comment or "").strip(), at=now))
    risk.updated_at = now
    session.flush()
    return _views(session, [risk])[0]


def escalate_risk(session: Session, risk_id: int, *, to_level: int, now: datetime
                  ) -> RiskView:
    """Require review up to ``to_level`` (e.g. the 48-hour timer of an urgent risk)."""
    f = Fields({"to_level": to_level})
    target = f.integer("to_level", 1, TOP_REVIEW_LEVEL)
    f.check()
    risk = _load(session, risk_id, lock=True)
    risk.levels_required = max(risk.levels_required, target or 1)
    risk.updated_at = now
    session.flush()
    return _views(session, [risk])[0]


def decide_risk(session: Session, risk_id: int, *, decision: str, decided_by: str,
                level: int, response_plan: str, now: datetime) -> RiskView:
    """The final decision at the top required level: status ``accepted``."""
    f = Fields({"decision": decision, "level": level, "response_plan": response_plan})
    decision = f.text("decision", max_len=2_000)
    level_ = f.integer("level", 1, TOP_REVIEW_LEVEL)
    plan = f.text("response_plan", max_len=20_000)
    f.check()
    risk = _load(session, risk_id, lock=True)
    if risk.status != "under_review":
        raise Conflict(f"Risk {risk.id} is {risk.status}; only a risk under review can be "
                       "decided.")
    if level_ is not None and level_ < risk.levels_required:
        raise Conflict(f"Risk {risk.id} needs a decision at level {risk.levels_required}, "
                       f"not {level_}.")
    if decided_by == risk.raised_by:
        raise Forbidden("Four eyes: nobody decides a risk they raised themselves.")
    risk.status, risk.decision, risk.decided_by = "accepted", decision, decided_by
    risk.decided_at, risk.decision_level, risk.response_plan = now, level_, plan
    risk.updated_at = now
    session.flush()
    return _views(session, [risk])[0]


def close_risk(session: Session, risk_id: int, *, actor: str, now: datetime, reason: str
               ) -> RiskView:
    """Close a risk (it occurred and was handled, or can no longer occur)."""
    reason = require_text(reason, "reason", max_len=5_000)
    risk = _load(session, risk_id, lock=True)
    if risk.status == "closed":
        raise Conflict(f"Risk {risk.id} is already closed.")
    risk.status, risk.close_reason, risk.closed_at, risk.updated_at = (
        "closed", reason, now, now)
    session.flush()
    return _views(session, [risk])[0]


def get_risk(session: Session, risk_id: int) -> RiskView:
    """One risk with its reviews; ``NotFound`` if there is none."""
    return _views(session, [_load(session, risk_id)])[0]


def list_risks(session: Session, *, project_id: int | None = None, level: str | None = None,
               category: str | None = None, status: str | None = None,
               owner: str | None = None, limit: int = 50, offset: int = 0,
               visible: ColumnElement[bool] | None = None) -> tuple[list[RiskView], int]:
    """The register, highest score first, and the total for the same filters."""
    conds = []
    for column, value in ((Risk.project_id, project_id), (Risk.level, level),
                          (Risk.category, category), (Risk.status, status),
                          (Risk.owner, owner)):
        if value is not None:
            conds.append(column == value)
    if visible is not None:  # the need-to-know condition (records.visibility)
        conds.append(visible)
    total = session.scalar(select(func.count()).select_from(Risk).where(*conds)) or 0
    limit, offset = page(limit, offset)
    rows = session.scalars(select(Risk).where(*conds)
                           .order_by(Risk.score.desc(), Risk.raised_at.desc(), Risk.id.desc())
                           .limit(limit).offset(offset))
    return _views(session, list(rows)), total


def risk_matrix(session: Session, *, include_closed: bool = False
                ) -> dict[tuple[str, str], int]:
    """Risks of all projects counted by (category, level); closed ones left out unless
    ``include_closed``.  Pairs with no risk are absent."""
    stmt = select(Risk.category, Risk.level, func.count()).group_by(Risk.category, Risk.level)
    if not include_closed:
        stmt = stmt.where(Risk.status != "closed")
    return {(category, level): count for category, level, count in session.execute(stmt)}


# --------------------------------------------------------------------------- helpers


def _read(data: Mapping[str, Any]) -> dict[str, Any]:
    f = Fields(data)
    values = {
        "title": f.text("title", max_len=300),
        "description": f.text("description", required=False, max_len=20_000),
        "category": f.choice("category", RISK_CATEGORIES),
        "probability": f.integer("probability", 1, 5),
        "impact": f.integer("impact", 1, 5),
        "response": f.choice("response", RISK_RESPONSES),
        "contingency": f.text("contingency", required=False, max_len=20_000),
        "owner": f.text("owner", max_len=64),
        "urgent": f.flag("urgent"),
    }
    f.check()
    return values


def _scoring(score: int, level: str, levels_required: int) -> dict[str, Any]:
    f = Fields({"score": score, "level": level, "levels_required": levels_required})
    values = {"score": f.integer("score", 1, 25), "level": f.choice("level", RISK_LEVELS),
              "levels_required": f.integer("levels_required", 1, TOP_REVIEW_LEVEL)}
    f.check()
    return values


def _data(risk: Risk) -> dict[str, Any]:
    return {k: getattr(risk, k) for k in ("title", "description", "category", "probability",
                                          "impact", "response", "contingency", "owner",
                                          "urgent")}


def _load(session: Session, risk_id: int, *, lock: bool = False) -> Risk:
    risk = session.get(Risk, risk_id, with_for_update=lock or None, populate_existing=lock)
    if risk is None:
        raise NotFound(f"No risk with id {risk_id}.")
    return risk


def _views(session: Session, risks: list[Risk]) -> list[RiskView]:
    ids = [r.id for r in risks]
    codes = dict(session.execute(select(Project.id, Project.code).where(
        Project.id.in_({r.project_id for r in risks}))).all())
    reviews: dict[int, list[RiskReviewView]] = {}
    for rv in session.scalars(select(RiskReview).where(RiskReview.risk_id.in_(ids))
                              .order_by(RiskReview.at, RiskReview.id)):
        reviews.setdefault(rv.risk_id, []).append(
            RiskReviewView(rv.level, rv.reviewer, rv.outcome, rv.comment, rv.at))
    return [RiskView(
        id=r.id, project_id=r.project_id, project_code=codes.get(r.project_id),
        title=r.title, description=r.description, category=r.category,
        probability=r.probability, impact=r.impact, score=r.score, level=r.level,
        levels_required=r.levels_required, response=r.response, contingency=r.contingency,
        owner=r.owner, urgent=r.urgent, status=r.status, decision=r.decision,
        decided_by=r.decided_by, decided_at=r.decided_at, decision_level=r.decision_level,
        response_plan=r.response_plan, close_reason=r.close_reason, closed_at=r.closed_at,
        raised_by=r.raised_by, raised_at=r.raised_at, instance_id=r.instance_id,
        updated_at=r.updated_at, reviews=tuple(reviews.get(r.id, ())),
    ) for r in risks]
