"""Read models of the PMO pages: portfolio, project, risk register, escalation log,
lessons library, notifications and the project picker.  One call per page, dataclasses back.

Read-only: plain SQLAlchemy over the PMO records (``workflows.records``) and the engine's
indexed tables; nothing here writes or commits, except :func:`open_lesson`, which counts
the reader of a published lesson in its own short transaction.  No Flask.

Who reads what: the need-to-know policy (:mod:`engine.access`, applied to the records by
:mod:`workflows.records.visibility`; docs/access.md):

- the PMO roles and the steering committee read the whole portfolio, every risk and
  escalation; everyone else the projects where they hold a role or that name them (PM,
  sponsor), those projects' records, and the records of requests they take part in;
  every list, count, filter choice and search here is filtered by the same condition, and
  one record outside it is :class:`Forbidden`;
- the lessons library shows published lessons to everyone; unpublished ones to those who
  may see their project (the PMO may list them all with "all");
- a request listed on a project page links to its page only for those who may see it;
- notifications belong to their owner alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from engine import identity
from engine.access import PMO_ROLES, may_view_instance
from engine.cycle_times import CycleTime
from engine.errors import Forbidden, NotFound
from engine.notifications import NotificationView
from engine.pages import Deadlines, Directory, deadlines, directory, process_names
from engine.store.models import Notification, ProcessInstance
from engine.store.uow import unit_of_work
from workflows import records
from workflows.records import visibility
from workflows.records.lessons import views as lesson_views
from workflows.records.models import Escalation, Lesson, Project, Risk
from workflows.records.search import contains_pattern, split_terms
from workflows.records.views import (
    EscalationView,
    LessonView,
    Money,
    ProjectView,
    RiskView,
    StageChangeView,
)
from workflows.records.vocab import ACTIVE_STAGES, PROJECT_STAGES

if TYPE_CHECKING:
    from engine.api import Engine

#: Most rows a project page lists per section.
SECTION_LIMIT = 200


@dataclass(frozen=True)
class ProjectChoice:
    """A project offered by a picker or a filter: ``PRJ-2026-0001 — Title``."""

    id: int
    code: str | None
    title: str
    stage: str

    @property
    def label(self) -> str:
        """What a select shows: code and title (the title alone before the project has a
        code, rather than a bare record id)."""
        return f"{self.code} — {self.title}" if self.code else self.title


@dataclass(frozen=True)
class PortfolioStats:
    """The headline figures over the whole portfolio (filters do not apply)."""

    active: int
    active_budget: Money
    open_high_risks: int
    open_escalations: int


@dataclass(frozen=True)
class PortfolioPage:
    """One page of projects, the counts per stage (other filters applied) and the totals."""

    projects: list[ProjectView]
    total: int
    stage_counts: dict[str, int]
    budget_total: Money
    stats: PortfolioStats
    pms: tuple[str, ...]
    sponsors: tuple[str, ...]
    directory: Directory
    #: Per project of the page: risks not closed, and of them the high ones.
    open_risks: dict[int, int] = field(default_factory=dict)
    open_high_risks: dict[int, int] = field(default_factory=dict)
    #: Per project of the page: escalations it raised that are not resolved.
    open_escalations: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectRequest:
    """A process instance of a project; ``can_open`` when the reader may see its page."""

    id: int
    title: str
    business_key: str | None
    process_name: str
    status: str
    current_step: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    can_open: bool
    #: How long it took (or has been running), elapsed and in working days.
    cycle: CycleTime | None = None


@dataclass(frozen=True)
class TimelineEntry:
    """One moment in a project's life, for its timeline (newest first).

    ``kind``: request_started, request_ended, stage, risk_raised, risk_decided,
    risk_closed, escalation_raised, escalation_decided, escalation_resolved, lesson.
    ``ref`` is what the entry links to: ("instance" | "risk" | "escalation" | "lesson", id)
    or None when the reader may not open it; ``item`` the request, stage change, risk,
    escalation or lesson view the page shows it from.
    """

    at: datetime
    kind: str
    who: str | None
    ref: tuple[str, int] | None
    item: object


@dataclass(frozen=True)
class ProjectPage:
    """A project's record with its history, requests, risks, escalations and lessons."""

    project: ProjectView
    history: list[StageChangeView]
    requests: list[ProjectRequest]
    risks: list[RiskView]
    escalations: list[EscalationView]
    affected_by: list[EscalationView]
    lessons: list[LessonView]
    projects: dict[int, ProjectChoice]
    directory: Directory
    now: datetime
    #: Everything above in time order, newest first.
    timeline: list[TimelineEntry] = field(default_factory=list)


def project_timeline(history: list[StageChangeView], requests: list[ProjectRequest],
                     risks: list[RiskView], escalations: list[EscalationView],
                     lessons: list[LessonView]) -> list[TimelineEntry]:
    """A project's requests, stage changes, risks, escalations and lessons in one list,
    newest first (ties: the order things happen in a process)."""
    out: list[TimelineEntry] = []
    for r in requests:
        ref = ("instance", r.id) if r.can_open else None
        out.append(TimelineEntry(r.started_at, "request_started", r.started_by, ref, r))
        if r.ended_at is not None:
            out.append(TimelineEntry(r.ended_at, "request_ended", None, ref, r))
    out.extend(TimelineEntry(c.at, "stage", c.by, None, c) for c in history)
    for k in risks:
        out.append(TimelineEntry(k.raised_at, "risk_raised", k.raised_by, ("risk", k.id), k))
        if k.decided_at is not None:
            out.append(TimelineEntry(k.decided_at, "risk_decided", k.decided_by,
                                     ("risk", k.id), k))
        if k.closed_at is not None:
            out.append(TimelineEntry(k.closed_at, "risk_closed", None, ("risk", k.id), k))
    for e in escalations:
        ref = ("escalation", e.id)
        out.append(TimelineEntry(e.raised_at, "escalation_raised", e.raised_by, ref, e))
        if e.decided_at is not None:
            out.append(TimelineEntry(e.decided_at, "escalation_decided", e.decided_by, ref, e))
        if e.resolved_at is not None:
            out.append(TimelineEntry(e.resolved_at, "escalation_resolved", None, ref, e))
    for lesson in lessons:
        out.append(TimelineEntry(lesson.published_at or lesson.created_at, "lesson",
                                 lesson.author, ("lesson", lesson.id), lesson))
    order = {k: n for n, k in enumerate((
        "request_started", "stage", "risk_raised", "escalation_raised", "risk_decided",
        "escalation_decided", "escalation_resolved", "risk_closed", "lesson",
        "request_ended"))}
    out.sort(key=lambda t: (t.at, order.get(t.kind, 0)), reverse=True)
    return out


@dataclass(frozen=True)
class RiskRegister:
    """One page of the register and the category x level matrix for the same filters."""

    risks: list[RiskView]
    total: int
    matrix: dict[tuple[str, str], int]
    projects: tuple[ProjectChoice, ...]
    directory: Directory


@dataclass(frozen=True)
class RiskPage:
    """One risk, its project and its reviews grouped by level (1..levels required)."""

    risk: RiskView
    project: ProjectView
    levels: dict[int, list[records.RiskReviewView]]
    directory: Directory
    #: When the review's open steps are due and what happens then (None: no request).
    deadlines: Deadlines | None = None


@dataclass(frozen=True)
class EscalationLog:
    """One page of the escalation log, counts per status, project labels for the rows."""

    escalations: list[EscalationView]
    total: int
    status_counts: dict[str, int]
    projects: dict[int, ProjectChoice]
    directory: Directory
    now: datetime


@dataclass(frozen=True)
class EscalationPage:
    """One escalation with the projects it names."""

    escalation: EscalationView
    projects: dict[int, ProjectChoice]
    directory: Directory
    now: datetime
    #: When the triage (or the next step) is due and what happens then.
    deadlines: Deadlines | None = None


@dataclass(frozen=True)
class LessonLibrary:
    """One page of lessons found, the search terms (for highlighting) and the tag cloud."""

    lessons: list[LessonView]
    total: int
    terms: tuple[str, ...]
    tags: tuple[tuple[str, int], ...]
    published_only: bool
    directory: Directory


@dataclass(frozen=True)
class LessonPage:
    """One lesson in full."""

    lesson: LessonView
    directory: Directory


@dataclass(frozen=True)
class NotificationList:
    """A person's newest notifications and how many are unread."""

    items: list[NotificationView]
    unread: int
    now: datetime


# --------------------------------------------------------------------------- helpers


def is_pmo(session: Session, username: str) -> bool:
    """True for the PMO roles (they also see unpublished lessons)."""
    return bool(identity.global_roles(session, username) & PMO_ROLES)


def _choices(session: Session, *conds: ColumnElement[bool]) -> list[ProjectChoice]:
    rows = session.execute(select(Project.id, Project.code, Project.title, Project.stage)
                           .where(*conds).order_by(Project.code.is_(None), Project.code,
                                                   Project.id))
    return [ProjectChoice(*r) for r in rows]


def _choices_by_id(session: Session, ids: set[int]) -> dict[int, ProjectChoice]:
    return {c.id: c for c in _choices(session, Project.id.in_(ids))} if ids else {}


def _project_conds(pm: str | None, sponsor: str | None, q: str | None) -> list:
    conds = []
    if pm:
        conds.append(Project.pm == pm)
    if sponsor:
        conds.append(Project.sponsor == sponsor)
    if q and q.strip():
        pattern = contains_pattern(q.strip())
        conds.append(or_(Project.title.ilike(pattern, escape="\\"),
                         Project.code.ilike(pattern, escape="\\")))
    return conds


def _money(value: Decimal | None) -> Money:
    return Money(Decimal(value or 0).quantize(Decimal("0.01")), records.REPORTING_CURRENCY)


# --------------------------------------------------------------------------- portfolio


def portfolio_stats(session: Session, username: str, now: datetime) -> PortfolioStats:
    """Active projects and their budget, open high risks, unresolved escalations (of what
    ``username`` may see)."""
    active = Project.stage.in_(ACTIVE_STAGES)
    count, budget = session.execute(select(func.count(), func.sum(Project.budget_reporting))
                                    .where(active, visibility.projects(session, username))
                                    ).one()
    risks = session.scalar(select(func.count()).select_from(Risk).where(
        Risk.level == "high", Risk.status != "closed",
        visibility.risks(session, username, now))) or 0
    escalations = session.scalar(select(func.count()).select_from(Escalation).where(
        Escalation.status != "resolved", visibility.escalations(session, username, now))) or 0
    return PortfolioStats(int(count or 0), _money(budget), int(risks), int(escalations))


def portfolio_page(session: Session, username: str, now: datetime, *,
                   stage: str | None = None, pm: str | None = None,
                   sponsor: str | None = None, q: str | None = None, limit: int = 25,
                   offset: int = 0) -> PortfolioPage:
    """The portfolio list (``records.list_projects``) and what its filters offer, of the
    projects ``username`` may see."""
    seen = visibility.projects(session, username)
    projects, total = records.list_projects(session, stage=stage, pm=pm, sponsor=sponsor,
                                            q=q, limit=limit, offset=offset, visible=seen)
    conds = [*_project_conds(pm, sponsor, q), seen]
    counts = dict.fromkeys(PROJECT_STAGES, 0)
    counts.update({st: n for st, n in session.execute(
        select(Project.stage, func.count()).where(*conds).group_by(Project.stage))})
    if stage:
        conds.append(Project.stage == stage)
    budget = session.scalar(select(func.sum(Project.budget_reporting)).where(*conds))
    pms = tuple(session.scalars(select(Project.pm).where(seen).distinct()
                                .order_by(Project.pm)))
    sponsors = tuple(session.scalars(select(Project.sponsor).where(seen).distinct()
                                     .order_by(Project.sponsor)))
    ids = [p.id for p in projects]
    risks: dict[int, int] = {}
    high: dict[int, int] = {}
    for pid, level, n in session.execute(
            select(Risk.project_id, Risk.level, func.count())
            .where(Risk.project_id.in_(ids), Risk.status != "closed")
            .group_by(Risk.project_id, Risk.level)):
        risks[pid] = risks.get(pid, 0) + int(n)
        if level == "high":
            high[pid] = int(n)
    escalations = {pid: int(n) for pid, n in session.execute(
        select(Escalation.project_id, func.count())
        .where(Escalation.project_id.in_(ids), Escalation.status != "resolved")
        .group_by(Escalation.project_id))}
    return PortfolioPage(projects, total, counts, _money(budget),
                         portfolio_stats(session, username, now), pms, sponsors,
                         directory(session), risks, high, escalations)


def project_page(eng: Engine, session: Session, project_id: int, username: str
                 ) -> ProjectPage:
    """Everything about one project; :class:`NotFound` for an unknown id,
    :class:`Forbidden` for a project ``username`` may not see."""
    now = eng.clock.now()
    visibility.require(session, Project, project_id, visibility.projects(session, username))
    project = records.get_project(session, project_id)
    risks, _ = records.list_risks(session, project_id=project_id, limit=SECTION_LIMIT,
                                  visible=visibility.risks(session, username, now))
    raised, _ = records.list_escalations(session, project_id=project_id,
                                         limit=SECTION_LIMIT,
                                         visible=visibility.escalations(session, username, now))
    lessons, _ = records.list_lessons(session, project_id=project_id, limit=SECTION_LIMIT,
                                      visible=visibility.lessons(session, username, now))
    affected = [records.get_escalation(session, i)
                for i in _naming(session, project_id,
                                 visibility.escalations(session, username, now))]
    ids = {i for e in (*raised, *affected) for i in (e.project_id, *e.affected_project_ids)}
    history = records.stage_history(session, project_id)
    requests = _requests(eng, session, project, username)
    return ProjectPage(
        project=project, history=history, requests=requests, risks=risks,
        escalations=raised, affected_by=affected, lessons=lessons,
        projects=_choices_by_id(session, ids), directory=directory(session),
        now=eng.clock.now(),
        timeline=project_timeline(history, requests, risks, [*raised, *affected], lessons),
    )


def _requests(eng: Engine, session: Session, project: ProjectView, username: str
              ) -> list[ProjectRequest]:
    cond = ProcessInstance.project_id == project.id
    if project.approval_instance_id is not None:
        cond = or_(cond, ProcessInstance.id == project.approval_instance_id)
    names = process_names(session)
    found = session.scalars(select(ProcessInstance).where(cond)
                            .order_by(ProcessInstance.id.desc()).limit(SECTION_LIMIT))
    return [ProjectRequest(i.id, i.title, i.business_key,
                           names.get(i.process_key, i.process_key), i.status, i.current_step,
                           i.started_by, i.started_at, i.ended_at,
                           may_view_instance(session, username, i, eng.clock.now()),
                           eng.measure_cycle(session, i.started_at, i.ended_at))
            for i in found]


def _naming(session: Session, project_id: int, seen: ColumnElement[bool]) -> list[int]:
    """Ids of escalations raised elsewhere that name ``project_id`` as affected (of those
    the condition ``seen`` lets the reader see)."""
    if session.connection().dialect.name == "postgresql":
        cond = Escalation.affected_project_ids.cast(JSONB).contains([project_id])
    else:
        each = func.json_each(Escalation.affected_project_ids).table_valued("value")
        cond = exists(select(literal(1)).select_from(each).where(each.c.value == project_id))
    return list(session.scalars(select(Escalation.id).where(cond, seen)
                                .order_by(Escalation.raised_at.desc()).limit(SECTION_LIMIT)))


def project_choices(session: Session, username: str, *, every: bool = False
                    ) -> list[ProjectChoice]:
    """Projects ``username`` may pick in a form: running projects they manage, sponsor or
    hold a project role in; the PMO roles may pick any running project, and so may
    everyone with ``every`` (to name other projects, e.g. those an issue affects)."""
    conds = [Project.stage.in_(ACTIVE_STAGES)]
    if not every and not is_pmo(session, username):
        conds.append(visibility.projects(session, username))
    return _choices(session, *conds)


def project_labels(session: Session, ids: set[int]) -> dict[int, ProjectChoice]:
    """The projects with these ids (any stage), by id, for showing them by code and title."""
    return _choices_by_id(session, {i for i in ids if isinstance(i, int)})


# --------------------------------------------------------------------------- risks


def risk_register(session: Session, username: str, now: datetime, *,
                  level: str | None = None, category: str | None = None,
                  status: str | None = None, project_id: int | None = None, limit: int = 25,
                  offset: int = 0) -> RiskRegister:
    """The register (``records.list_risks``) of the risks ``username`` may see; the matrix
    counts the same project and status filters, so a cell's count is what clicking it
    lists."""
    seen = visibility.risks(session, username, now)
    risks, total = records.list_risks(session, project_id=project_id, level=level,
                                      category=category, status=status, limit=limit,
                                      offset=offset, visible=seen)
    conds = [c for c, v in ((Risk.status == status, status),
                            (Risk.project_id == project_id, project_id)) if v is not None]
    conds.append(seen)
    matrix = {(c, lv): n for c, lv, n in session.execute(
        select(Risk.category, Risk.level, func.count()).where(*conds)
        .group_by(Risk.category, Risk.level))}
    with_risks = select(Risk.project_id).where(seen).distinct()
    return RiskRegister(risks, total, matrix,
                        tuple(_choices(session, Project.id.in_(with_risks))),
                        directory(session))


def risk_page(eng: Engine, session: Session, risk_id: int, username: str) -> RiskPage:
    """One risk with its reviews per level and the deadlines of its review request;
    :class:`NotFound` for an unknown id, :class:`Forbidden` for one ``username`` may not
    see."""
    visibility.require(session, Risk, risk_id,
                       visibility.risks(session, username, eng.clock.now()))
    risk = records.get_risk(session, risk_id)
    top = max([risk.levels_required, *(r.level for r in risk.reviews)])
    levels: dict[int, list[records.RiskReviewView]] = {n: [] for n in range(1, top + 1)}
    for review in risk.reviews:
        levels.setdefault(review.level, []).append(review)
    due = deadlines(eng, session, risk.instance_id) if risk.instance_id else None
    return RiskPage(risk, records.get_project(session, risk.project_id), levels,
                    directory(session), due)


# --------------------------------------------------------------------------- escalations


def escalation_log(eng: Engine, session: Session, username: str, *,
                   status: str | None = None, kind: str | None = None,
                   severity: str | None = None, project_id: int | None = None,
                   limit: int = 25, offset: int = 0) -> EscalationLog:
    """The log (``records.list_escalations``) of the escalations ``username`` may see,
    newest first, with counts per status."""
    seen = visibility.escalations(session, username, eng.clock.now())
    rows, total = records.list_escalations(session, project_id=project_id, status=status,
                                           kind=kind, severity=severity, limit=limit,
                                           offset=offset, visible=seen)
    counts = {st: n for st, n in session.execute(
        select(Escalation.status, func.count()).where(seen).group_by(Escalation.status))}
    raising = select(Escalation.project_id).where(seen).distinct()
    ids = {i for e in rows for i in e.affected_project_ids}
    projects = {c.id: c for c in _choices(session, or_(Project.id.in_(raising),
                                                       Project.id.in_(ids)))}
    return EscalationLog(rows, total, counts, projects, directory(session), eng.clock.now())


def escalation_page(eng: Engine, session: Session, escalation_id: int, username: str
                    ) -> EscalationPage:
    """One escalation; :class:`NotFound` for an unknown id, :class:`Forbidden` for one
    ``username`` may not see."""
    visibility.require(session, Escalation, escalation_id,
                       visibility.escalations(session, username, eng.clock.now()))
    esc = records.get_escalation(session, escalation_id)
    due = deadlines(eng, session, esc.instance_id) if esc.instance_id else None
    return EscalationPage(esc, _choices_by_id(session, {esc.project_id,
                                                        *esc.affected_project_ids}),
                          directory(session), eng.clock.now(), due)


# --------------------------------------------------------------------------- lessons


def lesson_library(session: Session, username: str, now: datetime, *,
                   query: str | None = None, category: str | None = None,
                   tag: str | None = None, published_only: bool = True, limit: int = 20,
                   offset: int = 0) -> LessonLibrary:
    """Lessons matching every term of ``query`` (English words, Chinese terms), newest
    first; only published ones unless the reader is in the PMO and asks for all (and
    even then only the lessons ``username`` may see)."""
    published_only = published_only or not is_pmo(session, username)
    lessons, total = records.list_lessons(session, published_only=published_only,
                                          category=category or None, tag=tag or None,
                                          query=query, limit=limit, offset=offset,
                                          visible=visibility.lessons(session, username, now))
    return LessonLibrary(lessons, total, tuple(split_terms(query)),
                         lesson_tags(session, published_only=published_only),
                         published_only, directory(session))


def lesson_tags(session: Session, *, published_only: bool = True, limit: int = 24
                ) -> tuple[tuple[str, int], ...]:
    """The most used tags of the library (most used first), for the tag filter."""
    conds = [Lesson.merged_into_id.is_(None)]
    if published_only:
        conds.append(Lesson.published.is_(True))
    counts: dict[str, int] = {}
    for tags in session.scalars(select(Lesson.tags).where(*conds)):
        for tag in tags or ():
            counts[tag] = counts.get(tag, 0) + 1
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])


def lesson_page(session: Session, lesson_id: int, username: str, now: datetime
                ) -> LessonPage:
    """One lesson; :class:`NotFound` for an unknown id, :class:`Forbidden` for an
    unpublished one of a project ``username`` may not see."""
    visibility.require(session, Lesson, lesson_id,
                       visibility.lessons(session, username, now))
    return LessonPage(records.get_lesson(session, lesson_id), directory(session))


def open_lesson(eng: Engine, session: Session, lesson_id: int, username: str) -> LessonPage:
    """:func:`lesson_page`, counting ``username`` as a reader of the published lesson the
    first time they open it (one transaction; the page shows the count with this read).
    The need-to-know check comes first: a refused reader is never counted."""
    now = eng.clock.now()
    lesson_page(session, lesson_id, username, now)
    with unit_of_work(session) as work:
        records.record_read(work, lesson_id, username, now)
    return lesson_page(session, lesson_id, username, now)


def lessons_by_project_category(session: Session, categories: Iterable[str], *,
                                limit: int = 4) -> dict[str, list[LessonView]]:
    """For each project category, the newest published lessons of projects of that
    category (what the proposal form shows a PM while they choose a category)."""
    out: dict[str, list[LessonView]] = {}
    for category in categories:
        rows = session.scalars(select(Lesson).join(Project, Project.id == Lesson.project_id)
                               .where(Project.category == category,
                                      Lesson.published.is_(True),
                                      Lesson.merged_into_id.is_(None))
                               .order_by(Lesson.published_at.desc(), Lesson.id.desc())
                               .limit(limit))
        found = list(rows)
        if found:
            out[category] = lesson_views(session, found)
    session.rollback()
    return out


# --------------------------------------------------------------------------- notifications


def notification_list(eng: Engine, session: Session, username: str, *,
                      unread_only: bool = False, limit: int = 50) -> NotificationList:
    """The bell's page: newest first."""
    return NotificationList(eng.notifications(session, username, unread_only=unread_only,
                                              limit=limit),
                            eng.unread_notifications(session, username), eng.clock.now())


def notification(session: Session, notification_id: int, username: str
                 ) -> NotificationView:
    """One of ``username``'s notifications: :class:`NotFound` if there is none,
    :class:`Forbidden` if it is someone else's."""
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound(f"No notification {notification_id}.")
    if row.username != username:
        raise Forbidden("this notification is someone else's")
    return NotificationView(row.id, row.kind, row.title, row.body, row.link, row.instance_id,
                            row.created_at, row.read_at, row.message)
