"""Plain frozen dataclasses the records repository returns (never ORM rows).

:func:`to_json` turns any of them into task-data JSON: dates as ISO strings, money as
``{"amount": "1234.50", "currency": "CNY"}`` with a decimal string, tuples as lists.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Money:
    """An exact amount with its ISO currency."""

    amount: Decimal
    currency: str

    def to_json(self) -> dict[str, str]:
        """The task-data form: amount as a decimal string with two decimals."""
        return {"amount": format(self.amount.quantize(Decimal("0.01")), "f"),
                "currency": self.currency}


@dataclass(frozen=True)
class ProjectView:
    """A project in the portfolio."""

    id: int
    code: str | None
    title: str
    business_case: str
    strategic_objective: str
    category: str
    budget: Money
    budget_reporting: Money
    planned_start: date
    planned_end: date
    actual_end: date | None
    actual_cost: Money | None
    actual_cost_reporting: Money | None
    customer_satisfaction: int | None
    expected_roi_pct: Decimal
    risk_rating: str
    departments: tuple[str, ...]
    headcount: int
    pm: str
    sponsor: str
    stage: str
    approval_instance_id: int | None
    created_at: datetime
    updated_at: datetime
    approved_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class StageChangeView:
    """One entry of a project's stage history."""

    project_id: int
    from_stage: str | None
    to_stage: str
    at: datetime
    by: str
    reason: str
    #: A committee's decision: each member's vote; ``by`` is ``committee:<role>``.
    votes: tuple[dict[str, Any], ...] = ()

    @property
    def committee(self) -> str | None:
        """The committee's role key when a committee decided this change."""
        return self.by.split(":", 1)[1] if self.by.startswith("committee:") else None


@dataclass(frozen=True)
class RiskReviewView:
    """One reviewer's verdict at one level."""

    level: int
    reviewer: str
    outcome: str
    comment: str
    at: datetime


@dataclass(frozen=True)
class RiskView:
    """A risk register entry with its reviews, oldest first."""

    id: int
    project_id: int
    project_code: str | None
    title: str
    description: str
    category: str
    probability: int
    impact: int
    score: int
    level: str
    levels_required: int
    response: str
    contingency: str
    owner: str
    urgent: bool
    status: str
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_level: int | None
    response_plan: str | None
    close_reason: str | None
    closed_at: datetime | None
    raised_by: str
    raised_at: datetime
    instance_id: int | None
    updated_at: datetime
    reviews: tuple[RiskReviewView, ...] = ()


@dataclass(frozen=True)
class EscalationView:
    """An escalation log entry."""

    id: int
    project_id: int
    project_code: str | None
    affected_project_ids: tuple[int, ...]
    title: str
    description: str
    kind: str
    severity: str
    tried: str
    needed_by: date | None
    status: str
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_level: str | None
    resolution: str | None
    resolved_at: datetime | None
    raised_by: str
    raised_at: datetime
    instance_id: int | None
    reopen_count: int
    reopen_reason: str | None
    updated_at: datetime
    #: Every decision and reopening, oldest first (a reopened escalation keeps them all).
    log: tuple[EscalationEvent, ...] = ()


@dataclass(frozen=True)
class EscalationEvent:
    """One entry of an escalation's decision log."""

    kind: str  # decided | handed_back | reopened
    text: str
    by: str
    at: datetime | None
    level: str | None = None


@dataclass(frozen=True)
class LessonView:
    """A lesson learned (``merged_ids``: lessons folded into this one)."""

    id: int
    project_id: int
    project_code: str | None
    project_title: str
    author: str
    title: str
    category: str
    tags: tuple[str, ...]
    what_went_well: str
    what_did_not: str
    recommendation: str
    published: bool
    published_at: datetime | None
    curated_by: str | None
    curated_at: datetime | None
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime
    instance_id: int | None
    merged_ids: tuple[int, ...] = ()
    #: How many people (not the author) have opened it since it was published.
    reads: int = 0


def to_json(value: Any) -> Any:
    """A view (or list/dict of them) as JSON-safe task data.

    Dates and datetimes become ISO strings, ``Money`` the money object, other
    ``Decimal`` values decimal strings, tuples lists.
    """
    if isinstance(value, Money):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value
