"""Cycle time: how long a request took, and each of its steps, in elapsed time and in
working days of the business calendar.

Read from the indexed rows only (``process_instances`` started/ended, ``human_tasks``
created/completed), never from a deserialized workflow.  Working time counts the hours
that fall on working days (in the calendar's time zone): Friday 10:00 to Monday 10:00 is
three days elapsed and one working day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.store.models import HumanTask, ProcessInstance
from engine.working_days import MAX_WORKING_DAYS, WorkCalendar

DAY = timedelta(days=1)


@dataclass(frozen=True)
class CycleTime:
    """One span of time: from ``start`` to ``end`` (``now`` while it is still running)."""

    start: datetime
    end: datetime
    running: bool
    elapsed: timedelta
    #: The part of ``elapsed`` that falls on working days.
    working: timedelta

    @property
    def working_days(self) -> float:
        """Working time in days (``1.5``: one and a half working days)."""
        return self.working / DAY


@dataclass(frozen=True)
class StepTime:
    """How long one step (a human task) took or has been waiting."""

    task_id: int
    name: str
    element_id: str
    status: str
    completed_by: str | None
    cycle: CycleTime


@dataclass(frozen=True)
class InstanceCycle:
    """A request's cycle time and its steps', oldest step first."""

    instance_id: int
    total: CycleTime
    steps: tuple[StepTime, ...]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def working_time(start: datetime, end: datetime, calendar: WorkCalendar) -> timedelta:
    """The time between ``start`` and ``end`` that falls on working days of ``calendar``
    (days counted in its time zone); zero when ``end`` is not after ``start``."""
    start, end = _aware(start).astimezone(calendar.zone), _aware(end).astimezone(calendar.zone)
    if end <= start:
        return timedelta(0)
    if (end.date() - start.date()).days > MAX_WORKING_DAYS:
        raise ValueError(f"a span of more than {MAX_WORKING_DAYS} days")
    total = timedelta(0)
    day = start.date()
    while day <= end.date():
        if calendar.is_workday(day):
            begin = datetime.combine(day, time(0), tzinfo=calendar.zone)
            finish = datetime.combine(day + DAY, time(0), tzinfo=calendar.zone)
            total += min(end, finish) - max(start, begin)
        day += DAY
    return total


def measure(
    start: datetime, end: datetime | None, now: datetime, calendar: WorkCalendar
) -> CycleTime:
    """The cycle time from ``start`` to ``end`` (``None``: still running, up to ``now``)."""
    stop = _aware(end) if end is not None else _aware(now)
    begin = _aware(start)
    return CycleTime(
        begin,
        stop,
        end is None,
        max(stop - begin, timedelta(0)),
        working_time(begin, stop, calendar),
    )


#: A request's start and end with its steps (not cancelled), in one statement: one row
#: per step, or one row without a step.
_CYCLE = (
    select(
        ProcessInstance.started_at,
        ProcessInstance.ended_at,
        HumanTask.id,
        HumanTask.name,
        HumanTask.element_id,
        HumanTask.status,
        HumanTask.completed_by,
        HumanTask.created_at,
        HumanTask.completed_at,
    )
    .select_from(ProcessInstance)
    .outerjoin(
        HumanTask,
        and_(HumanTask.instance_id == ProcessInstance.id, HumanTask.status != "cancelled"),
    )
    .where(ProcessInstance.id == bindparam("instance_id"))
    .order_by(HumanTask.created_at, HumanTask.id)
)


def instance_cycle(
    session: Session, instance_id: int, now: datetime, calendar: WorkCalendar
) -> InstanceCycle:
    """A request's cycle time and each step's (cancelled steps left out)."""
    rows = session.execute(_CYCLE, {"instance_id": instance_id}).all()
    if not rows:
        raise NotFound(
            f"request {instance_id} not found", code="instance.not_found", instance_id=instance_id
        )
    row = rows[0]
    tasks = [r for r in rows if r.id is not None]
    steps = tuple(
        StepTime(
            t.id,
            t.name,
            t.element_id,
            t.status,
            t.completed_by,
            measure(
                t.created_at, t.completed_at if t.status == "completed" else None, now, calendar
            ),
        )
        for t in tasks
    )
    return InstanceCycle(instance_id, measure(row.started_at, row.ended_at, now, calendar), steps)
