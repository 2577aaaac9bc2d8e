"""Tables of the PMO records: project registry, risk register, escalation log, lessons.

People are usernames (never change once created).  Money is ``Numeric(18, 2)`` with its
ISO currency beside it; each amount also has its value in the reporting currency, fixed
at the time it was entered.  Enumerated values are validated by the repository
(:mod:`workflows.records.vocab`), not by CHECK constraints, so a new category needs no
migration; numeric ranges are checked by the database as well.

Search support lives outside the metadata because it is dialect-specific: the
``lessons_fts`` FTS5 table and its triggers (SQLite) and trigram GIN indexes (PostgreSQL)
are created by migration ``pmo0001`` (``workflows/records/migrations``).

These tables have their own metadata and their own migrations: the engine knows nothing
of them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.store.models import NAMING, UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of the PMO record tables (a metadata of their own)."""

    metadata = MetaData(naming_convention=NAMING)


Money = Numeric(18, 2)


class Project(Base):
    """One project in the portfolio, from proposal to archive."""

    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_stage_id", "stage", "id"),
        Index("ix_projects_pm_stage", "pm", "stage"),
        Index("ix_projects_sponsor_stage", "sponsor", "stage"),
        CheckConstraint("budget_amount >= 0", name="budget_not_negative"),
        CheckConstraint("headcount >= 0", name="headcount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: PRJ-YYYY-NNNN, allocated at approval (NULL before).
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    business_case: Mapped[str] = mapped_column(Text)
    strategic_objective: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(32))
    budget_amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    budget_reporting: Mapped[Decimal] = mapped_column(Money)
    reporting_currency: Mapped[str] = mapped_column(String(3))
    planned_start: Mapped[date] = mapped_column(Date)
    planned_end: Mapped[date] = mapped_column(Date)
    actual_end: Mapped[date | None] = mapped_column(Date)
    actual_cost_amount: Mapped[Decimal | None] = mapped_column(Money)
    actual_cost_currency: Mapped[str | None] = mapped_column(String(3))
    actual_cost_reporting: Mapped[Decimal | None] = mapped_column(Money)
    #: 1 (very unhappy) .. 5 (very happy), recorded at closure.
    customer_satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    expected_roi_pct: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    risk_rating: Mapped[str] = mapped_column(String(16))
    departments: Mapped[list[str]] = mapped_column(JSON)
    headcount: Mapped[int] = mapped_column(Integer)
    pm: Mapped[str] = mapped_column(String(64))
    sponsor: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))
    approval_instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProjectStageChange(Base):
    """One stage change (the first row, from NULL to Proposed, is the submission)."""

    __tablename__ = "project_stage_changes"
    __table_args__ = (
        Index("ix_project_stage_changes_project_at", "project_id", "at"),
        Index("ix_project_stage_changes_to_stage_at", "to_stage", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    #: A committee's decision: each member's vote ({by, on_behalf_of, decision, comment});
    #: ``by`` is then ``committee:<role>``.
    votes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class CodeSequence(Base):
    """Gap-free counters for business codes, one row per name (e.g. ``PRJ-2026``)."""

    __tablename__ = "code_sequences"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer)


class Risk(Base):
    """One entry of the risk register."""

    __tablename__ = "risks"
    __table_args__ = (
        Index("ix_risks_project_status", "project_id", "status"),
        Index("ix_risks_category_level", "category", "level"),
        Index("ix_risks_status_level", "status", "level"),
        CheckConstraint("probability BETWEEN 1 AND 5", name="probability_range"),
        CheckConstraint("impact BETWEEN 1 AND 5", name="impact_range"),
        CheckConstraint("levels_required BETWEEN 1 AND 3", name="levels_required_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32))
    probability: Mapped[int] = mapped_column(SmallInteger)
    impact: Mapped[int] = mapped_column(SmallInteger)
    #: Computed by the PMO's scoring decision table, stored as it decided.
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))
    levels_required: Mapped[int] = mapped_column(SmallInteger)
    response: Mapped[str] = mapped_column(String(16))
    contingency: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_level: Mapped[int | None] = mapped_column(SmallInteger)
    response_plan: Mapped[str | None] = mapped_column(Text)
    close_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RiskReview(Base):
    """One reviewer's verdict at one level of the three-level review."""

    __tablename__ = "risk_reviews"
    __table_args__ = (
        Index("ix_risk_reviews_risk_at", "risk_id", "at"),
        CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(SmallInteger)
    reviewer: Mapped[str] = mapped_column(String(64))
    #: approve | send_back | escalate
    outcome: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Escalation(Base):
    """An issue beyond a PM's authority, and what the PMO or steering decided."""

    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_status_severity", "status", "severity"),
        Index("ix_escalations_project_status", "project_id", "status"),
        Index("ix_escalations_raised_by", "raised_by", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    affected_project_ids: Mapped[list[int]] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    tried: Mapped[str] = mapped_column(Text, default="")
    needed_by: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_level: Mapped[str | None] = mapped_column(String(16))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    #: Every decision and reopening, oldest first: {kind (decided | handed_back |
    #: reopened), text, by, at, level}; the columns above keep the latest.
    log: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Lesson(Base):
    """A lesson learned; once curated and published it is in the lessons library."""

    __tablename__ = "lessons"
    __table_args__ = (
        Index("ix_lessons_published_created", "published", "created_at"),
        Index("ix_lessons_project_id", "project_id"),
        Index("ix_lessons_merged_into_id", "merged_into_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    author: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300), default="")
    category: Mapped[str] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JSON)
    what_went_well: Mapped[str] = mapped_column(Text, default="")
    what_did_not: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    curated_by: Mapped[str | None] = mapped_column(String(64))
    curated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="SET NULL")
    )
    #: Lower-cased text of the lesson (and of lessons merged into it) that search reads;
    #: kept by the repository, indexed by FTS5 (SQLite) or a trigram GIN index (PG).
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)


class LessonRead(Base):
    """Someone opened a published lesson (one row per lesson and reader, the first time):
    what the library's read counts and the dashboard's "lessons read" count."""

    __tablename__ = "lesson_reads"
    __table_args__ = (
        UniqueConstraint("lesson_id", "username"),
        Index("ix_lesson_reads_read_at", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(64))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime())


#: Search objects made by migration pmo0001 outside the metadata (see the module docstring).
SEARCH_TABLE_PREFIX = "lessons_fts"
SEARCH_INDEXES = frozenset({"ix_lessons_search_trgm", "ix_projects_title_trgm"})


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic ``include_name`` hook: hide the search objects from autogenerate, which
    would otherwise propose dropping the FTS5 tables and the trigram indexes."""
    if type_ == "table" and name and name.startswith(SEARCH_TABLE_PREFIX):
        return False
    return not (type_ == "index" and name in SEARCH_INDEXES)
