"""Monthly summary of finished work, kept in the same transaction as the work (issue 14).

The dashboard's cycle times, step waits, throughput and SLA figures read these tables
instead of every instance and task of a year: with 1,000,000 instances a year is ~350,000
instances and ~560,000 tasks, and exact percentiles would sort all of them per read.

Durations are kept **exactly at the resolution the dashboard shows**: tenths of a day,
rounded half up from whole microseconds (:func:`tenths`).  The nearest-rank percentile
commutes with any rounding that keeps order, so the median of the rounded durations is
the rounded median: a histogram of tenths (count per tenth, per month) gives the same
figures as sorting every row, and a year of one step is a few hundred rows, not tens of
thousands.

- ``insight_durations``: per month (of the task's creation, of the instance's end),
  kind (``task`` / ``instance``), process, step, role and measure (``cal``: calendar
  days; ``work``: working days of the install's calendar), how many took so many tenths.
- ``insight_counts``: per month and the same keys, instances started and completed,
  tasks completed, completed with a due date, completed late, and the newest task's id
  (the step's name).

Working days are counted as the dashboard always did: calendar time less the whole
non-working days strictly between the two dates (UTC), with the calendar of the moment
the work finished.

Writers: :func:`task_completed` (the completion's transaction), :func:`instance_started`,
:func:`instance_completed`.  Work written before these tables existed, or generated
straight into the database, is summarised by :func:`rebuild`; :func:`is_built` tells the
dashboard whether the summary can be trusted (otherwise it reads the rows, as before).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.store import pipeline
from engine.store.models import (
    HumanTask,
    InsightCount,
    InsightDuration,
    InstallSetting,
    ProcessInstance,
)

#: The install setting that says the summary holds all finished work.
BUILT_KEY = "insight.rollup"
BUILT_VALUE = "v2"  # v2: with the variants
_US_PER_TENTH = 8_640_000_000  # a tenth of a day in microseconds
DEFERRED = {pipeline.DEFER: True}

IsWorkday = Callable[[date], bool]


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def tenths(start: datetime, end: datetime) -> int:
    """Days from ``start`` to ``end`` in tenths, rounded half up (never below 0)."""
    us = _us(_aware(end) - _aware(start))
    return max(0, (us + _US_PER_TENTH // 2) // _US_PER_TENTH)


def nonworking_between(start: datetime, end: datetime, is_workday: IsWorkday) -> int:
    """Whole non-working days strictly between the two (UTC) dates."""
    first, last = _aware(start).astimezone(UTC).date(), _aware(end).astimezone(UTC).date()
    n, day = 0, first + timedelta(days=1)
    while day < last:
        if not is_workday(day):
            n += 1
        day += timedelta(days=1)
    return n


class DaysOff:
    """:func:`nonworking_between` for many spans: asks ``is_workday`` once per day and
    answers from a cumulative count (summarising a million instances that run for weeks
    would otherwise ask it tens of millions of times)."""

    def __init__(self, is_workday: IsWorkday):
        self.is_workday = is_workday
        self.first: date | None = None
        self.cum: list[int] = []  # non-working days from ``first`` up to each day

    def cover(self, lo: date, hi: date) -> None:
        """Count the days from ``lo`` to ``hi`` (keeping what is counted already)."""
        if (
            self.first is not None
            and self.first <= lo
            and hi < self.first + timedelta(days=len(self.cum))
        ):
            return
        if self.first is not None:
            lo = min(lo, self.first)
            hi = max(hi, self.first + timedelta(days=len(self.cum) - 1))
        cum, n, day = [], 0, lo
        while day <= hi:
            n += 0 if self.is_workday(day) else 1
            cum.append(n)
            day += timedelta(days=1)
        self.first, self.cum = lo, cum

    def between(self, start: datetime, end: datetime) -> int:
        """Whole non-working days strictly between the two (UTC) dates."""
        a, b = _aware(start).astimezone(UTC).date(), _aware(end).astimezone(UTC).date()
        if (b - a).days < 2:
            return 0
        self.cover(a, b)
        assert self.first is not None
        return self.cum[(b - self.first).days - 1] - self.cum[(a - self.first).days]


def working_tenths(start: datetime, end: datetime, is_workday: IsWorkday | DaysOff) -> int:
    """Working days from ``start`` to ``end`` in tenths: calendar time less the whole
    non-working days strictly between, rounded half up, never below 0."""
    off = (
        is_workday.between(start, end)
        if isinstance(is_workday, DaysOff)
        else nonworking_between(start, end, is_workday)
    )
    us = _us(_aware(end) - _aware(start)) - off * 86_400_000_000
    return max(0, (max(0, us) + _US_PER_TENTH // 2) // _US_PER_TENTH)


#: Separates the element ids in ``process_instances.steps_done`` (BPMN ids are XML
#: names, which hold no comma).
STEP_SEP = ","
#: A variant longer than this is kept as a digest (the key column holds 1,000).
VARIANT_MAX = 900


def with_step(done: str | None, element_id: str) -> str:
    """``steps_done`` with one more completed step (sorted, each step once)."""
    steps = set(done.split(STEP_SEP)) if done else set()
    if element_id in steps and done is not None:
        return done
    return STEP_SEP.join(sorted(steps | {element_id}))


def variant(done: str | None) -> str:
    """The variant key of ``steps_done``: its steps sorted, each once ("" for none); a
    digest when too long for the summary's key (a process with dozens of human steps)."""
    steps = sorted(set(done.split(STEP_SEP)) - {""}) if done else []
    key = STEP_SEP.join(steps)
    if len(key) > VARIANT_MAX:
        key = "#" + hashlib.sha256(key.encode()).hexdigest()
    return key


def variant_steps(key: str) -> frozenset[str]:
    """The steps of a :func:`variant` key (none for a digest)."""
    if not key or key.startswith("#"):
        return frozenset()
    return frozenset(key.split(STEP_SEP))


def fill_steps_done(session: Session) -> None:
    """Set every instance's ``steps_done`` from its completed tasks (work written straight
    into the tables, as the scale bench's generator does; the engine keeps it itself)."""
    if session.get_bind().dialect.name == "postgresql":
        sql = (
            "UPDATE process_instances p SET steps_done = s.steps FROM ("
            "SELECT instance_id, string_agg(DISTINCT element_id, ',') AS steps "
            "FROM human_tasks WHERE status = 'completed' GROUP BY instance_id) s "
            "WHERE p.id = s.instance_id"
        )
    else:
        sql = (
            "UPDATE process_instances SET steps_done = (SELECT group_concat(DISTINCT "
            "h.element_id) FROM human_tasks h WHERE h.instance_id = process_instances.id "
            "AND h.status = 'completed')"
        )
    session.execute(text(sql))


def month_of(when: datetime) -> date:
    """The first day of ``when``'s month (UTC)."""
    when = _aware(when).astimezone(UTC)
    return date(when.year, when.month, 1)


# --------------------------------------------------------------------------- writing


#: The counters of an ``insight_counts`` row; the last one is kept the larger of, the
#: others add up.
COUNTERS = ("started", "completed", "with_due", "late", "last_id")
#: Columns an upsert adds to the existing row, and the one it keeps the larger of.
_ADD = {"insight_durations": ("n",), "insight_counts": COUNTERS[:-1]}
_BIGGEST = {"insight_counts": COUNTERS[-1:]}
_UPSERTS: dict[tuple[str, str], Any] = {}


def _upsert_statement(dialect: str, model: Any) -> Any:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` adding the counters, built once per
    dialect (compiling it for every completion cost ~3 ms)."""
    key = (dialect, model.__tablename__)
    found = _UPSERTS.get(key)
    if found is None:
        table = model.__table__
        stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
        sets: dict[str, Any] = {c: table.c[c] + stmt.excluded[c] for c in _ADD[table.name]}
        bigger = func.greatest if dialect == "postgresql" else func.max
        for c in _BIGGEST.get(table.name, ()):
            sets[c] = bigger(table.c[c], stmt.excluded[c])
        keys = [c.name for c in table.primary_key.columns]
        found = _UPSERTS[key] = stmt.on_conflict_do_update(index_elements=keys, set_=sets)
    return found


def _upsert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` or add their counters to the existing ones."""
    if rows:
        stmt = _upsert_statement(session.get_bind().dialect.name, model)
        session.execute(stmt, rows, execution_options=DEFERRED)


def _durations(
    month: date, kind: str, key: str, element: str, role: str, cal: int, work: int
) -> list[dict[str, Any]]:
    base = {"month": month, "kind": kind, "process_key": key, "element_id": element, "role": role}
    return [
        {**base, "measure": "cal", "tenths": cal, "n": 1},
        {**base, "measure": "work", "tenths": work, "n": 1},
    ]


def _variant(month: date, key: str, steps_done: str | None, cal: int) -> dict[str, Any]:
    return {
        "month": month,
        "kind": "variant",
        "process_key": key,
        "element_id": variant(steps_done),
        "role": "",
        "measure": "cal",
        "tenths": cal,
        "n": 1,
    }


def _new_count() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


def _count(
    month: date, kind: str, key: str, element: str = "", role: str = "", **values: int
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "month": month,
        "kind": kind,
        "process_key": key,
        "element_id": element,
        "role": role,
    }
    row.update(_new_count(), **values)
    return row


def task_completed(session: Session, task: Any, is_workday: IsWorkday) -> None:
    """Count a completed task (``created_at``, ``completed_at``, ``due_at`` set) in its
    creation month, in the completion's transaction."""
    created, done = task.created_at, task.completed_at
    month, role = month_of(created), task.role or ""
    _upsert(
        session,
        InsightDuration,
        _durations(
            month,
            "task",
            task.process_key,
            task.element_id,
            role,
            tenths(created, done),
            working_tenths(created, done, is_workday),
        ),
    )
    late = task.due_at is not None and _aware(done) > _aware(task.due_at)
    _upsert(
        session,
        InsightCount,
        [
            _count(
                month,
                "task",
                task.process_key,
                task.element_id,
                role,
                completed=1,
                with_due=int(task.due_at is not None),
                late=int(late),
                last_id=int(task.id),
            )
        ],
    )


def instance_started(session: Session, inst: Any) -> None:
    """Count a started instance in its start month."""
    _upsert(
        session,
        InsightCount,
        [_count(month_of(inst.started_at), "instance", inst.process_key, started=1)],
    )


def instance_completed(session: Session, inst: Any, is_workday: IsWorkday) -> None:
    """Count a completed instance (``ended_at`` set) and its cycle time in its end month,
    also by its variant (the steps it went through)."""
    month = month_of(inst.ended_at)
    cal = tenths(inst.started_at, inst.ended_at)
    rows = _durations(
        month,
        "instance",
        inst.process_key,
        "",
        "",
        cal,
        working_tenths(inst.started_at, inst.ended_at, is_workday),
    )
    rows.append(_variant(month, inst.process_key, inst.steps_done, cal))
    _upsert(session, InsightDuration, rows)
    _upsert(
        session,
        InsightCount,
        [_count(month, "instance", inst.process_key, completed=1)],
    )


# --------------------------------------------------------------------------- state


def is_built(session: Session) -> bool:
    """Whether the summary holds every finished piece of work (see :func:`rebuild`)."""
    value = session.scalar(select(InstallSetting.value).where(InstallSetting.key == BUILT_KEY))
    return value == BUILT_VALUE


def mark_built(session: Session, now: datetime, actor: str = "engine") -> None:
    """Record that the summary is complete (a new, empty install; after a rebuild)."""
    found = session.get(InstallSetting, BUILT_KEY)
    if found is None:
        found = InstallSetting(key=BUILT_KEY)
        session.add(found)
    found.value, found.updated_by, found.updated_at = BUILT_VALUE, actor, now
    session.flush()


def needs_rebuild(session: Session) -> bool:
    """Not built, and there is work to summarise (an empty install is simply marked)."""
    if is_built(session):
        return False
    return session.scalar(select(ProcessInstance.id).limit(1)) is not None


_NAMES = ("month", "kind", "process_key", "element_id", "role")
#: What :func:`_accumulate` can read: instances started, instances ended, tasks completed.
PARTS = ("started", "ended", "tasks")
Key = tuple[date, str, str, str, str]


def _accumulate(
    session: Session,
    is_workday: IsWorkday,
    durations: Counter[tuple[Any, ...]],
    counts: dict[Key, dict[str, int]],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Callable[[str, int], None] | None = None,
    batch: int = 20_000,
    parts: Collection[str] = PARTS,
) -> int:
    """Summarise the rows themselves into ``durations`` ((*key, measure, tenths) -> n)
    and ``counts``: instances started, instances completed, and completed tasks created,
    each from ``since`` to ``until`` when given (else all); only the ``parts`` named
    (``started``, ``ended``, ``tasks``).  Returns the rows read."""
    pi, ht = ProcessInstance, HumanTask

    def within(col: Any) -> list[Any]:
        found = []
        if since is not None:
            found.append(col >= since)
        if until is not None:
            found.append(col < until)
        return found

    def rows(part: str, columns: list[Any], id_col: Any, *conds: Any) -> Iterator[Any]:
        """The rows of ``part`` in id order, ``batch`` at a time (keyset; no server-side
        cursor, which PostgreSQL's pipeline mode does not allow)."""
        if part not in parts:
            return
        last = 0
        while True:
            found = session.execute(
                select(id_col, *columns).where(id_col > last, *conds).order_by(id_col).limit(batch)
            ).all()
            yield from found
            if len(found) < batch:
                return
            last = found[-1][0]

    off = DaysOff(is_workday)
    read = 0
    for _id, key, started in rows(
        "started", [pi.process_key, pi.started_at], pi.id, *within(pi.started_at)
    ):
        read += 1
        counts[(month_of(started), "instance", key, "", "")]["started"] += 1
        if progress is not None and read % batch == 0:
            progress("instances started", read)
    for _id, key, started, ended, steps_done in rows(
        "ended",
        [pi.process_key, pi.started_at, pi.ended_at, pi.steps_done],
        pi.id,
        pi.status == "completed",
        pi.ended_at.is_not(None),
        *within(pi.ended_at),
    ):
        read += 1
        base = (month_of(ended), "instance", key, "", "")
        counts[base]["completed"] += 1
        cal = tenths(started, ended)
        durations[(*base, "cal", cal)] += 1
        durations[(*base, "work", working_tenths(started, ended, off))] += 1
        durations[(base[0], "variant", key, variant(steps_done), "", "cal", cal)] += 1
        if progress is not None and read % batch == 0:
            progress("instances completed", read)
    for tid, key, element, role, created, due, done in rows(
        "tasks",
        [ht.process_key, ht.element_id, ht.role, ht.created_at, ht.due_at, ht.completed_at],
        ht.id,
        ht.status == "completed",
        ht.completed_at.is_not(None),
        *within(ht.created_at),
    ):
        read += 1
        base = (month_of(created), "task", key, element, role or "")
        durations[(*base, "cal", tenths(created, done))] += 1
        durations[(*base, "work", working_tenths(created, done, off))] += 1
        c = counts[base]
        c["completed"] += 1
        if due is not None:
            c["with_due"] += 1
            c["late"] += int(_aware(done) > _aware(due))
        c["last_id"] = max(c["last_id"], int(tid))
        if progress is not None and read % batch == 0:
            progress("tasks completed", read)
    return read


def rebuild(
    session: Session,
    is_workday: IsWorkday,
    now: datetime,
    progress: Callable[[str, int], None] | None = None,
    batch: int = 20_000,
) -> int:
    """Summarise every finished instance and task again, in the caller's transaction
    (the caller commits); concurrent writers wait for it on PostgreSQL (the summary
    tables are locked first, so nothing is counted twice or missed).  Returns the number
    of rows read."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE insight_durations, insight_counts IN EXCLUSIVE MODE"))
    session.execute(delete(InsightDuration))
    session.execute(delete(InsightCount))
    durations: Counter[tuple[Any, ...]] = Counter()
    counts: dict[Key, dict[str, int]] = defaultdict(_new_count)
    read = _accumulate(session, is_workday, durations, counts, progress=progress, batch=batch)
    out = [
        {**dict(zip((*_NAMES, "measure", "tenths"), k, strict=True)), "n": n}
        for k, n in durations.items()
    ]
    for i in range(0, len(out), batch):
        session.execute(insert(InsightDuration), out[i : i + batch])
    rows_out = [{**dict(zip(_NAMES, k, strict=True)), **v} for k, v in counts.items()]
    for i in range(0, len(rows_out), batch):
        session.execute(insert(InsightCount), rows_out[i : i + batch])
    if session.get_bind().dialect.name == "postgresql":
        # fresh statistics: with none, the planner guessed one row and sorted the year's
        # histogram by its text keys instead of hashing it (120 ms against 29)
        session.execute(text("ANALYZE insight_durations, insight_counts"))
    mark_built(session, now)
    return read


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Summary:
    """What the summary holds for some whole months."""

    #: (kind, process, step, role, measure) -> tenths -> how many
    durations: dict[tuple[str, str, str, str, str], Counter[int]]
    #: (month, kind, process, step, role) -> started, completed, with_due, late, last_id
    counts: dict[tuple[date, str, str, str, str], dict[str, int]]
    #: (month, kind, process, measure) -> tenths -> how many (instances only: the trend)
    by_month: dict[tuple[date, str, str, str], Counter[int]]


def read(
    session: Session,
    months: list[date],
    *,
    durations_of: str | None = None,
    by_month: bool = False,
    counts: bool = True,
) -> Summary:
    """The summary of ``months`` (whole months): the durations of ``durations_of``
    (``task`` / ``instance`` / ``variant``) summed over the months, the instances'
    calendar durations per month when ``by_month``, and the count rows when ``counts``."""
    hist: dict[tuple[str, str, str, str, str], Counter[int]] = defaultdict(Counter)
    per_month: dict[tuple[date, str, str, str], Counter[int]] = defaultdict(Counter)
    found: dict[tuple[date, str, str, str, str], dict[str, int]] = {}
    if not months:
        return Summary(hist, found, per_month)
    d = InsightDuration
    if durations_of is not None:
        summed = (
            select(d.process_key, d.element_id, d.role, d.measure, d.tenths, func.sum(d.n))
            .where(d.month.in_(months), d.kind == durations_of)
            .group_by(d.process_key, d.element_id, d.role, d.measure, d.tenths)
        )
        for key, element, role, measure, t, n in session.execute(summed):
            hist[(durations_of, key, element, role, measure)][int(t)] += int(n)
    if by_month:
        monthly = select(d.month, d.process_key, d.tenths, d.n).where(
            d.month.in_(months), d.kind == "instance", d.measure == "cal"
        )
        for month, key, t, n in session.execute(monthly):
            per_month[(month, "instance", key, "cal")][int(t)] += int(n)
    if counts:
        c = InsightCount
        rows = select(
            c.month, c.kind, c.process_key, c.element_id, c.role,
            c.started, c.completed, c.with_due, c.late, c.last_id,
        ).where(c.month.in_(months))  # fmt: skip
        for month, kind, key, element, role, *values in session.execute(rows):
            found[(month, kind, key, element, role)] = dict(zip(COUNTERS, values, strict=True))
    return Summary(hist, found, per_month)


def nothing_after(session: Session, moment: datetime) -> bool:
    """No work is dated at or after ``moment`` (no instance started or ended, no task
    created): a month's summary up to now is then that month up to ``moment``."""
    pi, ht = ProcessInstance, HumanTask
    q = select(
        exists().where(pi.started_at >= moment),
        exists().where(pi.ended_at >= moment),
        exists().where(ht.created_at >= moment),
    )
    return not any(session.execute(q).one())


def rows_summary(
    session: Session,
    since: datetime,
    until: datetime,
    is_workday: IsWorkday,
    part: str,
) -> Summary:
    """One ``part`` (``started``, ``ended``, ``tasks``) of the work of a part of a month
    (``since`` to ``until``), read from the rows themselves (the summary tables keep
    whole months): the same shape as :func:`read` gives, to :func:`merge` into it."""
    durations: Counter[tuple[Any, ...]] = Counter()
    counts: dict[Key, dict[str, int]] = defaultdict(_new_count)
    _accumulate(session, is_workday, durations, counts, since=since, until=until, parts=(part,))
    found = Summary(defaultdict(Counter), dict(counts), defaultdict(Counter))
    for (month, kind, key, element, role, measure, t), n in durations.items():
        found.durations[(kind, key, element, role, measure)][t] += n
        if kind == "instance" and measure == "cal":
            found.by_month[(month, kind, key, measure)][t] += n
    return found


def merge(into: Summary, part: Summary) -> None:
    """Add ``part`` (a :func:`rows_summary`) to ``into``; ``part`` is left as it was."""
    for key, hist in part.durations.items():
        into.durations[key].update(hist)
    for month_key, hist in part.by_month.items():
        into.by_month[month_key].update(hist)
    for count_key, values in part.counts.items():
        mine = into.counts.setdefault(count_key, _new_count())
        for name, value in values.items():
            mine[name] = max(mine[name], value) if name == "last_id" else mine[name] + value


def percentile(histogram: Counter[Any], pct: float) -> Any:
    """The ``pct`` percentile (nearest rank) of the values counted in ``histogram``
    (None when empty)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, math.ceil(pct / 100 * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)  # pragma: no cover - rank <= total
