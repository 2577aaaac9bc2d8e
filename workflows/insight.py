"""The PMO dashboard's figures: where work waits, and whether the PMO is getting faster.

Read-only queries over indexed tables only (``process_instances``, ``human_tasks`` and the
PMO records ``projects``, ``risks``, ``escalations``); never a deserialized workflow.  Each
figure is a dataclass with ``columns`` and ``rows`` (what the table view and the CSV show)
plus the series a chart draws.  Percentiles are computed here, the same on SQLite and
PostgreSQL.  No Flask.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Date,
    Float,
    Integer,
    Numeric,
    Select,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import Grouping

if TYPE_CHECKING:
    from engine.api import Engine

from engine import identity, rollup
from engine.errors import FieldError, Forbidden, InvalidData
from engine.store.models import HumanTask, ProcessInstance, UTCDateTime
from workflows.records.models import Escalation, Lesson, LessonRead, Project, Risk
from workflows.records.vocab import PROJECT_CATEGORIES

#: The figures the dashboard shows, in page order (also the API's and CSV's names).
FIGURES: tuple[str, ...] = (
    "cycle_time", "cycle_trend", "steps", "sla_by_role", "wip", "throughput",
    "approval_routes", "risk_grid", "escalations", "lessons",
)
#: The longest period one dashboard covers.
MAX_PERIOD = timedelta(days=3 * 366)
DAY = 86400.0
#: Who sees the dashboard.
READERS = frozenset({"pmo_head", "pmo_admin"})


@dataclass(frozen=True)
class Filters:
    """Which work the figures count: started from ``start`` up to ``end`` (dates,
    inclusive), optionally only projects of one ``category`` and of one ``department``
    (a project involves every department its proposal names)."""

    start: date
    end: date
    category: str | None = None
    department: str | None = None
    #: The database's dialect, set by :func:`dashboard` and :func:`heatmap` (the
    #: department test reads the projects' JSON list differently per database).
    dialect: str = field(default="", compare=False, repr=False)

    @property
    def since(self) -> datetime:
        """The first moment of the period (UTC)."""
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The first moment after the period (UTC)."""
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC)


def parse_filters(raw: dict[str, Any], today: date,
                  departments: Collection[str] | None = None) -> Filters:
    """Filters from query arguments (``start``, ``end`` as YYYY-MM-DD, ``category``,
    ``department``); default: the twelve months up to ``today``.  :class:`InvalidData`
    naming the field for a garbled date, an end before the start, a period over three
    years or in the future, an unknown category, or (given the known ``departments``) a
    department no project names."""
    errors: dict[str, FieldError] = {}

    def day(name: str, default: date) -> date:
        text = str(raw.get(name) or "").strip()
        if not text:
            return default
        try:
            return date.fromisoformat(text)
        except ValueError:
            errors[name] = FieldError(f"{text[:40]!r} is not a date (YYYY-MM-DD).",
                                      "dashboard.date_invalid", field=name, value=text[:40])
            return default

    end = day("end", today)
    start = day("start", first_of_month_back(end, 11))
    if not errors:
        if end < start:
            errors["end"] = FieldError(
                f"The period ends ({end}) before it starts ({start}).",
                "dashboard.period_reversed", field="end", start=str(start), end=str(end))
        elif end - start > MAX_PERIOD:
            errors["start"] = FieldError(
                "Choose a period of at most three years.", "dashboard.period_too_long",
                field="start", days=MAX_PERIOD.days)
        elif start > today:
            errors["start"] = FieldError(
                f"The period starts after today ({today}).", "dashboard.period_future",
                field="start", today=str(today))
    category = str(raw.get("category") or "").strip() or None
    if category is not None and category not in PROJECT_CATEGORIES:
        errors["category"] = FieldError(
            f"{category[:40]!r} is not a project category.", "dashboard.category_unknown",
            field="category", value=category[:40])
    department = str(raw.get("department") or "").strip() or None
    if department is not None and departments is not None and department not in departments:
        errors["department"] = FieldError(
            f"No project involves the department {department[:40]!r}.",
            "dashboard.department_unknown", field="department", value=department[:40])
    if errors:
        raise InvalidData(errors)
    return Filters(start=start, end=end, category=category, department=department)


def first_of_month_back(day: date, months: int) -> date:
    """The first day of the month ``months`` before ``day``'s (the default period: the
    twelve calendar months up to today, so the first month of the trend is whole)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, 1)


def next_month(month: date) -> date:
    """The first day of the month after ``month``'s."""
    return first_of_month_back(month, -1)


def departments(session: Session) -> tuple[str, ...]:
    """Every department some project names (its proposal's ``departments``), sorted."""
    found: set[str] = set()
    for names in session.scalars(select(Project.departments)):
        found.update(str(n) for n in names or () if n)
    return tuple(sorted(found, key=str.casefold))


def _bound(filters: Filters, session: Session) -> Filters:
    return replace(filters, dialect=session.get_bind().dialect.name)


@dataclass(frozen=True)
class Figure:
    """One dashboard figure: a table (``columns``, ``rows``) and what its chart draws."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    chart: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dashboard:
    """Every figure for one set of filters, and the moment they were computed."""

    filters: Filters
    now: datetime
    figures: dict[str, Figure]


# --------------------------------------------------------------------------- helpers


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The ``pct`` percentile (nearest rank) of ``values``; None when empty."""
    return rollup.percentile(Counter(values), pct)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _d(tenths: float | None) -> float | None:
    """Tenths of a day (:func:`engine.rollup.tenths`) as days."""
    return None if tenths is None else tenths / 10


class WorkingTime:
    """The install's business calendar for one dashboard read: ``workday`` asks
    ``is_workday`` once per day, ``off`` counts the whole non-working days between two
    moments from a cumulative count (:class:`engine.rollup.DaysOff`)."""

    def __init__(self, is_workday: Callable[[date], bool]):
        self.is_workday = is_workday
        self._cache: dict[date, bool] = {}
        self.off = rollup.DaysOff(self.workday)

    def workday(self, day: date) -> bool:
        """Whether ``day`` is a working day."""
        found = self._cache.get(day)
        if found is None:
            found = self._cache[day] = bool(self.is_workday(day))
        return found


def _month(when: datetime) -> str:
    return f"{when.year:04d}-{when.month:02d}"


def _months(filters: Filters) -> list[str]:
    out, y, m = [], filters.start.year, filters.start.month
    while (y, m) <= (filters.end.year, filters.end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _department(filters: Filters) -> ColumnElement[bool]:
    """Projects whose ``departments`` list holds the filter's department."""
    if filters.dialect == "postgresql":
        return Project.departments.cast(JSONB).contains([filters.department])
    each = func.json_each(Project.departments).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(
        each.c.value == filters.department))


def _in_category(query: Select[Any], project_id: Any, filters: Filters) -> Select[Any]:
    if filters.category is None and filters.department is None:
        return query
    conds: list[ColumnElement[bool]] = []
    if filters.category is not None:
        conds.append(Project.category == filters.category)
    if filters.department is not None:
        conds.append(_department(filters))
    return query.where(project_id.in_(select(Project.id).where(*conds)))


# --------------------------------------------------------------------------- figures


def may_read(session: Session, actor: str) -> bool:
    """Whether ``actor`` sees the dashboard (the PMO head and the PMO administrator)."""
    return bool(identity.global_roles(session, actor) & READERS)


def read(bpm: Engine, session: Session, actor: str, raw: dict[str, Any],
         only: Iterable[str] | None = None) -> Dashboard:
    """The dashboard for ``actor`` (:class:`Forbidden` unless PMO head or admin) with the
    filters in ``raw`` (:class:`InvalidData` naming the field when they are impossible)."""
    if not may_read(session, actor):
        session.rollback()
        raise Forbidden("only the PMO head and the PMO administrator see the dashboard",
                        code="access.dashboard_only")
    now = bpm.clock.now()
    filters = parse_filters(raw, now.date(), departments(session))
    return dashboard(session, filters, now, lambda day: bpm.is_workday(session, day), only)


def dashboard(session: Session, filters: Filters, now: datetime,
              is_workday: Callable[[date], bool], only: Iterable[str] | None = None,
              in_sql: bool | None = None, summary: bool | None = None) -> Dashboard:
    """The dashboard's figures (all, or the ones named in ``only``) for ``filters``.

    ``summary``: read cycle times, step waits, SLA breaches and throughput from the
    monthly summary (:mod:`engine.rollup`, kept with the work) plus the rows of the
    period's partial months and the open work; None: whenever the summary is built and
    no category or department is chosen (the summary has neither).
    ``in_sql``: aggregate the others in the database (PostgreSQL: counts,
    ``percentile_disc`` for the medians and p90s, working days from the calendar passed
    as an array), reading a few rows per group instead of every instance and task of the
    period; None: on PostgreSQL.  Every way gives the same figures
    (``tests/workflows/test_insight_sql.py``)."""
    wanted = tuple(only) if only is not None else FIGURES
    unknown = [n for n in wanted if n not in FIGURES]
    if unknown:
        raise InvalidData({"figure": FieldError(
            f"{unknown[0][:40]!r} is not a dashboard figure.", "dashboard.figure_unknown",
            field="figure", value=unknown[0][:40])})
    filters = _bound(filters, session)
    work = WorkingTime(is_workday)
    cache: dict[str, Any] = {}
    out: dict[str, Figure] = {}
    if in_sql is None:
        in_sql = session.get_bind().dialect.name == "postgresql"
    if summary is None:
        summary = (filters.category is None and filters.department is None
                   and rollup.is_built(session))
    builders = {**_BUILDERS, **_SQL_BUILDERS} if in_sql else dict(_BUILDERS)
    if summary:
        builders.update(_SUMMARY_BUILDERS)
    if in_sql:  # the percentiles sort a year of rows in memory, not on disk (this read only)
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    for name in wanted:
        out[name] = builders[name](session, filters, now, work, cache)
    session.rollback()
    return Dashboard(filters=filters, now=now, figures=out)


def _instances(session: Session, filters: Filters, cache: dict[str, Any]) -> list[Any]:
    """Instances started or ended in the period: (id, process, status, started, ended,
    project)."""
    if "instances" not in cache:
        q = select(ProcessInstance.id, ProcessInstance.process_key, ProcessInstance.status,
                   ProcessInstance.started_at, ProcessInstance.ended_at,
                   ProcessInstance.project_id).where(or_(
                       and_(ProcessInstance.started_at >= filters.since,
                            ProcessInstance.started_at < filters.until),
                       and_(ProcessInstance.ended_at >= filters.since,
                            ProcessInstance.ended_at < filters.until)))
        cache["instances"] = list(session.execute(
            _in_category(q, ProcessInstance.project_id, filters).order_by(ProcessInstance.id)))
    return cache["instances"]


def _started(filters: Filters, when: datetime) -> bool:
    return filters.since <= when < filters.until


def _finished(filters: Filters, status: str, ended: datetime | None) -> bool:
    return status == "completed" and ended is not None and filters.since <= ended < filters.until


def _tasks(session: Session, filters: Filters, cache: dict[str, Any]) -> list[Any]:
    """Tasks created in the period (not withdrawn): (process, element, role, status,
    created, due, completed, instance)."""
    if "tasks" not in cache:
        q = select(HumanTask.process_key, HumanTask.element_id, HumanTask.role,
                   HumanTask.status, HumanTask.created_at, HumanTask.due_at,
                   HumanTask.completed_at, HumanTask.instance_id, HumanTask.name).where(
            HumanTask.created_at >= filters.since, HumanTask.created_at < filters.until,
            HumanTask.status.in_(("open", "completed")))
        cache["tasks"] = list(session.execute(
            _in_category(q, HumanTask.project_id, filters).order_by(HumanTask.id)))
    return cache["tasks"]


# --------------------------------------------------------------------------- shapes
#
# Each figure's table and chart, shared by the row-by-row builders (SQLite) and the SQL
# builders (PostgreSQL): a column or a chart series is changed here, once.


#: Age buckets of open escalations: (up to so many days, label); None: older.
AGE_BUCKETS = ((7, "0-7"), (30, "8-30"), (None, "31+"))


def _cycle_time_figure(rows: Iterable[tuple[Any, ...]]) -> Figure:
    """Rows (process, completed, running, median, p90, working median, working p90),
    in process order."""
    rows = tuple(rows)
    return Figure("cycle_time", ("process", "completed", "running", "median_days",
                                 "p90_days", "median_working_days", "p90_working_days"),
                  rows, {"type": "bar", "labels": [r[0] for r in rows],
                         "series": {"median_days": [r[3] for r in rows],
                                    "p90_days": [r[4] for r in rows]}})


def _cycle_trend_figure(months: list[str], rows: Iterable[tuple[Any, ...]]) -> Figure:
    """Rows (month, process, completed, median, p90), month then process order; the
    chart draws each process's median per month (None for a month without any)."""
    rows = tuple(rows)
    median = {(r[1], r[0]): r[3] for r in rows}
    keys = sorted({r[1] for r in rows})
    return Figure("cycle_trend", ("month", "process", "completed", "median_days", "p90_days"),
                  rows, {"type": "line", "labels": months, "series": {
                      key: [median.get((key, m)) for m in months] for key in keys}})


def _steps_figure(rows: Iterable[tuple[Any, ...]]) -> Figure:
    """Rows (process, step, name, completed, median, p90, working median, breaches),
    slowest first."""
    rows = sorted(rows, key=lambda r: (-(r[4] or 0), r[0], r[1]))
    return Figure("steps", ("process", "step", "step_name", "completed", "median_days",
                            "p90_days", "median_working_days", "sla_breaches"), tuple(rows),
                  {"type": "bar", "labels": [r[2] for r in rows],
                   "series": {"median_days": [r[4] for r in rows],
                              "p90_days": [r[5] for r in rows]}})


def _sla_by_role_figure(total: dict[str, int], late: dict[str, int]) -> Figure:
    """Tasks with a due date (``total``) and those past it (``late``) per role."""
    rows = tuple((role, total[role], late.get(role, 0),
                  round(100.0 * late.get(role, 0) / total[role], 1) if total[role] else 0.0)
                 for role in sorted(total))
    return Figure("sla_by_role", ("role", "with_due_date", "breached", "breached_pct"),
                  rows, {"type": "bar", "labels": [r[0] for r in rows],
                         "series": {"breached_pct": [r[3] for r in rows]}})


def _wip_figure(rows: Iterable[tuple[Any, ...]]) -> Figure:
    """Rows (process, step, name, open, median age, oldest, overdue), fullest first."""
    rows = sorted(rows, key=lambda r: (-r[3], r[0], r[1]))
    return Figure("wip", ("process", "step", "step_name", "open", "median_age_days",
                          "oldest_days", "overdue"), tuple(rows),
                  {"type": "bar", "labels": [r[2] for r in rows],
                   "series": {"open": [r[3] for r in rows], "overdue": [r[6] for r in rows]}})


def _throughput_figure(months: list[str], started: dict[tuple[str, str], int],
                       finished: dict[tuple[str, str], int]) -> Figure:
    """Instances started and finished per (process, month)."""
    keys = sorted({k for k, _ in started} | {k for k, _ in finished})
    rows = tuple((m, key, started.get((key, m), 0), finished.get((key, m), 0))
                 for m in months for key in keys
                 if started.get((key, m)) or finished.get((key, m)))
    return Figure("throughput", ("month", "process", "started", "completed"), rows,
                  {"type": "bar", "stacked": True, "labels": months, "series": {
                      key: [finished.get((key, m), 0) for m in months] for key in keys}})


def _approval_routes_figure(rows: Iterable[tuple[Any, ...]]) -> Figure:
    """Rows (route, approvals decided, median and p90 days), shortest route first."""
    rows = tuple(sorted(rows, key=lambda r: (len(r[0]), r[0])))
    return Figure("approval_routes", ("route", "approvals", "median_days", "p90_days"),
                  rows, {"type": "doughnut", "labels": [r[0] for r in rows],
                         "series": {"approvals": [r[1] for r in rows]}})


def _risk_grid_figure(by: dict[tuple[str, str], int], grid: list[list[int]]) -> Figure:
    """Risks per (category, level), and the probability x impact ``grid``."""
    rows = tuple((category, level, n) for (category, level), n in sorted(by.items()))
    return Figure("risk_grid", ("category", "level", "risks"), rows,
                  {"type": "grid", "grid": grid})


def _escalations_figure(by: dict[tuple[str, str], int]) -> Figure:
    """Open escalations per (kind, age bucket)."""
    kinds = sorted({k for k, _ in by})
    rows = tuple((k, label, by.get((k, label), 0)) for k in kinds for _, label in AGE_BUCKETS
                 if by.get((k, label)))
    return Figure("escalations", ("kind", "age_days", "open"), rows,
                  {"type": "bar", "stacked": True, "labels": kinds, "series": {
                      label: [by.get((k, label), 0) for k in kinds]
                      for _, label in AGE_BUCKETS}})


def _cycle_time(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                cache: dict[str, Any]) -> Figure:
    by: dict[str, list[tuple[int, int]]] = defaultdict(list)
    running: dict[str, int] = defaultdict(int)
    for _id, key, status, started, ended, _p in _instances(session, filters, cache):
        if _finished(filters, status, ended):
            by[key].append((rollup.tenths(started, ended),
                            rollup.working_tenths(started, ended, work.off)))
        elif status == "running" and _started(filters, started):
            running[key] += 1
    rows = []
    for key in sorted(set(by) | set(running)):
        cal = [c for c, _ in by[key]]
        wd = [w for _, w in by[key]]
        rows.append((key, len(cal), running[key], _d(percentile(cal, 50)),
                     _d(percentile(cal, 90)), _d(percentile(wd, 50)), _d(percentile(wd, 90))))
    return _cycle_time_figure(rows)


def _cycle_trend(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                 cache: dict[str, Any]) -> Figure:
    """Median cycle time by the month work finished, per process."""
    months = _months(filters)
    by: dict[tuple[str, str], list[int]] = defaultdict(list)
    for _id, key, status, started, ended, _p in _instances(session, filters, cache):
        if _finished(filters, status, ended):
            by[(key, _month(ended))].append(rollup.tenths(started, ended))
    keys = sorted({k for k, _ in by})
    rows = [(m, key, len(by[(key, m)]), _d(percentile(by[(key, m)], 50)),
             _d(percentile(by[(key, m)], 90)))
            for m in months for key in keys if by.get((key, m))]
    return _cycle_trend_figure(months, rows)


def _steps(session: Session, filters: Filters, now: datetime, work: WorkingTime,
           cache: dict[str, Any]) -> Figure:
    """Per step: how long work waited there, and how often past its due time."""
    waits: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    breaches: dict[tuple[str, str], int] = defaultdict(int)
    names: dict[tuple[str, str], str] = {}
    for key, element, _role, status, created, due, completed, _i, name in _tasks(
            session, filters, cache):
        names[(key, element)] = name
        done = completed if status == "completed" and completed else None
        if done is not None:
            waits[(key, element)].append((rollup.tenths(created, done),
                                          rollup.working_tenths(created, done, work.off)))
        else:
            waits.setdefault((key, element), [])
        if due is not None and (done or now) > due:
            breaches[(key, element)] += 1
    rows = []
    for key, element in sorted(waits):
        cal = [c for c, _ in waits[(key, element)]]
        wd = [w for _, w in waits[(key, element)]]
        rows.append((key, element, names[(key, element)], len(cal), _d(percentile(cal, 50)),
                     _d(percentile(cal, 90)), _d(percentile(wd, 50)),
                     breaches[(key, element)]))
    return _steps_figure(rows)


def _sla_by_role(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                 cache: dict[str, Any]) -> Figure:
    total: dict[str, int] = defaultdict(int)
    late: dict[str, int] = defaultdict(int)
    for _key, _element, role, status, _created, due, completed, _i, _n in _tasks(
            session, filters, cache):
        if due is None:
            continue
        who = role or "-"
        total[who] += 1
        if ((completed if status == "completed" else None) or now) > due:
            late[who] += 1
    return _sla_by_role_figure(total, late)


def _wip(session: Session, filters: Filters, now: datetime, work: WorkingTime,
         cache: dict[str, Any]) -> Figure:
    """Work open now (whenever it started), by step: how many, how long it has waited."""
    q = select(HumanTask.process_key, HumanTask.element_id, HumanTask.created_at,
               HumanTask.due_at, HumanTask.name).where(HumanTask.status == "open")
    ages: dict[tuple[str, str], list[float]] = defaultdict(list)
    overdue: dict[tuple[str, str], int] = defaultdict(int)
    names: dict[tuple[str, str], str] = {}
    for key, element, created, due, name in session.execute(
            _in_category(q, HumanTask.project_id, filters)):
        names[(key, element)] = name
        ages[(key, element)].append(max(0.0, (now - created).total_seconds() / DAY))
        overdue[(key, element)] += bool(due is not None and due < now)
    rows = [(key, element, names[(key, element)], len(a), _r(percentile(a, 50)), _r(max(a)),
             overdue[(key, element)]) for (key, element), a in ages.items()]
    return _wip_figure(rows)


def _throughput(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                cache: dict[str, Any]) -> Figure:
    months = _months(filters)
    started: dict[tuple[str, str], int] = defaultdict(int)
    finished: dict[tuple[str, str], int] = defaultdict(int)
    for _id, key, status, start, ended, _p in _instances(session, filters, cache):
        if _started(filters, start):
            started[(key, _month(start))] += 1
        if _finished(filters, status, ended):
            finished[(key, _month(ended))] += 1
    return _throughput_figure(months, started, finished)


#: Approval routes by the reviews an approval went through (the routing table's outcome).
ROUTES = {"review_pmo_head": "pmo_head", "review_finance": "finance",
          "steering_vote": "committee"}


def route_of(steps: Iterable[str]) -> str:
    """The route of an approval that went through ``steps``: "pmo_head + finance", ...
    ("" when it reached no review: refused at the PMO check)."""
    mine = {ROUTES[s] for s in steps if s in ROUTES}
    return " + ".join(r for r in ("pmo_head", "finance", "committee") if r in mine)


def _routes_rows(by: dict[str, list[int]]) -> Iterator[tuple[Any, ...]]:
    for route, spans in by.items():
        yield (route, len(spans), _d(percentile(spans, 50)), _d(percentile(spans, 90)))


def _approval_routes(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                     cache: dict[str, Any]) -> Figure:
    """Approvals decided in the period (the instance completed: approved or rejected) by
    the route they took, from their tasks: how many, how long (calendar days)."""
    ht, pi = HumanTask, ProcessInstance
    q = select(pi.id, pi.started_at, pi.ended_at, ht.element_id).join(
        ht, and_(ht.instance_id == pi.id, ht.status == "completed",
                 ht.element_id.in_(tuple(ROUTES)))).where(
        pi.process_key == "project_approval", _finished_sql(filters))
    steps: dict[int, set[str]] = defaultdict(set)
    spans: dict[int, int] = {}
    for iid, started, ended, element in session.execute(_in_category(q, pi.project_id, filters)):
        steps[iid].add(element)
        spans[iid] = rollup.tenths(started, ended)
    by: dict[str, list[int]] = defaultdict(list)
    for iid, done in steps.items():
        by[route_of(done)].append(spans[iid])
    return _approval_routes_figure(_routes_rows(by))


def _risk_grid(session: Session, filters: Filters, now: datetime, work: WorkingTime,
               cache: dict[str, Any]) -> Figure:
    """Risks raised in the period: probability x impact, and by category and level."""
    q = select(Risk.probability, Risk.impact, Risk.category, Risk.level).where(
        Risk.raised_at >= filters.since, Risk.raised_at < filters.until)
    grid = [[0] * 5 for _ in range(5)]
    by: dict[tuple[str, str], int] = defaultdict(int)
    for p, i, category, level in session.execute(_in_category(q, Risk.project_id, filters)):
        grid[int(p) - 1][int(i) - 1] += 1
        by[(category, level)] += 1
    return _risk_grid_figure(by, grid)


def _escalations(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                 cache: dict[str, Any]) -> Figure:
    """Open escalations (not resolved) by kind and age in days."""
    q = select(Escalation.kind, Escalation.raised_at).where(
        Escalation.status != "resolved")
    by: dict[tuple[str, str], int] = defaultdict(int)
    for kind, raised in session.execute(_in_category(q, Escalation.project_id, filters)):
        age = (now - raised).total_seconds() / DAY
        bucket = next(label for limit, label in AGE_BUCKETS if limit is None or age <= limit)
        by[(kind, bucket)] += 1
    return _escalations_figure(by)


def _lessons(session: Session, filters: Filters, now: datetime, work: WorkingTime,
             cache: dict[str, Any]) -> Figure:
    """Lessons published per month and how often published lessons were read (first
    reads by each person) per month; ``readers`` counts different people."""
    months = _months(filters)
    published: dict[str, int] = defaultdict(int)
    q = select(Lesson.published_at).where(
        Lesson.published.is_(True), Lesson.merged_into_id.is_(None),
        Lesson.published_at >= filters.since, Lesson.published_at < filters.until)
    for (at,) in session.execute(_in_category(q, Lesson.project_id, filters)):
        published[_month(at)] += 1
    reads: dict[str, int] = defaultdict(int)
    readers: dict[str, set[str]] = defaultdict(set)
    read = select(LessonRead.read_at, LessonRead.username).join(
        Lesson, Lesson.id == LessonRead.lesson_id).where(
        LessonRead.read_at >= filters.since, LessonRead.read_at < filters.until)
    for at, who in session.execute(_in_category(read, Lesson.project_id, filters)):
        reads[_month(at)] += 1
        readers[_month(at)].add(who)
    rows = [(m, published[m], reads[m], len(readers[m])) for m in months
            if published[m] or reads[m]]
    return Figure("lessons", ("month", "published", "reads", "readers"), tuple(rows),
                  {"type": "bar", "columns": True, "labels": months, "series": {
                      "published": [published[m] for m in months],
                      "reads": [reads[m] for m in months]}})


# --------------------------------------------------------------------------- in SQL
#
# The same figures aggregated by PostgreSQL (issue 14: each p95 <= 200 ms with 1,000,000
# instances).  Percentiles: ``percentile_disc(f)`` is the nearest rank, the value at rank
# ceil(f * n) like :func:`percentile`; NULLs are left out, so a CASE picks the rows of a
# group that count.  Durations are ``epoch::float8 / 86400``, the same double Python's
# ``timedelta.total_seconds() / DAY`` gives; working days subtract the non-working days
# strictly between the two dates (UTC), counted from a cumulative array built with the
# install's calendar, as :func:`engine.rollup.working_tenths` does.


def _pct(fraction: float, value: Any, *, desc: bool = False) -> Any:
    return func.percentile_disc(fraction).within_group(value.desc() if desc else value)


def _pcts(value: Any) -> Any:
    """The median and the p90 of ``value`` from one sort (an array of the two)."""
    return func.percentile_disc(literal([0.5, 0.9], ARRAY(Float))).within_group(value)


def _two(found: Any) -> tuple[Any, Any]:
    return (None, None) if found is None else (found[0], found[1])


def _days(start: Any, end: Any) -> Any:
    return cast(extract("epoch", end - start), Float) / DAY


#: A tenth of a day and half of it, in microseconds (:func:`engine.rollup.tenths`).
_TENTH_US, _HALF_US = 8_640_000_000, 4_320_000_000


def _us_sql(start: Any, end: Any) -> Any:
    """Microseconds from ``start`` to ``end`` (exact: ``extract(epoch)`` is numeric)."""
    return extract("epoch", end - start) * literal(1_000_000, Numeric)


def _tenths_sql(us: Any) -> Any:
    """Microseconds as tenths of a day, rounded half up, never below 0, as
    :func:`engine.rollup.tenths` computes them."""
    half, tenth = literal(_HALF_US, Numeric), literal(_TENTH_US, Numeric)
    return cast(func.greatest(0, func.floor((func.greatest(0, us) + half) / tenth)), Integer)


def _month_sql(col: Any) -> Any:
    return func.to_char(col, "YYYY-MM")


class _Calendar:
    """Non-working days as a cumulative count per day from ``first`` (a bound array)."""

    def __init__(self, session: Session, work: WorkingTime, now: datetime, filters: Filters,
                 cache: dict[str, Any]):
        found = cache.get("calendar")
        if found is None:
            first = session.execute(select(
                func.min(ProcessInstance.started_at))).scalar() or filters.since
            first_task = session.execute(select(func.min(HumanTask.created_at))).scalar()
            if first_task is not None:
                first = min(first, first_task)
            start = min(first.date(), filters.start)
            work.off.cover(start, max(now.date(), filters.end) + timedelta(days=2))
            found = cache["calendar"] = (work.off.first, work.off.cum)
        self.first, self.cum = found

    def working_tenths(self, start: Any, end: Any) -> Any:
        """:func:`engine.rollup.working_tenths` as SQL: calendar time less the
        non-working days strictly between (the cumulative array's difference)."""
        arr = Grouping(literal(self.cum, ARRAY(Integer)))  # (array)[i] needs parentheses
        size = len(self.cum)
        first = literal(self.first, Date)

        def index(col: Any, shift: int) -> Any:  # 1-based, clamped to the array
            return func.least(size, func.greatest(1, cast(col, Date) - first + 1 + shift))

        between = case((cast(end, Date) - cast(start, Date) >= 2,
                        arr[index(end, -1)] - arr[index(start, 0)]), else_=0)
        return _tenths_sql(_us_sql(start, end) - between * literal(86_400_000_000, Numeric))


def _in_period(col: Any, filters: Filters) -> Any:
    return and_(col >= filters.since, col < filters.until)


def _finished_sql(filters: Filters) -> Any:
    return and_(ProcessInstance.status == "completed", ProcessInstance.ended_at.is_not(None),
                _in_period(ProcessInstance.ended_at, filters))


def _sql_cycle_time(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                    cache: dict[str, Any]) -> Figure:
    cal = _Calendar(session, work, now, filters, cache)
    pi = ProcessInstance
    fin = _finished_sql(filters)
    days = case((fin, _tenths_sql(_us_sql(pi.started_at, pi.ended_at))))
    wd = case((fin, cal.working_tenths(pi.started_at, pi.ended_at)))
    q = select(pi.process_key, func.count().filter(fin),
               func.count().filter(and_(pi.status == "running",
                                        _in_period(pi.started_at, filters))),
               _pcts(days), _pcts(wd)).where(
        or_(_in_period(pi.started_at, filters), _in_period(pi.ended_at, filters))
    ).group_by(pi.process_key).order_by(pi.process_key)
    return _cycle_time_figure(
        (key, int(n), int(running), *map(_d, _two(cal_days)), *map(_d, _two(wds)))
        for key, n, running, cal_days, wds in session.execute(
            _in_category(q, pi.project_id, filters)) if n or running)


def _sql_cycle_trend(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                     cache: dict[str, Any]) -> Figure:
    pi = ProcessInstance
    month = _month_sql(pi.ended_at)
    days = _tenths_sql(_us_sql(pi.started_at, pi.ended_at))
    q = select(pi.process_key, month, func.count(), _pcts(days)).where(
        _finished_sql(filters)).group_by(pi.process_key, month)
    found = {(key, m): (int(n), *map(_d, _two(both))) for key, m, n, both in session.execute(
        _in_category(q, pi.project_id, filters))}
    months = _months(filters)
    keys = sorted({k for k, _ in found})
    return _cycle_trend_figure(months, ((m, key, *found[(key, m)]) for m in months
                                        for key in keys if (key, m) in found))


def _task_period(filters: Filters) -> Any:
    return and_(_in_period(HumanTask.created_at, filters),
                HumanTask.status.in_(("open", "completed")))


def _names(session: Session, task_ids: list[int]) -> dict[int, str]:
    """Task id -> its name (the newest task of each step names the step, as the row by
    row computation, which keeps the last name it reads in id order)."""
    if not task_ids:
        return {}
    return dict(session.execute(select(HumanTask.id, HumanTask.name).where(
        HumanTask.id.in_(task_ids))).all())


def _sql_steps(session: Session, filters: Filters, now: datetime, work: WorkingTime,
               cache: dict[str, Any]) -> Figure:
    cal = _Calendar(session, work, now, filters, cache)
    ht = HumanTask
    done = and_(ht.status == "completed", ht.completed_at.is_not(None))
    days = case((done, _tenths_sql(_us_sql(ht.created_at, ht.completed_at))))
    wd = case((done, cal.working_tenths(ht.created_at, ht.completed_at)))
    late = and_(ht.due_at.is_not(None),
                case((done, ht.completed_at), else_=literal(now, UTCDateTime())) > ht.due_at)
    name = func.max(ht.id)  # the step's name: that of its newest task (see _names)
    q = select(ht.process_key, ht.element_id, name, func.count().filter(done),
               _pcts(days), _pct(0.5, wd), func.count().filter(late)
               ).where(_task_period(filters)).group_by(ht.process_key, ht.element_id)
    found = session.execute(_in_category(q, ht.project_id, filters)).all()
    names = _names(session, [r[2] for r in found])
    rows = [(key, element, names[last], int(n), *map(_d, _two(both)), _d(w50), int(breached))
            for key, element, last, n, both, w50, breached in found]
    return _steps_figure(rows)


def _sql_sla_by_role(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                     cache: dict[str, Any]) -> Figure:
    ht = HumanTask
    finished = case((ht.status == "completed", ht.completed_at))
    late = func.coalesce(finished, literal(now, UTCDateTime())) > ht.due_at
    q = select(ht.role, func.count(), func.count().filter(late)).where(
        _task_period(filters), ht.due_at.is_not(None)).group_by(ht.role)
    total: dict[str, int] = defaultdict(int)
    breached: dict[str, int] = defaultdict(int)
    for role, n, n_late in session.execute(_in_category(q, ht.project_id, filters)):
        total[role or "-"] += int(n)
        breached[role or "-"] += int(n_late)
    return _sla_by_role_figure(total, breached)


def _sql_wip(session: Session, filters: Filters, now: datetime, work: WorkingTime,
             cache: dict[str, Any]) -> Figure:
    ht = HumanTask
    name = func.max(ht.id)  # the step's name: that of its newest task (see _names)
    overdue = and_(ht.due_at.is_not(None), ht.due_at < literal(now, UTCDateTime()))
    q = select(ht.process_key, ht.element_id, name, func.count(),
               _pct(0.5, ht.created_at, desc=True), func.min(ht.created_at),
               func.count().filter(overdue)).where(ht.status == "open").group_by(
        ht.process_key, ht.element_id)

    def age(created: datetime) -> float:
        created = created if created.tzinfo else created.replace(tzinfo=UTC)
        return max(0.0, (now - created).total_seconds() / DAY)

    if filters.category is None and filters.department is None:
        found = _open_steps(session, overdue)
    else:
        found = session.execute(_in_category(q, ht.project_id, filters)).all()
    names = _names(session, [r[2] for r in found])
    rows = [(key, element, names[last], int(n), _r(age(median)), _r(age(oldest)), int(late))
            for key, element, last, n, median, oldest, late in found]
    return _wip_figure(rows)


def _open_steps(session: Session, overdue: Any) -> list[tuple[Any, ...]]:
    """All open work by step (process, step, newest id, open, median created, oldest
    created, overdue), without sorting 100,000 open tasks: the counts stream in the order
    of the open-step index, and each step's median is its ceil(n/2)-th newest task, read
    from that index (``percentile_disc(0.5)`` of the ages, nearest rank)."""
    ht = HumanTask
    groups = session.execute(
        select(ht.process_key, ht.element_id, func.max(ht.id), func.count(),
               func.min(ht.created_at), func.count().filter(overdue))
        .where(ht.status == "open").group_by(ht.process_key, ht.element_id)).all()
    out = []
    for key, element, last, n, oldest, late in groups:
        median = session.scalar(
            select(ht.created_at).where(ht.status == "open", ht.process_key == key,
                                        ht.element_id == element)
            .order_by(ht.created_at.desc()).offset(max(1, math.ceil(0.5 * n)) - 1).limit(1))
        out.append((key, element, last, n, median, oldest, late))
    return out


def _sql_throughput(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                    cache: dict[str, Any]) -> Figure:
    pi = ProcessInstance
    started: dict[tuple[str, str], int] = defaultdict(int)
    finished: dict[tuple[str, str], int] = defaultdict(int)
    for target, when, cond in ((started, pi.started_at, _in_period(pi.started_at, filters)),
                               (finished, pi.ended_at, _finished_sql(filters))):
        month = _month_sql(when)
        q = select(pi.process_key, month, func.count()).where(cond).group_by(
            pi.process_key, month)
        for key, m, n in session.execute(_in_category(q, pi.project_id, filters)):
            target[(key, m)] = int(n)
    return _throughput_figure(_months(filters), started, finished)


def _sql_approval_routes(session: Session, filters: Filters, now: datetime,
                         work: WorkingTime, cache: dict[str, Any]) -> Figure:
    ht, pi = HumanTask, ProcessInstance
    flags = [func.bool_or(ht.element_id == element).label(route)
             for element, route in ROUTES.items()]
    steps = select(ht.instance_id, *flags).join(pi, pi.id == ht.instance_id).where(
        pi.process_key == "project_approval", _finished_sql(filters),
        ht.status == "completed", ht.element_id.in_(tuple(ROUTES))).group_by(ht.instance_id)
    steps = _in_category(steps, pi.project_id, filters).subquery()
    days = _tenths_sql(_us_sql(pi.started_at, pi.ended_at))
    names = tuple(ROUTES.values())
    held_cols = [steps.c[r] for r in names]
    q = select(*held_cols, func.count(), _pcts(days)).join(
        pi, pi.id == steps.c.instance_id).group_by(*held_cols)
    rows = []
    for *held, n, both in session.execute(q):
        route = route_of(e for (e, _r2), h in zip(ROUTES.items(), held, strict=True) if h)
        rows.append((route, int(n), *map(_d, _two(both))))
    return _approval_routes_figure(rows)


def _sql_risk_grid(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                   cache: dict[str, Any]) -> Figure:
    q = select(Risk.probability, Risk.impact, Risk.category, Risk.level, func.count()).where(
        Risk.raised_at >= filters.since, Risk.raised_at < filters.until).group_by(
        Risk.probability, Risk.impact, Risk.category, Risk.level)
    grid = [[0] * 5 for _ in range(5)]
    by: dict[tuple[str, str], int] = defaultdict(int)
    for p, i, category, level, n in session.execute(_in_category(q, Risk.project_id, filters)):
        grid[int(p) - 1][int(i) - 1] += int(n)
        by[(category, level)] += int(n)
    return _risk_grid_figure(by, grid)


def _sql_escalations(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                     cache: dict[str, Any]) -> Figure:
    raised = Escalation.raised_at
    bucket = case(*((raised >= now - timedelta(days=limit), label)
                    for limit, label in AGE_BUCKETS if limit is not None),
                  else_=AGE_BUCKETS[-1][1])
    q = select(Escalation.kind, bucket, func.count()).where(
        Escalation.status != "resolved").group_by(Escalation.kind, bucket)
    by: dict[tuple[str, str], int] = defaultdict(int)
    for kind, label, n in session.execute(_in_category(q, Escalation.project_id, filters)):
        by[(kind, label)] += int(n)
    return _escalations_figure(by)


# --------------------------------------------------------------------------- summary
#
# The same figures from the monthly summary (engine.rollup): whole months of the period
# from the summary tables, its partial months (the current one, a period starting or
# ending mid-month) from the rows, open work from the open tasks.  Durations are kept in
# tenths of a day, the resolution shown, so the percentiles are the same as sorting
# every row.


def _split(session: Session, filters: Filters
           ) -> tuple[list[date], list[tuple[datetime, datetime]]]:
    """The whole months inside the period, and the parts of months it covers partly.  A
    period ending today ends mid-month, but no work is dated after it: that month's
    summary is then exactly the month up to the period's end."""
    months: list[date] = []
    edges: list[tuple[datetime, datetime]] = []
    month = date(filters.start.year, filters.start.month, 1)
    while month <= filters.end:
        after = next_month(month)
        lo = datetime.combine(month, time(), tzinfo=UTC)
        hi = datetime.combine(after, time(), tzinfo=UTC)
        if filters.since <= lo and (hi <= filters.until or (
                after > filters.end and rollup.nothing_after(session, filters.until))):
            months.append(month)
        else:
            edges.append((max(lo, filters.since), min(hi, filters.until)))
        month = after
    return months, edges


#: What each figure reads from the summary: durations of (task / instance), per month
#: (the trend), the counts, and the parts of a partial month read from the rows.
_NEEDS: dict[str, tuple[str | None, bool, bool, tuple[str, ...]]] = {
    "cycle_time": ("instance", False, True, ("ended",)),
    "cycle_trend": (None, True, False, ("ended",)),
    "steps": ("task", False, True, ("tasks",)),
    "sla_by_role": (None, False, True, ("tasks",)),
    "throughput": (None, False, True, ("started", "ended")),
    "approval_routes": ("variant", False, False, ("ended",)),
}


def _summary(session: Session, filters: Filters, work: WorkingTime, cache: dict[str, Any],
             figure: str) -> rollup.Summary:
    durations_of, by_month, counts, parts = need = _NEEDS[figure]
    key = f"summary:{need}"
    found = cache.get(key)
    if found is None:
        if "split" not in cache:
            cache["split"] = _split(session, filters)
        months, edges = cache["split"]
        found = cache[key] = rollup.read(session, months, durations_of=durations_of,
                                         by_month=by_month, counts=counts)
        for since, until in edges:
            for part in parts:  # each partial month's part read once per dashboard
                rows_key = f"rows:{since.isoformat()}:{until.isoformat()}:{part}"
                rows = cache.get(rows_key)
                if rows is None:
                    rows = cache[rows_key] = rollup.rows_summary(
                        session, since, until, work.workday, part)
                rollup.merge(found, rows)
    return found


def _ym(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def _merged(hists: Iterable[Any]) -> Any:
    total: Any = Counter()
    for h in hists:
        total.update(h)
    return total


def _open_tasks(session: Session, filters: Filters, now: datetime,
                cache: dict[str, Any]) -> list[Any]:
    """Open tasks created in the period, per (process, step, role): the newest id, how
    many have a due date, how many are past it now."""
    if "open" not in cache:
        ht = HumanTask
        overdue = and_(ht.due_at.is_not(None), ht.due_at < literal(now, UTCDateTime()))
        q = select(ht.process_key, ht.element_id, ht.role, func.max(ht.id),
                   func.count().filter(ht.due_at.is_not(None)), func.count().filter(overdue)
                   ).where(ht.status == "open", _in_period(ht.created_at, filters)).group_by(
            ht.process_key, ht.element_id, ht.role)
        cache["open"] = session.execute(q).all()
    return cache["open"]


def _sum_cycle_time(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                    cache: dict[str, Any]) -> Figure:
    found = _summary(session, filters, work, cache, "cycle_time")
    pi = ProcessInstance
    running = dict(session.execute(select(pi.process_key, func.count()).where(
        pi.status == "running", _in_period(pi.started_at, filters)).group_by(
        pi.process_key)).all())
    done: dict[str, int] = defaultdict(int)
    for (_m, kind, key, _e, _r2), c in found.counts.items():
        if kind == "instance" and c["completed"]:
            done[key] += c["completed"]
    rows = []
    for key in sorted(set(done) | {k for k, n in running.items() if n}):
        cal = found.durations.get(("instance", key, "", "", "cal"), Counter())
        wd = found.durations.get(("instance", key, "", "", "work"), Counter())
        rows.append((key, done[key], int(running.get(key, 0)),
                     _d(rollup.percentile(cal, 50)), _d(rollup.percentile(cal, 90)),
                     _d(rollup.percentile(wd, 50)), _d(rollup.percentile(wd, 90))))
    return _cycle_time_figure(rows)


def _sum_cycle_trend(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                     cache: dict[str, Any]) -> Figure:
    found = _summary(session, filters, work, cache, "cycle_trend")
    months = _months(filters)
    by = {(key, _ym(m)): h for (m, _k, key, _measure), h in found.by_month.items()
          if sum(h.values())}
    keys = sorted({k for k, _ in by})
    rows = [(m, key, sum(by[(key, m)].values()), _d(rollup.percentile(by[(key, m)], 50)),
             _d(rollup.percentile(by[(key, m)], 90)))
            for m in months for key in keys if (key, m) in by]
    return _cycle_trend_figure(months, rows)


def _sum_steps(session: Session, filters: Filters, now: datetime, work: WorkingTime,
               cache: dict[str, Any]) -> Figure:
    found = _summary(session, filters, work, cache, "steps")
    completed: dict[tuple[str, str], int] = defaultdict(int)
    late: dict[tuple[str, str], int] = defaultdict(int)
    last: dict[tuple[str, str], int] = defaultdict(int)
    roles: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (_m, kind, key, element, role), c in found.counts.items():
        if kind == "task" and c["completed"]:
            completed[(key, element)] += c["completed"]
            late[(key, element)] += c["late"]
            last[(key, element)] = max(last[(key, element)], c["last_id"])
            roles[(key, element)].add(role)
    for key, element, _role, newest, _with_due, overdue in _open_tasks(
            session, filters, now, cache):
        late[(key, element)] += int(overdue)
        last[(key, element)] = max(last[(key, element)], int(newest))
    names = _names(session, list(last.values()))
    rows = []
    for step in sorted(last):
        cal = _merged(found.durations.get(("task", *step, r, "cal"), Counter())
                      for r in roles[step])
        wd = _merged(found.durations.get(("task", *step, r, "work"), Counter())
                     for r in roles[step])
        name = names.get(last[step], step[1])
        rows.append((*step, name, completed[step], _d(rollup.percentile(cal, 50)),
                     _d(rollup.percentile(cal, 90)), _d(rollup.percentile(wd, 50)),
                     late[step]))
    return _steps_figure(rows)


def _sum_sla_by_role(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                     cache: dict[str, Any]) -> Figure:
    found = _summary(session, filters, work, cache, "sla_by_role")
    total: dict[str, int] = defaultdict(int)
    late: dict[str, int] = defaultdict(int)
    for (_m, kind, _key, _element, role), c in found.counts.items():
        if kind == "task" and c["with_due"]:
            total[role or "-"] += c["with_due"]
            late[role or "-"] += c["late"]
    for _key, _element, role, _newest, with_due, overdue in _open_tasks(
            session, filters, now, cache):
        if with_due:
            total[role or "-"] += int(with_due)
            late[role or "-"] += int(overdue)
    return _sla_by_role_figure(total, late)


def _sum_throughput(session: Session, filters: Filters, now: datetime, work: WorkingTime,
                    cache: dict[str, Any]) -> Figure:
    found = _summary(session, filters, work, cache, "throughput")
    started: dict[tuple[str, str], int] = defaultdict(int)
    finished: dict[tuple[str, str], int] = defaultdict(int)
    for (month, kind, key, _e, _r2), c in found.counts.items():
        if kind == "instance":
            if c["started"]:
                started[(key, _ym(month))] += c["started"]
            if c["completed"]:
                finished[(key, _ym(month))] += c["completed"]
    return _throughput_figure(_months(filters), started, finished)


def _sum_approval_routes(session: Session, filters: Filters, now: datetime,
                         work: WorkingTime, cache: dict[str, Any]) -> Figure:
    found = _summary(session, filters, work, cache, "approval_routes")
    by: dict[str, Counter[int]] = defaultdict(Counter)
    for (kind, key, steps, _role, _measure), hist in found.durations.items():
        if kind == "variant" and key == "project_approval":
            route = route_of(rollup.variant_steps(steps))
            if route:  # refused at the PMO check: no review, no route
                by[route].update(hist)
    return _approval_routes_figure(
        (route, sum(h.values()), _d(rollup.percentile(h, 50)), _d(rollup.percentile(h, 90)))
        for route, h in by.items() if sum(h.values()))


_SUMMARY_BUILDERS: dict[str, Callable[..., Figure]] = {
    "cycle_time": _sum_cycle_time, "cycle_trend": _sum_cycle_trend, "steps": _sum_steps,
    "sla_by_role": _sum_sla_by_role, "throughput": _sum_throughput,
    "approval_routes": _sum_approval_routes,
}


_SQL_BUILDERS: dict[str, Callable[..., Figure]] = {
    "cycle_time": _sql_cycle_time, "cycle_trend": _sql_cycle_trend, "steps": _sql_steps,
    "sla_by_role": _sql_sla_by_role, "wip": _sql_wip, "throughput": _sql_throughput,
    "approval_routes": _sql_approval_routes, "risk_grid": _sql_risk_grid,
    "escalations": _sql_escalations,
}


_BUILDERS: dict[str, Callable[..., Figure]] = {
    "cycle_time": _cycle_time, "cycle_trend": _cycle_trend, "steps": _steps,
    "sla_by_role": _sla_by_role, "wip": _wip, "throughput": _throughput,
    "approval_routes": _approval_routes, "risk_grid": _risk_grid,
    "escalations": _escalations, "lessons": _lessons,
}


# --------------------------------------------------------------------------- heatmap


@dataclass(frozen=True)
class ElementHeat:
    """One diagram element: how often work passed it and how long people kept it."""

    element_id: str
    visits: int
    completed: int
    median_days: float | None
    p90_days: float | None


@dataclass(frozen=True)
class Heatmap:
    """Where work of one process version waits, from its instances in the period."""

    key: str
    version: int
    versions: tuple[int, ...]
    filters: Filters
    instances: int
    elements: dict[str, ElementHeat]


#: Audit entries that mean an engine step (service, decision table, timer) ran.
STEP_KINDS = ("service_called", "decision", "timer_fired")


def heatmap(session: Session, key: str, version: int, filters: Filters) -> Heatmap:
    """Per element of ``key`` v``version``: visits (tasks opened, services, decisions and
    timers run) and the waiting time at user tasks, for instances started in the period;
    :class:`NotFound` for a version that does not exist."""
    from engine.errors import NotFound
    from engine.store.models import AuditEvent, ProcessDefinition

    versions = tuple(session.scalars(select(ProcessDefinition.version).where(
        ProcessDefinition.key == key).order_by(ProcessDefinition.version)))
    definition_id = session.scalar(select(ProcessDefinition.id).where(
        ProcessDefinition.key == key, ProcessDefinition.version == version))
    if definition_id is None:
        session.rollback()
        raise NotFound(f"no version {version} of process {key!r}", code="not_found")
    filters = _bound(filters, session)
    mine = _in_category(select(ProcessInstance.id).where(
        ProcessInstance.definition_id == definition_id,
        ProcessInstance.started_at >= filters.since,
        ProcessInstance.started_at < filters.until), ProcessInstance.project_id, filters)
    ids = [row[0] for row in session.execute(mine)]
    visits: dict[str, int] = defaultdict(int)
    waits: dict[str, list[float]] = defaultdict(list)
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        for element, status, created, completed in session.execute(select(
                HumanTask.element_id, HumanTask.status, HumanTask.created_at,
                HumanTask.completed_at).where(HumanTask.instance_id.in_(part))):
            visits[element] += 1
            if status == "completed" and completed is not None:
                waits[element].append((completed - created).total_seconds() / DAY)
        for element, n in session.execute(select(AuditEvent.element_id, func.count()).where(
                AuditEvent.instance_id.in_(part), AuditEvent.kind.in_(STEP_KINDS),
                AuditEvent.element_id.is_not(None)).group_by(AuditEvent.element_id)):
            visits[element] += int(n)
    session.rollback()
    elements = {e: ElementHeat(e, visits[e], len(waits[e]), _r(percentile(waits[e], 50)),
                               _r(percentile(waits[e], 90))) for e in sorted(visits)}
    return Heatmap(key=key, version=version, versions=versions, filters=filters,
                   instances=len(ids), elements=elements)


def read_heatmap(bpm: Engine, session: Session, actor: str, key: str, version: int | None,
                 raw: dict[str, Any]) -> Heatmap:
    """The heatmap of ``key`` (the newest version without ``version``) for ``actor``
    (:class:`Forbidden` unless PMO head or admin), filters as :func:`read`."""
    from engine.errors import NotFound
    from engine.store.models import ProcessDefinition

    if not may_read(session, actor):
        session.rollback()
        raise Forbidden("only the PMO head and the PMO administrator see the dashboard",
                        code="access.dashboard_only")
    filters = parse_filters(raw, bpm.clock.now().date(), departments(session))
    if version is None:
        version = session.scalar(select(func.max(ProcessDefinition.version)).where(
            ProcessDefinition.key == key))
        if version is None:
            session.rollback()
            raise NotFound(f"no process {key!r}", code="not_found")
    return heatmap(session, key, version, filters)
