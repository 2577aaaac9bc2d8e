"""The general SLA reminder and escalation of a user task whose diagram models none.

A user task with a due time (its ``sla``, ``slaExpression`` or the PMO's SLA default) and
no boundary timer of its own gets one ``job`` row of kind ``sla_reminder`` when it opens
(:func:`schedule`, from :mod:`engine.projection`).  The row fires twice, each time once:

1. at the due time it reminds the assignee, or every holder of the task's role while
   nobody has claimed it (never the submitter of a four-eyes step); the row is then
   re-armed for the second stage, due one further period later (the step's
   ``escalate_after`` from :mod:`engine.sla_defaults`, else one working day, counted in
   the business calendar);
2. then it tells the PMO head role that the step is overdue.

Neither stops the work.  Both are notifications (the bell and the e-mail outbox, so the
mail goes out in the recipient's language) and audit events in the runner's transaction.
When the task closes first, the row is cancelled (:func:`cancel`); a row that fires for a
task closed meanwhile is cancelled then.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine import calendar_admin, identity, notifications
from engine.context import EngineContext
from engine.mail.templates import language
from engine.store import rows
from engine.store.models import SlaDefault, User
from engine.store.rows import JOBS, TASKS, Rec
from engine.views import WaitView
from engine.working_days import sla_due

#: The job kind of this module.
KIND = "sla_reminder"
#: The second period when the step's SLA default names none: one working day.
DEFAULT_ESCALATE_AFTER: str | int = 1
#: Who hears of an overdue step.
ESCALATE_TO = "pmo_head"
SYSTEM_ACTOR = "system"

#: The notices' words per language (each recipient reads them in their own).
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "remind_title": "Reminder: {step} of '{title}' is due",
        "remind_body": "The step {step} of '{title}' has reached its SLA ({due} UTC).",
        "escalate_title": "Escalation: {step} of '{title}' is overdue",
        "escalate_body": "The step {step} of '{title}' was due {due} UTC and is still "
        "open ({who}).",
        "unclaimed": "unclaimed",
    },
    "zh": {
        "remind_title": "提醒：“{title}”的步骤“{step}”已到期",
        "remind_body": "“{title}”的步骤“{step}”已到达 SLA（{due} UTC）。",
        "escalate_title": "升级：“{title}”的步骤“{step}”已逾期",
        "escalate_body": "“{title}”的步骤“{step}”应于 {due} UTC 完成，目前仍未完成（{who}）。",
        "unclaimed": "无人认领",
    },
}


def task_ref(task_id: int) -> str:
    """The job's ``task_ref`` for a human task (one reminder row per task)."""
    return f"task:{task_id}"


def has_modelled_reminder(elements: dict[str, Any], element_id: str) -> bool:
    """True when the diagram attaches a boundary event to the step (its own reminder,
    escalation or deadline); such a step gets no general reminder."""
    return any(
        info.get("attached_to") == element_id and info.get("type") == "boundaryEvent"
        for info in elements.values()
    )


def schedule(session: Session, row: Rec, now: datetime) -> None:
    """Add the reminder row of a newly opened human task (``row`` has its id and a due
    time); the unique (instance, kind, task_ref) key keeps it to one."""
    rows.insert_rec(
        session,
        rows.new(
            JOBS,
            kind=KIND,
            instance_id=row.instance_id,
            task_ref=task_ref(row.id),
            element_id=row.element_id,
            due_at=row.due_at,
            status="pending",
            attempts=0,
            payload={"task_id": row.id, "stage": "remind"},
            created_at=now,
        ),
    )


def cancel(session: Session, instance_id: int, task_ids: Collection[int], now: datetime) -> None:
    """Cancel the pending reminder rows of tasks that closed (completed or cancelled)."""
    if not task_ids:
        return
    session.execute(
        _CANCEL,
        {"w_instance_id": instance_id, "refs": [task_ref(t) for t in task_ids], "now": now},
        execution_options=rows.DEFERRED,
    )


_CANCEL = (
    update(JOBS)
    .where(
        JOBS.c.instance_id == bindparam("w_instance_id"),
        JOBS.c.kind == KIND,
        JOBS.c.task_ref.in_(bindparam("refs", expanding=True)),
        JOBS.c.status == "pending",
    )
    .values(status="cancelled", finished_at=bindparam("now"))
)


def fire(ctx: EngineContext, session: Session, job: Rec, inst: Rec | None, now: datetime) -> None:
    """Run one stage of a reminder row (the runner holds the instance and job locks and
    has marked the row done; re-arming sets it pending again)."""
    task_id = int((job.payload or {}).get("task_id") or 0)
    task = session.execute(select(TASKS).where(TASKS.c.id == task_id)).first()
    if inst is None or inst.status != "running" or task is None or task.status != "open":
        job.status = "cancelled"
        return
    if (job.payload or {}).get("stage") == "escalate":
        _escalate(session, job, inst, task, now)
        return
    _remind(session, job, inst, task, now)
    calendar_admin.refresh(ctx.calendar, session)
    period = escalate_after(session, inst.process_key, task.element_id)
    job.due_at = sla_due(job.due_at, period, ctx.calendar)
    job.status, job.finished_at = "pending", None
    job.payload = {**(job.payload or {}), "stage": "escalate", "escalate_after": str(period)}


def wait_view(job: Any) -> WaitView:
    """A pending reminder (a job, or a row of its columns) as a deadline on screen: at
    ``due_at`` the step's holders are reminded (``sla_reminder``), or the PMO head is told
    (``sla_escalation``)."""
    escalating = (job.payload or {}).get("stage") == "escalate"
    return WaitView(
        job.id,
        job.instance_id or 0,
        job.element_id or "",
        "Escalation to the PMO head" if escalating else "SLA reminder",
        job.due_at,
        False,
        attached_to=job.element_id,
        interrupting=False,
        then=None,
        kind="sla_escalation" if escalating else "sla_reminder",
    )


def escalate_after(session: Session, process_key: str, element_id: str) -> str | int:
    """The step's second period: its SLA default's ``escalate_after``, else one working
    day."""
    value = session.scalar(
        select(SlaDefault.escalate_after).where(
            SlaDefault.process_key == process_key, SlaDefault.element_id == element_id
        )
    )
    if not value:
        return DEFAULT_ESCALATE_AFTER
    return int(value) if value.isdigit() else value


def _who(session: Session, inst: Rec, task: Any) -> list[str]:
    if task.assignee:
        return [task.assignee]
    people = identity.holders(session, task.role or "", task.project_id) if task.role else []
    if task.four_eyes:
        people = [p for p in people if p != inst.started_by]
    return people


def _remind(session: Session, job: Rec, inst: Rec, task: Any, now: datetime) -> None:
    people = _who(session, inst, task)
    due = f"{job.due_at:%Y-%m-%d %H:%M}"
    _notify(session, people, now, "reminder", "remind", f"/tasks/{task.id}", inst, task, due)
    _audit(session, job, inst, task, now, "sla_reminder", people)


def _escalate(session: Session, job: Rec, inst: Rec, task: Any, now: datetime) -> None:
    people = identity.holders(session, ESCALATE_TO)
    due = f"{task.due_at:%Y-%m-%d %H:%M}"
    _notify(session, people, now, "escalation", "escalate", f"/instances/{inst.id}", inst, task,
            due)  # fmt: skip
    _audit(session, job, inst, task, now, "sla_escalation", people)


def _notify(
    session: Session,
    people: list[str],
    now: datetime,
    kind: str,
    stage: str,
    link: str,
    inst: Rec,
    task: Any,
    due: str,
) -> None:
    """One notice per language, each recipient in theirs (the bell and the outbox)."""
    locales = dict(
        session.execute(select(User.username, User.locale).where(User.username.in_(people))).all()
    )
    by_lang: dict[str, list[str]] = {}
    for person in people:
        by_lang.setdefault(language(locales.get(person)), []).append(person)
    for lang, group in sorted(by_lang.items()):
        words = TEXTS[lang]
        values = {
            "step": task.name,
            "title": inst.title,
            "due": due,
            "who": task.assignee or words["unclaimed"],
        }
        notifications.write(
            session,
            notifications.Note(
                usernames=tuple(group),
                kind=kind,
                title=words[f"{stage}_title"].format(**values),
                body=words[f"{stage}_body"].format(**values),
                link=link,
                instance_id=inst.id,
                human_task_id=task.id,
            ),
            now,
        )


def _audit(
    session: Session,
    job: Rec,
    inst: Rec,
    task: Any,
    now: datetime,
    kind: str,
    people: list[str],
) -> None:
    rows.audit(
        session,
        instance_id=inst.id,
        at=now,
        actor=SYSTEM_ACTOR,
        kind=kind,
        element_id=task.element_id,
        element_name=task.name,
        human_task_id=task.id,
        detail={"job": job.id, "due_at": job.due_at.isoformat(), "to": people},
    )
