"""The general SLA reminder and escalation of user tasks whose diagram models none: the
assignee (or the role) is reminded at the SLA, the PMO head is told one further period
later, the work goes on, everything is audited, nothing is sent twice, and a task that
closes first cancels its reminder."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.errors import InvalidData
from engine.sla_reminders import KIND, has_modelled_reminder
from engine.store.models import Job, Notification, OutboxMessage
from tests.engine.driver import HERE, Driver

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
PROPOSAL = {"title": "Tower upgrade", "budget": 1}


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    d = Driver(engine, session, clock)
    d.deploy("approval3.bpmn")
    return d


def _jobs(session, instance_id):
    return session.scalars(select(Job).where(Job.instance_id == instance_id, Job.kind == KIND)
                           .order_by(Job.id)).all()


def _mail(session, kind):
    return sorted((m.username, m.subject) for m in session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_reminder_then_escalation_without_stopping_the_work(drv, session, clock):
    inst = drv.start("approval3", data=PROPOSAL, title="Tower upgrade")
    task = drv.task(inst.id, "review")
    assert task.due_at == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # P2D: two working days
    [job] = _jobs(session, inst.id)
    assert (job.status, job.due_at, job.payload["stage"]) == ("pending", task.due_at, "remind")

    assert drv.advance_and_fire(days=1, hours=23).fired == 0  # not yet due
    assert _mail(session, "reminder") == []
    report = drv.advance_and_fire(hours=1, minutes=1)
    assert report.fired == 1 and report.failed == 0
    # Unclaimed four-eyes step: every reviewer is reminded, never the submitter.
    assert _mail(session, "reminder") == [
        ("reviewer1", "Reminder: Check completeness of 'Tower upgrade' is due"),
        ("reviewer2", "Reminder: Check completeness of 'Tower upgrade' is due"),
    ]
    session.expire_all()
    [job] = _jobs(session, inst.id)
    # Re-armed once for the escalation, one working day after the SLA.
    assert (job.status, job.due_at) == ("pending", datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    assert drv.engine.fire_due_jobs(session).fired == 0  # nothing twice
    assert len(_mail(session, "reminder")) == 2

    drv.advance_and_fire(days=1)
    assert _mail(session, "escalation") == [
        ("pmohead", "Escalation: Check completeness of 'Tower upgrade' is overdue")]
    session.expire_all()
    assert _jobs(session, inst.id)[0].status == "done"
    assert drv.advance_and_fire(days=5).fired == 0  # fired once each, for good
    assert len(_mail(session, "escalation")) == 1
    history = [e for e in drv.engine.history(session, inst.id)
               if e.kind in ("sla_reminder", "sla_escalation")]
    assert [(e.kind, e.actor, e.element_id) for e in history] == [
        ("sla_reminder", "system", "review"), ("sla_escalation", "system", "review")]
    # The work goes on: the task is still open and can be completed.
    assert drv.task(inst.id, "review").id == task.id
    drv.complete(inst.id, "review", "reviewer1", {"decision": "accept"})
    assert drv.task(inst.id, "approve")


def test_each_recipient_reads_it_in_their_language(drv, session, clock):
    drv.engine.set_locale(session, "reviewer2", "zh")
    drv.engine.set_locale(session, "pmohead", "zh")
    drv.start("approval3", data=PROPOSAL, title="Tower upgrade")
    drv.advance_and_fire(days=2, minutes=1)
    assert _mail(session, "reminder") == [
        ("reviewer1", "Reminder: Check completeness of 'Tower upgrade' is due"),
        ("reviewer2", "提醒：“Tower upgrade”的步骤“Check completeness”已到期"),
    ]
    drv.advance_and_fire(days=1)
    assert _mail(session, "escalation") == [
        ("pmohead", "升级：“Tower upgrade”的步骤“Check completeness”已逾期")]


def test_the_claimant_alone_is_reminded_and_links_to_the_task(drv, session, clock):
    inst = drv.start("approval3", data=PROPOSAL, title="Tower upgrade")
    task = drv.task(inst.id, "review")
    drv.engine.claim(session, task.id, "reviewer2")
    drv.advance_and_fire(days=2, minutes=1)
    assert [u for u, _s in _mail(session, "reminder")] == ["reviewer2"]
    note = session.scalars(select(Notification).where(Notification.kind == "reminder")).one()
    assert note.link == f"/tasks/{task.id}"


def test_completing_the_task_cancels_its_reminder(drv, session, clock):
    inst = drv.start("approval3", data=PROPOSAL, title="Tower upgrade")
    drv.complete(inst.id, "review", "reviewer1", {"decision": "accept"})
    jobs = _jobs(session, inst.id)
    assert [j.status for j in jobs] == ["cancelled"]  # "approve" has no SLA, so no reminder
    drv.advance_and_fire(days=30)
    assert _mail(session, "reminder") == [] and _mail(session, "escalation") == []


def test_the_second_period_comes_from_the_sla_default(drv, session, clock):
    drv.engine.set_sla_default(session, "admin", "approval3", "review", "P2D", "PT2H")
    assert drv.engine.admin_page(session, "admin").sla_defaults[0].escalate_after == "PT2H"
    inst = drv.start("approval3", data=PROPOSAL, title="Tower upgrade")
    drv.advance_and_fire(days=2, minutes=1)
    session.expire_all()
    job = _jobs(session, inst.id)[0]
    assert job.payload["stage"] == "escalate" and job.due_at > clock.now()
    drv.advance_and_fire(days=1)
    assert len(_mail(session, "escalation")) == 1


@pytest.mark.parametrize("value", ["soon", "-1", "P"])
def test_a_garbled_second_period_is_a_field_error(drv, session, value):
    with pytest.raises(InvalidData) as err:
        drv.engine.set_sla_default(session, "admin", "approval3", "review", "P2D", value)
    assert err.value.errors["escalate_after"].code == "sla.duration_invalid"
    assert drv.engine.admin_page(session, "admin").sla_defaults == []


def test_a_step_with_its_own_timers_gets_no_general_reminder(engine, session, clock, people):
    xml = (HERE / "timer_boundary.bpmn").read_text().replace(
        '<bpmn:userTask id="review" name="Triage">',
        '<bpmn:userTask id="review" name="Triage"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="sla" value="P1D"/></spiffworkflow:properties>'
        '</bpmn:extensionElements>')
    drv = Driver(engine, session, clock)
    drv.deploy_text("timer_boundary.bpmn", xml)
    inst = drv.start("timer_boundary", data={"reminders": 0, "remind_hours": 100})
    assert drv.task(inst.id, "review").due_at is not None
    assert _jobs(session, inst.id) == []


def test_modelled_reminder_detection():
    elements = {"t": {"type": "userTask"},
                "b": {"type": "boundaryEvent", "attached_to": "t", "interrupting": False}}
    assert has_modelled_reminder(elements, "t")
    assert not has_modelled_reminder(elements, "b")
