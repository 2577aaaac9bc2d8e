"""The escalation process (问题升级) end to end, on SQLite and PostgreSQL.

Three running projects with different PMs (pm1, pm2, pm3). pm1 raises the seed's issue
(a tower supplier shared by the three projects) and names the other two as affected.
Every step goes through the engine's verbs (the instance round-trips through the
database); assertions cover the escalation log, the human tasks, the notifications and
the audit trail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import identity
from engine.errors import Forbidden, InvalidData
from engine.spiff.bundle import SourceFile
from engine.store.models import HumanTask, ProcessInstance
from engine.store.uow import unit_of_work
from tests.engine.driver import Driver
from tests.support import instance_data, visited_elements
from tests.workflows.factories import process_driver, proposal
from workflows import records
from workflows.escalation import OPERATIONS

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
TUESDAY_9 = datetime.fromisoformat("2026-03-03T09:00:00+00:00")
EXTRA_USERS = {"pm3": ["pm"], "reviewer2": ["pmo_reviewer"], "steer2": ["steering"],
               "owner1": ["process_owner"]}


def escalation_files() -> list[SourceFile]:
    """The shipped diagram, decision table and forms of the escalation process."""
    paths = [BPMN / "escalation.bpmn", *sorted(BPMN.glob("escalation_*.dmn"))]
    out = [SourceFile(p.name, p.read_bytes()) for p in paths]
    return out + [SourceFile(f"forms/{p.name}", p.read_bytes())
                  for p in sorted((BPMN / "forms").glob("escalation-*.schema.json"))]


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    return process_driver(engine, session, clock, users=EXTRA_USERS, operations=OPERATIONS,
                          files=escalation_files())


@pytest.fixture
def projects(drv, session, clock) -> list[records.ProjectView]:
    """Three approved tower-site projects run by pm1, pm2 and pm3."""
    out = []
    with unit_of_work(session):
        for n, pm in ((1, "pm1"), (2, "pm2"), (3, "pm3")):
            p = records.propose_project(session, proposal(title=f"Tower site {n}"), pm=pm,
                                        now=clock.now())
            out.append(records.approve_project(session, p.id, actor="pmohead",
                                               now=clock.now()))
    return out


def issue(projects, **overrides) -> dict:
    """The seed's issue as start-form data."""
    data = {
        "project_id": projects[0].id,
        "affected_project_ids": [projects[1].id, projects[2].id],
        "title": "Tower supplier serves three competing projects at once",
        "description": "The supplier cannot erect towers on all three sites in March.",
        "kind": "resource_conflict", "severity": "high",
        "tried": "Asked the supplier for a second crew; refused.",
        "needed_by": "2026-03-10",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def start(drv: Driver, projects, actor: str = "pm1", **overrides):
    return drv.start("escalation", actor, issue(projects, **overrides))


def log(session, inst_id: int) -> records.EscalationView:
    """The instance's escalation log entry."""
    found, total = records.list_escalations(session, limit=500)
    mine = [e for e in found if e.instance_id == inst_id]
    assert len(mine) == 1, total
    session.rollback()
    return mine[0]


def titles(drv: Driver, username: str) -> list[str]:
    """A person's notification titles, newest first."""
    return [n.title for n in drv.engine.notifications(drv.session, username, limit=100)]


def heard(drv: Driver, username: str, prefix: str) -> int:
    """How many of a person's notifications start with ``prefix``."""
    return sum(t.startswith(prefix) for t in titles(drv, username))


def decide(drv: Driver, inst_id: int, element: str, actor: str, decision: str,
           comment: str = "") -> None:
    data = {"decision": decision}
    if comment:
        data["comment"] = comment
    drv.complete(inst_id, element, actor, data)


def completed(drv: Driver, inst_id: int) -> list[tuple]:
    return [(e.element_id, e.actor, e.outcome, e.reason)
            for e in drv.engine.history(drv.session, inst_id) if e.kind == "task_completed"]


def notes(drv: Driver, inst_id: int, element: str) -> list[str]:
    return [n for e in drv.engine.history(drv.session, inst_id)
            if e.kind == "service_called" and e.element_id == element
            for n in e.detail.get("notes", [])]


# --------------------------------------------------------------------------- raise


def test_raise_logs_binds_and_opens_triage(drv, session, projects):
    inst = start(drv, projects)
    assert inst.project_id == projects[0].id and inst.status == "running"
    e = log(session, inst.id)
    assert (e.status, e.raised_by, e.project_id) == ("triage", "pm1", projects[0].id)
    assert e.affected_project_ids == (projects[1].id, projects[2].id)
    assert str(e.needed_by) == "2026-03-10" and e.kind == "resource_conflict"
    triage = drv.task(inst.id, "triage")
    assert (triage.role, triage.project_id, triage.assignee, triage.four_eyes) == (
        "pmo_reviewer", projects[0].id, None, True)
    assert triage.due_at == TUESDAY_9  # SLA 1 working day from the table
    data = instance_data(drv.engine, session, inst.id)
    assert data["sla"] == {"triage_days": 1, "reminder_hours": 4, "steering_days": 2}
    assert data["escalation"]["id"] == e.id
    for pm in ("pm2", "pm3"):  # the affected PMs hear that their project is named
        assert any("names your project" in t for t in titles(drv, pm))
    assert not any("names your project" in t for t in titles(drv, "pm1"))
    # the SLA table ran: its inputs and outputs are recorded (what-if replays them)
    assert drv.kinds(inst.id) == ["started", "service_called", "decision"]
    assert any("logged on" in n for n in notes(drv, inst.id, "log"))


@pytest.mark.parametrize(("severity", "triage", "remind", "steering", "steer_due"), [
    ("low", 1, 6, 5, "2026-03-09"), ("medium", 1, 4, 3, "2026-03-05"),
    ("high", 1, 4, 2, "2026-03-04"), ("critical", 1, 2, 1, "2026-03-03"),
])
def test_sla_table_by_severity(drv, session, projects, severity, triage, remind, steering,
                               steer_due):
    """Every rule of escalation_sla, seen where it acts: due dates and timer jobs."""
    inst = start(drv, projects, severity=severity)
    data = instance_data(drv.engine, session, inst.id)
    assert data["sla"] == {"triage_days": triage, "reminder_hours": remind,
                           "steering_days": steering}
    t0 = drv.clock.now()
    jobs = {j.element_id: j.due_at for j in drv.engine.jobs(session, instance_id=inst.id)
            if j.status == "pending"}
    assert jobs == {"triage_late": TUESDAY_9, "triage_remind": t0 + timedelta(hours=remind)}
    decide(drv, inst.id, "triage", "reviewer1", "escalate", "Cross-portfolio priority.")
    steer = drv.task(inst.id, "steer")
    assert steer.due_at == datetime.fromisoformat(f"{steer_due}T09:00:00+00:00")


BAD_INPUT = [
    ({"affected_project_ids": "own"}, "affected_project_ids"),
    ({"affected_project_ids": [999_999]}, "affected_project_ids"),
    ({"project_id": 999_999}, "project_id"),
    ({"needed_by": "2026-03-01"}, "needed_by"),
    ({"needed_by": "next week"}, "needed_by"),
    ({"kind": "weather"}, "kind"),
    ({"severity": "urgent"}, "severity"),
    ({"tried": ""}, "tried"),
    ({"tried": None}, "tried"),
    ({"title": None}, "title"),
]


@pytest.mark.parametrize(("change", "field"), BAD_INPUT)
def test_bad_input_names_the_field_and_nothing_starts(drv, session, projects, change,
                                                      field):
    if change.get("affected_project_ids") == "own":
        change = {"affected_project_ids": [projects[0].id, projects[1].id]}
    with pytest.raises(InvalidData) as err:
        start(drv, projects, **change)
    assert field in err.value.errors, err.value.errors
    assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    assert records.list_escalations(session)[1] == 0


def test_only_the_projects_pm_raises_on_running_projects(drv, session, projects, clock):
    with pytest.raises(InvalidData, match="not the PM") as err:
        start(drv, projects, actor="pm2")
    assert set(err.value.errors) == {"project_id"}
    with unit_of_work(session):
        idea = records.propose_project(session, proposal(title="Idea"), pm="pm1",
                                       now=clock.now())
        gone = records.withdraw_project(session, projects[2].id, actor="pm3",
                                        now=clock.now(), reason="cancelled")
    with pytest.raises(InvalidData, match="Proposed") as err:
        start(drv, projects, project_id=idea.id, affected_project_ids=[projects[1].id])
    assert set(err.value.errors) == {"project_id"}
    with pytest.raises(InvalidData, match="no longer running") as err:
        start(drv, projects)
    assert set(err.value.errors) == {"affected_project_ids"}
    assert gone.stage == "Withdrawn"
    assert records.list_escalations(session)[1] == 0


def test_an_issue_without_other_projects_is_fine(drv, session, projects):
    """Budget or scope issues may involve no other project; today is a valid date."""
    inst = start(drv, projects, affected_project_ids=None, kind="budget",
                 needed_by="2026-03-02")
    e = log(session, inst.id)
    assert e.affected_project_ids == () and e.kind == "budget"
    decide(drv, inst.id, "triage", "reviewer1", "resolve", "Use the contingency reserve.")
    assert heard(drv, "pm1", f"Escalation decision: {e.title}") == 1
    assert titles(drv, "pm2") == []


# --------------------------------------------------------------------------- paths


def test_resolve_at_pmo_then_pm_confirms(drv, session, projects, clock):
    inst = start(drv, projects)
    clock.advance(hours=2)
    split = "Supplier serves site 1 first (Mar 4-12), then sites 2 and 3 (Mar 13-25)."
    decide(drv, inst.id, "triage", "reviewer1", "resolve", split)
    e = log(session, inst.id)
    assert (e.status, e.decision_level, e.decided_by, e.decision) == (
        "decided", "pmo", "reviewer1", split)
    assert e.decided_at == clock.now()
    for pm in ("pm1", "pm2", "pm3"):  # the decision goes to every PM involved
        note = drv.engine.notifications(session, pm)
        assert any(n.title == f"Escalation decision: {e.title}" and split in n.body
                   and "reviewer1" in n.body for n in note), pm
    confirm = drv.task(inst.id, "confirm")
    assert (confirm.role, confirm.assignee, confirm.project_id, confirm.four_eyes) == (
        "pm", "pm1", projects[0].id, False)
    data = instance_data(drv.engine, session, inst.id)
    assert (data["outcome_text"], data["outcome_by"]) == (split, "reviewer1")
    with pytest.raises(Forbidden, match="assigned to pm1"):
        drv.complete(inst.id, "confirm", "pm2", {"decision": "resolved"})
    done = drv.complete(inst.id, "confirm", "pm1",
                        {"decision": "resolved", "comment": "Crew on site 1."})
    assert done.status == "completed"
    e = log(session, inst.id)
    assert (e.status, e.resolution) == ("resolved", "Crew on site 1.")
    assert completed(drv, inst.id) == [
        ("triage", "reviewer1", "resolve", split),
        ("confirm", "pm1", "resolved", "Crew on site 1.")]
    assert any(t == f"Escalation closed: {e.title}" for t in titles(drv, "reviewer1"))
    assert any(t == f"Escalation closed: {e.title}" for t in titles(drv, "pm2"))
    visited = visited_elements(drv.engine, session, inst.id)
    assert "steer" not in visited and "guidance" not in visited and visited["closed"] == 1
    assert any("sent to pm1, pm2, pm3" in n for n in notes(drv, inst.id, "record"))


def test_escalate_to_steering_then_decide_then_confirm(drv, session, projects):
    inst = start(drv, projects)
    why = "Site 2 and 3 belong to competing customers; a portfolio priority call."
    decide(drv, inst.id, "triage", "reviewer1", "escalate", why)
    e = log(session, inst.id)
    assert e.status == "steering" and e.decision is None
    steer = drv.task(inst.id, "steer")
    assert (steer.role, steer.assignee, steer.four_eyes, steer.project_id) == (
        "steering", None, True, projects[0].id)
    assert instance_data(drv.engine, session, inst.id)["pmo_reason"] == why
    for member in ("steer1", "steer2"):
        assert titles(drv, member)[0] == f"Escalation for the steering committee: {e.title}"
    assert not any("Escalation decision" in t for t in titles(drv, "pm2"))
    with pytest.raises(InvalidData) as err:  # the committee cannot escalate further
        decide(drv, inst.id, "steer", "steer1", "escalate", "up")
    assert "decision" in err.value.errors
    decision = "Site 1 first: its grid connection date is contractual."
    decide(drv, inst.id, "steer", "steer1", "resolve", decision)
    e = log(session, inst.id)
    assert (e.status, e.decision_level, e.decided_by, e.decision) == (
        "decided", "steering", "steer1", decision)
    for pm in ("pm1", "pm2", "pm3"):
        assert heard(drv, pm, f"Escalation decision: {e.title}") == 1
    drv.complete(inst.id, "confirm", "pm1", {"decision": "resolved"})
    e = log(session, inst.id)
    assert (e.status, e.resolution) == ("resolved", "Resolved.")
    assert drv.instance(inst.id).status == "completed"
    assert [c[:3] for c in completed(drv, inst.id)] == [
        ("triage", "reviewer1", "escalate"), ("steer", "steer1", "resolve"),
        ("confirm", "pm1", "resolved")]
    assert any("Escalated to the steering committee" in n
               for n in notes(drv, inst.id, "record"))


def test_hand_back_with_guidance_pm_accepts(drv, session, projects):
    inst = start(drv, projects)
    guidance = "Swap crews with pm2 directly; the contract allows it. Copy the PMO."
    decide(drv, inst.id, "triage", "reviewer1", "hand_back", guidance)
    e = log(session, inst.id)
    assert (e.status, e.decision, e.decision_level) == ("handed_back", guidance, "pmo")
    for pm in ("pm1", "pm2", "pm3"):
        assert heard(drv, pm, f"Escalation guidance: {e.title}") == 1
    assert titles(drv, "pm1")[0] == "New task: Act on guidance"
    task = drv.task(inst.id, "guidance")
    assert (task.assignee, task.role, task.four_eyes) == ("pm1", "pm", False)
    assert instance_data(drv.engine, session, inst.id)["outcome_text"] == guidance
    drv.complete(inst.id, "guidance", "pm1", {"decision": "accept"})
    e = log(session, inst.id)
    assert (e.status, e.resolution) == ("resolved", "Guidance accepted.")
    assert drv.instance(inst.id).status == "completed"
    assert "confirm" not in visited_elements(drv.engine, session, inst.id)


def test_steering_hands_back_and_pm_reopens_from_guidance(drv, session, projects):
    inst = start(drv, projects)
    decide(drv, inst.id, "triage", "reviewer1", "escalate", "Needs the committee.")
    decide(drv, inst.id, "steer", "steer2", "hand_back", "Not a steering matter; use PMO pool.")
    e = log(session, inst.id)
    assert (e.status, e.decision_level, e.decided_by) == ("handed_back", "steering", "steer2")
    with pytest.raises(InvalidData) as err:
        drv.complete(inst.id, "guidance", "pm1", {"decision": "reopen"})
    assert err.value.errors == {"comment": "This field is required."}
    drv.complete(inst.id, "guidance", "pm1",
                 {"decision": "reopen", "comment": "The PMO pool has no tower crews."})
    e = log(session, inst.id)
    assert (e.status, e.reopen_count) == ("reopened", 1)
    assert titles(drv, "steer2")[0] == f"Escalation reopened: {e.title}"
    triage = drv.task(inst.id, "triage")
    assert triage.role == "pmo_reviewer" and triage.due_at == TUESDAY_9
    data = instance_data(drv.engine, session, inst.id)
    assert data["reopen_reason"] == "The PMO pool has no tower crews."
    decide(drv, inst.id, "triage", "reviewer2", "resolve", "Rent a crew from site 3.")
    assert log(session, inst.id).decision_level == "pmo"  # back at PMO level
    drv.complete(inst.id, "confirm", "pm1", {"decision": "resolved"})
    assert log(session, inst.id).status == "resolved"


def test_reopen_twice_then_confirm(drv, session, projects, clock):
    inst = start(drv, projects)
    for n in (1, 2):
        decide(drv, inst.id, "triage", "reviewer1", "resolve", f"Decision {n}")
        clock.advance(hours=1)
        drv.complete(inst.id, "confirm", "pm1",
                     {"decision": "reopen", "comment": f"Still blocked ({n})"})
        e = log(session, inst.id)
        assert (e.status, e.reopen_count, e.reopen_reason) == (
            "reopened", n, f"Still blocked ({n})")
        assert titles(drv, "reviewer1")[0] == f"Escalation reopened: {e.title}"
        assert titles(drv, "pm3")[0] == f"Escalation reopened: {e.title}"
        assert drv.task(inst.id, "triage").status == "open"
    decide(drv, inst.id, "triage", "reviewer1", "resolve", "Decision 3")
    drv.complete(inst.id, "confirm", "pm1", {"decision": "resolved"})
    e = log(session, inst.id)
    assert (e.status, e.reopen_count, e.decision) == ("resolved", 2, "Decision 3")
    # The log keeps every decision of the reopened escalation, and why it was reopened.
    assert [(x.kind, x.text, x.by) for x in e.log] == [
        ("decided", "Decision 1", "reviewer1"), ("reopened", "Still blocked (1)", "pm1"),
        ("decided", "Decision 2", "reviewer1"), ("reopened", "Still blocked (2)", "pm1"),
        ("decided", "Decision 3", "reviewer1")]
    assert [x.level for x in e.log if x.kind == "decided"] == ["pmo"] * 3
    visits = visited_elements(drv.engine, session, inst.id)
    assert (visits["triage"], visits["confirm"], visits["merge"]) == (3, 3, 3)
    assert drv.instance(inst.id).status == "completed"
    assert [c[2] for c in completed(drv, inst.id)] == [
        "resolve", "reopen", "resolve", "reopen", "resolve", "resolved"]


# --------------------------------------------------------------------------- timers


def test_triage_reminder_then_overdue_moves_to_pmo_head(drv, session, projects):
    with unit_of_work(session):
        identity.set_roles(session, "pm1", ["pm", "pmo_reviewer"])
    inst = start(drv, projects)  # high: reminder after 4 hours, SLA 1 working day
    assert drv.advance_and_fire(hours=3).fired == 0
    assert drv.advance_and_fire(hours=1, seconds=1).fired == 1
    for reviewer in ("reviewer1", "reviewer2"):
        assert titles(drv, reviewer)[0].startswith("Reminder: PMO triage is due")
    assert not any(t.startswith("Reminder") for t in titles(drv, "pm1"))  # not the raiser
    assert drv.task(inst.id, "triage").status == "open"  # the reminder does not interrupt
    assert drv.advance_and_fire(hours=19, minutes=59).fired == 0  # Tuesday 08:59
    report = drv.advance_and_fire(minutes=1, seconds=1)  # past Tuesday 09:00
    assert report.fired == 1
    assert [t.element_id for t in drv.open_tasks(inst.id)] == ["head_triage"]
    head = drv.task(inst.id, "head_triage")
    assert (head.role, head.four_eyes, head.project_id) == ("pmo_head", True,
                                                            projects[0].id)
    assert log(session, inst.id).status == "pmo"
    assert titles(drv, "pmohead")[0].startswith("Overdue escalation for you to triage")
    assert titles(drv, "pm1")[0].startswith("Your escalation went to the PMO head")
    cancelled = session.scalar(select(HumanTask.status).where(
        HumanTask.instance_id == inst.id, HumanTask.element_id == "triage"))
    assert cancelled == "cancelled"
    assert drv.kinds(inst.id).count("timer_fired") == 2
    decide(drv, inst.id, "head_triage", "pmohead", "resolve", "Site 1 first.")
    e = log(session, inst.id)
    assert (e.status, e.decided_by, e.decision_level) == ("decided", "pmohead", "pmo")
    assert titles(drv, "pm2")[0] == f"Escalation decision: {e.title}"
    drv.complete(inst.id, "confirm", "pm1", {"decision": "resolved"})
    assert drv.instance(inst.id).status == "completed"


def test_pmo_head_gets_a_reminder_and_keeps_the_task(drv, session, projects):
    inst = start(drv, projects)
    drv.advance_and_fire(days=1, seconds=1)  # Tuesday: triage overdue -> PMO head
    # The head's own SLA is one working day from when the task opened (Tue 09:00:01).
    assert drv.advance_and_fire(hours=23, minutes=59, seconds=59).fired == 0
    assert drv.advance_and_fire(seconds=2).fired == 1
    assert titles(drv, "pmohead")[0].startswith("Reminder: PMO triage (taken over) is due")
    assert drv.task(inst.id, "head_triage").status == "open"
    decide(drv, inst.id, "head_triage", "pmohead", "escalate", "Portfolio call.")
    assert drv.task(inst.id, "steer").role == "steering"


def test_a_timer_due_exactly_now_fires_once_just_after(drv, session, projects, clock):
    inst = start(drv, projects)
    clock.set("2026-03-03T09:00:00+00:00")  # exactly one working day later: not yet past
    drv.engine.fire_due_jobs(session)  # (the earlier reminder fires here)
    assert drv.task(inst.id, "triage")
    clock.set("2026-03-03T09:00:01+00:00")
    report = drv.engine.fire_due_jobs(session)
    assert report.fired == 1 and drv.task(inst.id, "head_triage")
    assert drv.engine.fire_due_jobs(session).fired == 0


def test_friday_start_waits_over_the_weekend(drv, session, projects, clock):
    clock.set("2026-03-06T16:00:00+00:00")  # Friday
    inst = start(drv, projects, severity="low")  # reminder after 6 hours
    triage = drv.task(inst.id, "triage")
    assert triage.due_at == datetime.fromisoformat("2026-03-09T16:00:00+00:00")
    assert drv.advance_and_fire(hours=6, seconds=1).fired == 1  # the reminder only
    clock.set("2026-03-08T23:00:00+00:00")  # Sunday night: nothing is overdue
    assert drv.engine.fire_due_jobs(session).fired == 0
    assert drv.task(inst.id, "triage").status == "open"
    clock.set("2026-03-09T16:00:01+00:00")  # Monday, one working day later
    assert drv.engine.fire_due_jobs(session).fired == 1
    assert drv.task(inst.id, "head_triage")


def test_steering_reminder_tells_committee_and_pmo_head(drv, session, projects):
    inst = start(drv, projects, severity="critical")  # steering SLA 1 working day
    decide(drv, inst.id, "triage", "reviewer1", "escalate", "Portfolio call.")
    assert drv.advance_and_fire(hours=23).fired == 0
    assert drv.advance_and_fire(hours=1, seconds=1).fired == 1
    for member in ("steer1", "steer2"):
        assert titles(drv, member)[0].startswith("Reminder: Steering decision is due")
    assert titles(drv, "pmohead")[0].startswith("Overdue: Steering decision")
    assert drv.task(inst.id, "steer").status == "open"
    assert any("told pmohead" in n for n in notes(drv, inst.id, "remind_steering"))


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(("decision", "comment", "field"), [
    ("hand_back", None, "comment"), ("resolve", None, "comment"),
    ("escalate", None, "comment"), ("resolve", "   ", "comment"),
    ("maybe", "x", "decision"), (None, "x", "decision"),
])
def test_triage_needs_an_outcome_and_a_text(drv, session, projects, decision, comment,
                                            field):
    inst = start(drv, projects)
    data = {k: v for k, v in (("decision", decision), ("comment", comment)) if v is not None}
    with pytest.raises(InvalidData) as err:
        drv.complete(inst.id, "triage", "reviewer1", data)
    assert field in err.value.errors
    assert drv.task(inst.id, "triage").status == "open"
    assert log(session, inst.id).status == "triage"
    assert drv.instance(inst.id).revision == 1


def test_steering_decision_needs_a_text(drv, session, projects):
    inst = start(drv, projects)
    decide(drv, inst.id, "triage", "reviewer1", "escalate", "Portfolio call.")
    with pytest.raises(InvalidData) as err:
        drv.complete(inst.id, "steer", "steer1", {"decision": "resolve"})
    assert err.value.errors == {"comment": "This field is required."}
    assert log(session, inst.id).status == "steering"


def test_four_eyes_on_triage_head_and_steering(drv, session, projects, clock):
    with unit_of_work(session):
        identity.set_roles(session, "pm1", ["pm", "pmo_reviewer", "pmo_head", "steering"])
    inst = start(drv, projects)
    triage = drv.task(inst.id, "triage")
    for verb in (lambda: drv.engine.claim(session, triage.id, "pm1"),
                 lambda: decide(drv, inst.id, "triage", "pm1", "resolve", "mine")):
        with pytest.raises(Forbidden, match="four-eyes"):
            verb()
    # Through delegation: reviewer1 lets pm1 act for them; still pm1's own escalation.
    with unit_of_work(session):
        identity.set_roles(session, "pm1", ["pm"])
        identity.add_delegation(session, "reviewer1", "pm1", clock.now(), None, "leave",
                                clock.now())
    with pytest.raises(Forbidden, match="four-eyes"):
        decide(drv, inst.id, "triage", "pm1", "resolve", "mine")
    drv.engine.claim(session, triage.id, "reviewer2")
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.delegate(session, triage.id, "reviewer2", "pm1", "holiday")
    decide(drv, inst.id, "triage", "reviewer2", "escalate", "Portfolio call.")
    with unit_of_work(session):
        identity.set_roles(session, "pm1", ["pm", "steering"])
    with pytest.raises(Forbidden, match="four-eyes"):
        decide(drv, inst.id, "steer", "pm1", "resolve", "mine")
    # The same delegation serves someone else's escalation, recorded on behalf.
    other = start(drv, projects, actor="pm2", project_id=projects[1].id,
                  affected_project_ids=[projects[0].id])
    decide(drv, other.id, "triage", "pm1", "hand_back", "Talk to pm1.")
    row = session.scalar(select(HumanTask).where(HumanTask.instance_id == other.id,
                                                 HumanTask.element_id == "triage"))
    assert (row.completed_by, row.on_behalf_of) == ("pm1", "reviewer1")
    assert log(session, other.id).decided_by == "pm1"
    # Confirming one's own escalation is not a review.
    decide(drv, inst.id, "steer", "steer1", "resolve", "Site 1 first.")
    drv.complete(inst.id, "confirm", "pm1", {"decision": "resolved"})
    assert log(session, inst.id).status == "resolved"


def test_four_eyes_on_the_overdue_head_triage(drv, session, projects):
    with unit_of_work(session):
        identity.set_roles(session, "pm1", ["pm", "pmo_head"])
    inst = start(drv, projects)
    drv.advance_and_fire(days=1, seconds=1)
    with pytest.raises(Forbidden, match="four-eyes"):
        decide(drv, inst.id, "head_triage", "pm1", "resolve", "mine")
    assert heard(drv, "pm1", "Overdue escalation for you to triage") == 0  # not the raiser
    assert heard(drv, "pmohead", "Overdue escalation for you to triage") == 1


def test_audit_trail_reads_as_the_story(drv, session, projects):
    inst = start(drv, projects)
    decide(drv, inst.id, "triage", "reviewer1", "escalate", "Portfolio call.")
    decide(drv, inst.id, "steer", "steer1", "resolve", "Site 1 first.")
    drv.complete(inst.id, "confirm", "pm1", {"decision": "resolved"})
    history = drv.engine.history(session, inst.id)
    kinds = [(e.kind, e.element_id) for e in history
             if e.kind in ("started", "task_completed", "service_called", "completed")]
    assert kinds == [
        ("started", None), ("service_called", "log"),
        ("task_completed", "triage"), ("service_called", "record"),
        ("task_completed", "steer"), ("service_called", "record"),
        ("task_completed", "confirm"), ("service_called", "close"),
        ("completed", None)]
    steer = next(e for e in history if e.element_id == "steer" and e.kind == "task_completed")
    assert (steer.actor, steer.outcome, steer.reason) == ("steer1", "resolve", "Site 1 first.")


def test_diagram_matches_its_generator():
    from scripts.diagrams.escalation import build

    assert build().render() == (BPMN / "escalation.bpmn").read_text(encoding="utf-8")
