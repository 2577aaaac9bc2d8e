"""Project approval (立项审批): every path of bpmn/project_approval.bpmn, on SQLite and PostgreSQL.

Each engine call loads the instance from the database and saves it back (the Driver), so
every step round-trips through the serializer like the web app.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from sqlalchemy import func, select

from engine import identity
from engine.errors import Forbidden, InvalidData
from engine.spiff.bundle import SourceFile
from engine.spiff.sandbox import SandboxedScriptEngine
from engine.spiff.script_helpers import make_helpers
from engine.store.models import ProcessInstance
from engine.store.uow import unit_of_work
from tests.engine.driver import Driver
from tests.support import instance_data, visited_elements
from tests.workflows.factories import process_driver
from tests.workflows.factories import proposal as base_proposal
from workflows import records
from workflows.approval import OPERATIONS, committee_outcome, seed_demo

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
KEY = "project_approval"
CODE = re.compile(r"^PRJ-2026-\d{4}$")
ACCEPT = {"decision": "accept", "charter_complete": True, "plan_attached": True,
          "budget_broken_down": True}
EXTRA_USERS = {"reviewer2": "pmo_reviewer", "steer2": "steering", "steer3": "steering",
               "sponsor2": "sponsor", "owner1": "process_owner", "team3": "team"}


def bundle(dmn: bytes | None = None) -> list[SourceFile]:
    """The shipped diagram, routing table and forms (optionally another table)."""
    files = [SourceFile("project_approval.bpmn", (BPMN / "project_approval.bpmn").read_bytes()),
             SourceFile("approval_routing.dmn",
                        dmn or (BPMN / "approval_routing.dmn").read_bytes())]
    files += [SourceFile(f"forms/{p.name}", p.read_bytes())
              for p in sorted((BPMN / "forms").glob("project_approval-*.schema.json"))]
    return files


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    return process_driver(engine, session, clock, users=EXTRA_USERS, operations=OPERATIONS,
                          files=bundle())


# --------------------------------------------------------------------------- helpers


def proposal(amount: str = "50000.00", currency: str = "CNY", **kw: Any) -> dict[str, Any]:
    """A valid start form: one department, low risk, IT, unless overridden."""
    data = base_proposal(budget={"amount": amount, "currency": currency},
                         expected_roi_pct=18.5, risk_rating="low", departments=["IT"])
    data.update(kw)
    return data


def submit(drv: Driver, who: str = "pm1", **kw: Any):
    return drv.start(KEY, who, proposal(**kw))


def elements(drv: Driver, iid: int) -> list[str]:
    return sorted(t.element_id for t in drv.open_tasks(iid))


def project(drv: Driver, iid: int) -> records.ProjectView:
    return records.get_project(drv.session, drv.instance(iid).project_id)


def data(drv: Driver, iid: int) -> dict[str, Any]:
    return instance_data(drv.engine, drv.session, iid)


def decisions(drv: Driver, iid: int) -> list[tuple]:
    return [(e.element_id, e.actor, e.outcome, e.reason)
            for e in drv.engine.history(drv.session, iid) if e.kind == "task_completed"]


def notes(drv: Driver, iid: int) -> str:
    return "\n".join(n for e in drv.engine.history(drv.session, iid)
                     if e.kind == "service_called" for n in e.detail.get("notes", []))


def titles(drv: Driver, username: str) -> list[str]:
    return [n.title for n in drv.engine.notifications(drv.session, username, limit=100)]


def stages(drv: Driver, project_id: int) -> list[tuple]:
    return [(h.from_stage, h.to_stage, h.by) for h in
            records.stage_history(drv.session, project_id)]


def review(drv: Driver, iid: int, role: str, who: str, decision: str = "approve",
           comment: str | None = None):
    form = {"decision": decision, **({"comment": comment} if comment else {})}
    return drv.complete(iid, f"review_{role}", who, form)


def vote(drv: Driver, iid: int, who: str, decision: str, comment: str | None = None):
    task = next(t for t in drv.open_tasks(iid) if t.element_id == "steering_vote")
    form = {"decision": decision, **({"comment": comment} if comment else {})}
    return drv.engine.complete(drv.session, task.id, who, form)


def kickoff(drv: Driver, iid: int, day: str | None = None):
    return drv.complete(iid, "kickoff", "pm1",
                        {"kickoff_date": day or drv.clock.now().date().isoformat()})


# --------------------------------------------------------------------------- the routing table


def route(amount: float, risk: str = "low", departments: int = 1,
          category: str = "it") -> dict[str, Any]:
    """Run approval_routing alone in the sandbox; {role: (sla days, escalate to)}."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(ROUTE_ONLY.encode(), filename="route_only.bpmn")
    parser.add_dmn_str((BPMN / "approval_routing.dmn").read_bytes(), filename="r.dmn")
    engine = SandboxedScriptEngine(helpers=make_helpers(lambda: datetime.now(UTC)))
    wf = BpmnWorkflow(parser.get_spec("route_only"), script_engine=engine)
    wf.task_tree.data["project"] = {
        "budget_reporting": {"amount": f"{amount:.2f}", "currency": "CNY"},
        "category": category, "risk_rating": risk,
        "departments": [f"D{i}" for i in range(departments)]}
    wf.do_engine_steps()
    approvers = wf.data.get("approvers", [])
    got = {a["role"]: (a["sla_days"], a["escalate_to"]) for a in approvers}
    assert len(got) == len(approvers), approvers  # never one role twice
    return got


ROUTE_ONLY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="t">
  <bpmn:process id="route_only" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="r"><bpmn:extensionElements><spiffworkflow:calledDecisionId>approval_routing</spiffworkflow:calledDecisionId></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="r"/><bpmn:sequenceFlow id="f2" sourceRef="r" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""

HEAD, FIN, STEER = (3, "steer1"), (5, "pmo_head"), (10, "steer1")


@pytest.mark.parametrize(("amount", "risk", "departments", "expected"), [
    (0, "low", 1, {"pmo_head": HEAD}),
    (99_999, "low", 1, {"pmo_head": HEAD}),
    (99_999.99, "medium", 1, {"pmo_head": HEAD}),
    (100_000, "low", 1, {"pmo_head": HEAD, "finance": FIN}),
    (500_000, "medium", 1, {"pmo_head": HEAD, "finance": FIN}),
    (1_000_000, "low", 1, {"pmo_head": HEAD, "finance": FIN}),
    (1_000_000.01, "low", 1, {"pmo_head": HEAD, "finance": FIN, "steering": STEER}),
    (1_000_001, "low", 1, {"pmo_head": HEAD, "finance": FIN, "steering": STEER}),
    (50_000, "high", 1, {"pmo_head": HEAD, "steering": STEER}),
    (99_999, "high", 1, {"pmo_head": HEAD, "steering": STEER}),
    (100_000, "high", 1, {"pmo_head": HEAD, "finance": FIN, "steering": STEER}),
    (1_000_000, "high", 1, {"pmo_head": HEAD, "finance": FIN, "steering": STEER}),
    (5_000_000, "high", 1, {"pmo_head": HEAD, "finance": FIN, "steering": STEER}),
    (50_000, "low", 2, {"pmo_head": (5, "steer1")}),
    (500_000, "low", 3, {"pmo_head": (5, "steer1"), "finance": FIN}),
])
def test_routing_table_at_every_boundary(amount, risk, departments, expected):
    for category in ("it", "construction", "rnd", "compliance"):
        assert route(amount, risk, departments, category) == expected


def test_routing_table_never_names_a_role_twice():
    for amount in (0, 99_999, 100_000, 1_000_000, 1_000_001):
        for risk in ("low", "medium", "high"):
            for departments in (0, 1, 2):
                got = route(amount, risk, departments)
                assert "pmo_head" in got and len(got) == len(set(got))


def test_committee_outcome():
    b = [{"decision": d} for d in ("approve", "reject", "approve")]
    assert committee_outcome(b) == "approve"
    assert committee_outcome([*b[:2], {"decision": "reject"}]) == "reject"
    assert committee_outcome([{"decision": d} for d in ("approve", "reject", "changes")]) \
        == "changes"
    assert committee_outcome([{"decision": "changes"}] * 2) == "changes"


# --------------------------------------------------------------------------- main paths


def test_small_budget_pmo_head_approves_kickoff_executing(drv, session, clock):
    inst = submit(drv, title="Intranet search")
    assert inst.status == "running" and inst.project_id is not None
    p = project(drv, inst.id)
    assert (p.stage, p.code, p.pm, p.sponsor, p.approval_instance_id) == (
        "Proposed", None, "pm1", "sponsor1", inst.id)
    assert identity.holds_role_for(session, "sponsor1", "sponsor", p.id)
    assert not identity.holds_role_for(session, "sponsor2", "sponsor", p.id)
    check = drv.task(inst.id, "check")
    assert (check.role, check.project_id, check.assignee, check.four_eyes) == (
        "pmo_reviewer", p.id, None, True)
    assert check.due_at == clock.now() + timedelta(days=2)  # Mon -> Wed
    clock.advance(hours=5)
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    head = drv.task(inst.id, "review_pmo_head")
    assert elements(drv, inst.id) == ["review_pmo_head"]
    assert (head.role, head.project_id, head.assignee, head.four_eyes) == (
        "pmo_head", p.id, None, True)
    assert head.due_at == clock.now() + timedelta(days=3)  # Mon 14:00 -> Thu 14:00
    clock.advance(days=1)
    review(drv, inst.id, "pmo_head", "pmohead", "approve", "Good case")
    p = project(drv, inst.id)
    assert p.stage == "Initiation" and CODE.match(p.code) and p.approved_at == clock.now()
    assert any(p.code in t for t in titles(drv, "pm1"))
    assert any(p.code in t for t in titles(drv, "sponsor1"))
    ko = drv.task(inst.id, "kickoff")
    assert (ko.role, ko.assignee, ko.project_id) == ("pm", "pm1", p.id)
    assert ko.due_at.date().isoformat() == "2026-04-01"  # the planned start
    done = kickoff(drv, inst.id)
    assert done.status == "completed" and done.open_tasks == []
    assert project(drv, inst.id).stage == "Executing"
    assert stages(drv, p.id) == [(None, "Proposed", "pm1"), ("Proposed", "Initiation", "pmohead"),
                                 ("Initiation", "Executing", "pm1")]
    history = records.stage_history(session, p.id)
    assert history[1].at - history[0].at == timedelta(days=1, hours=5)  # approval cycle time
    assert history[2].reason == f"Kick-off on {clock.now().date().isoformat()}"
    assert decisions(drv, inst.id) == [
        ("check", "reviewer1", "accept", None),
        ("review_pmo_head", "pmohead", "approve", "Good case"),
        ("kickoff", "pm1", None, None)]
    assert "Round 1: routed to pmo_head (3 working days)" in notes(drv, inst.id)


def test_500k_it_goes_to_pmo_head_and_finance_in_parallel(drv):
    inst = submit(drv, amount="500000.00", category="it")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    assert elements(drv, inst.id) == ["review_finance", "review_pmo_head"]
    fin = drv.task(inst.id, "review_finance")
    assert (fin.role, fin.project_id, fin.four_eyes) == ("finance", project(drv, inst.id).id, True)
    assert fin.due_at == drv.clock.now() + timedelta(days=7)  # 5 working days
    review(drv, inst.id, "pmo_head", "pmohead")
    assert elements(drv, inst.id) == ["review_finance"]
    assert project(drv, inst.id).stage == "Proposed"
    review(drv, inst.id, "finance", "finance1")
    p = project(drv, inst.id)
    assert p.stage == "Initiation" and CODE.match(p.code)
    result = data(drv, inst.id)["review_result"]
    assert result["result"] == "approved"
    assert [(r["role"], r["by"]) for r in result["reviews"]] == [
        ("pmo_head", "pmohead"), ("finance", "finance1")]


def test_foreign_currency_is_routed_on_its_reporting_amount(drv):
    inst = submit(drv, amount="15000.00", currency="USD")  # 108,000 CNY at 7.20
    p = project(drv, inst.id)
    assert p.budget_reporting == records.Money(p.budget_reporting.amount, "CNY")
    assert str(p.budget_reporting.amount) == "108000.00"
    assert "15000.00 USD = 108000.00 CNY at the planning rate 7.20" in notes(drv, inst.id)
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    assert elements(drv, inst.id) == ["review_finance", "review_pmo_head"]


@pytest.mark.parametrize(("amount", "expected"), [
    ("99999.00", ["review_pmo_head"]),
    ("100000.00", ["review_finance", "review_pmo_head"]),
    ("1000000.00", ["review_finance", "review_pmo_head"]),
    ("1000001.00", ["review_finance", "review_pmo_head"] + ["steering_vote"] * 3),
])
def test_boundaries_open_the_routed_reviews(drv, amount, expected):
    inst = submit(drv, amount=amount)
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    assert elements(drv, inst.id) == expected


def test_over_1m_committee_majority_two_of_three(drv, session):
    inst = submit(drv, amount="1000001.00")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    votes = [t for t in drv.open_tasks(inst.id) if t.element_id == "steering_vote"]
    assert [(t.role, t.assignee, t.four_eyes) for t in votes] == [("steering", None, True)] * 3
    assert votes[0].due_at == drv.clock.now() + timedelta(days=14)  # 10 working days
    review(drv, inst.id, "pmo_head", "pmohead")
    review(drv, inst.id, "finance", "finance1")
    vote(drv, inst.id, "steer1", "approve", "Strategic")
    with pytest.raises(Forbidden, match="already completed"):
        vote(drv, inst.id, "steer1", "approve")
    assert project(drv, inst.id).stage == "Proposed"
    vote(drv, inst.id, "steer2", "approve")
    assert "steering_vote" not in elements(drv, inst.id)  # the third seat is withdrawn
    p = project(drv, inst.id)
    assert p.stage == "Initiation" and CODE.match(p.code)
    committee = data(drv, inst.id)["routing"]["reviews"]["steering"]
    assert (committee["decision"], committee["voters"]) == ("approve", ["steer1", "steer2"])
    assert "Steering committee: approve (approve 2, reject 0, changes 0" in notes(drv, inst.id)
    # The stage history credits the committee, with each member's vote, not steer2.
    approved = records.stage_history(drv.session, p.id)[-1]
    assert (approved.to_stage, approved.by, approved.committee) == (
        "Initiation", "committee:steering", "steering")
    assert [(v["by"], v["decision"], v["comment"]) for v in approved.votes] == [
        ("steer1", "approve", "Strategic"), ("steer2", "approve", "")]


def test_committee_majority_not_reached_until_the_third_vote(drv):
    inst = submit(drv, amount="2000000.00")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    review(drv, inst.id, "pmo_head", "pmohead")
    review(drv, inst.id, "finance", "finance1")
    vote(drv, inst.id, "steer1", "approve")
    vote(drv, inst.id, "steer2", "reject", "ROI too low")
    assert elements(drv, inst.id) == ["steering_vote"]
    assert drv.instance(inst.id).status == "running"
    vote(drv, inst.id, "steer3", "reject", "Not this year")
    p = project(drv, inst.id)
    assert p.stage == "Rejected"
    assert stages(drv, p.id)[-1] == ("Proposed", "Rejected", "committee:steering")
    rejected = records.stage_history(drv.session, p.id)[-1]
    assert "steering committee (steer1, steer2, steer3): ROI too low; Not this year" in (
        rejected.reason)
    assert [(v["by"], v["decision"]) for v in rejected.votes] == [
        ("steer1", "approve"), ("steer2", "reject"), ("steer3", "reject")]
    assert any("rejected" in t.lower() for t in titles(drv, "pm1"))
    assert drv.instance(inst.id).status == "completed"


def test_split_committee_asks_for_changes(drv):
    inst = submit(drv, amount="2000000.00")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    review(drv, inst.id, "pmo_head", "pmohead")
    review(drv, inst.id, "finance", "finance1")
    vote(drv, inst.id, "steer1", "approve")
    vote(drv, inst.id, "steer2", "reject", "No")
    vote(drv, inst.id, "steer3", "changes", "Phase it")
    assert elements(drv, inst.id) == ["revise"]
    assert data(drv, inst.id)["review_result"]["result"] == "changes"


def test_high_risk_small_budget_needs_the_committee(drv):
    inst = submit(drv, amount="50000.00", risk_rating="high")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    assert elements(drv, inst.id) == ["review_pmo_head"] + ["steering_vote"] * 3
    review(drv, inst.id, "pmo_head", "pmohead")
    vote(drv, inst.id, "steer2", "approve")
    vote(drv, inst.id, "steer3", "approve")
    assert project(drv, inst.id).stage == "Initiation"


# --------------------------------------------------------------------------- loops and rejection


def test_rework_loop_twice_then_accepted(drv, session):
    inst = submit(drv, amount="80000.00")
    pid = project(drv, inst.id).id
    for n, (amount, sponsor) in enumerate((("120000.00", "sponsor1"), ("90000.00", "sponsor2"))):
        drv.complete(inst.id, "check", "reviewer1",
                     {"decision": "rework", "comment": f"Add the WBS ({n})"})
        revise = drv.task(inst.id, "revise")
        assert (revise.role, revise.assignee, revise.project_id) == ("pm", "pm1", pid)
        assert project(drv, inst.id).stage == "Proposed"
        drv.complete(inst.id, "revise", "pm1",
                     proposal(amount=amount, sponsor=sponsor, title="CRM replacement v2"))
        p = project(drv, inst.id)
        assert (str(p.budget.amount), p.sponsor, p.title) == (amount, sponsor,
                                                               "CRM replacement v2")
        assert drv.task(inst.id, "check").project_id == pid
    # The sponsor role moved with the revision.
    assert identity.holds_role_for(session, "sponsor2", "sponsor", pid)
    assert not identity.holds_role_for(session, "sponsor1", "sponsor", pid)
    drv.complete(inst.id, "check", "reviewer2", ACCEPT)
    assert elements(drv, inst.id) == ["review_pmo_head"]  # routed on the revised 90,000
    review(drv, inst.id, "pmo_head", "pmohead")
    assert project(drv, inst.id).stage == "Initiation"
    assert [d[:3] for d in decisions(drv, inst.id)][:4] == [
        ("check", "reviewer1", "rework"), ("revise", "pm1", None),
        ("check", "reviewer1", "rework"), ("revise", "pm1", None)]
    assert decisions(drv, inst.id)[0][3] == "Add the WBS (0)"
    assert visited_elements(drv.engine, session, inst.id)["check"] == 3
    assert "Sponsor changed from sponsor1 to sponsor2" in notes(drv, inst.id)


def test_reject_at_the_completeness_check(drv):
    inst = submit(drv)
    done = drv.complete(inst.id, "check", "reviewer1",
                        {"decision": "reject", "comment": "Duplicate of PRJ-2025-0007"})
    assert done.status == "completed" and done.open_tasks == []
    p = project(drv, inst.id)
    assert p.stage == "Rejected" and p.code is None
    last = records.stage_history(drv.session, p.id)[-1]
    assert (last.by, last.reason) == ("reviewer1", "Duplicate of PRJ-2025-0007")
    told = [n for n in drv.engine.notifications(drv.session, "pm1") if n.kind == "rejected"]
    assert told[0].body == "Rejected by reviewer1. Reason: Duplicate of PRJ-2025-0007"
    assert "end_rejected_check" in visited_elements(drv.engine, drv.session, inst.id)


def test_reject_by_one_approver_waits_for_the_others(drv):
    inst = submit(drv, amount="500000.00")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    review(drv, inst.id, "finance", "finance1", "reject", "No budget this year")
    assert project(drv, inst.id).stage == "Proposed"  # the PMO head still reviews
    review(drv, inst.id, "pmo_head", "pmohead", "approve")
    p = project(drv, inst.id)
    assert p.stage == "Rejected"
    last = records.stage_history(drv.session, p.id)[-1]
    assert (last.by, last.reason) == ("finance1", "finance1 (finance): No budget this year")
    told = [n for n in drv.engine.notifications(drv.session, "pm1") if n.kind == "rejected"]
    assert "No budget this year" in told[0].body
    assert drv.instance(inst.id).status == "completed"


def test_change_request_goes_back_to_rework_and_round_two(drv):
    inst = submit(drv, amount="500000.00")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    review(drv, inst.id, "pmo_head", "pmohead", "changes", "Split into two phases")
    review(drv, inst.id, "finance", "finance1", "approve")
    assert elements(drv, inst.id) == ["revise"]
    assert drv.task(inst.id, "revise").assignee == "pm1"
    assert "changes - pmohead (pmo_head): Split into two phases" in notes(drv, inst.id)
    drv.complete(inst.id, "revise", "pm1", proposal(amount="450000.00"))
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    assert data(drv, inst.id)["routing"]["round"] == 2
    review(drv, inst.id, "pmo_head", "pmohead")
    review(drv, inst.id, "finance", "finance1")
    assert project(drv, inst.id).stage == "Initiation"


def test_committee_can_vote_again_after_rework(drv):
    inst = submit(drv, amount="2000000.00")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    review(drv, inst.id, "pmo_head", "pmohead")
    review(drv, inst.id, "finance", "finance1")
    vote(drv, inst.id, "steer1", "changes", "Phase it")
    vote(drv, inst.id, "steer2", "changes", "Agree")
    drv.complete(inst.id, "revise", "pm1", proposal(amount="1900000.00"))
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    review(drv, inst.id, "pmo_head", "pmohead")
    review(drv, inst.id, "finance", "finance1")
    vote(drv, inst.id, "steer1", "approve")
    vote(drv, inst.id, "steer2", "approve")
    assert project(drv, inst.id).stage == "Initiation"


def test_second_committee_round_runs_with_other_members(drv):
    """The committee step can run twice (its vote list is cleared after each round)."""
    inst = submit(drv, amount="2000000.00")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    review(drv, inst.id, "pmo_head", "pmohead")
    review(drv, inst.id, "finance", "finance1")
    vote(drv, inst.id, "steer1", "changes", "Phase it")
    vote(drv, inst.id, "steer2", "changes", "Agree")
    assert "votes" not in data(drv, inst.id)
    drv.complete(inst.id, "revise", "pm1", proposal(amount="1900000.00"))
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    assert elements(drv, inst.id).count("steering_vote") == 3
    with unit_of_work(drv.session):
        identity.create_user(drv.session, "steer4", now=drv.clock.now(), roles=["steering"])
    vote(drv, inst.id, "steer3", "approve")
    vote(drv, inst.id, "steer4", "approve")
    review(drv, inst.id, "pmo_head", "pmohead")
    review(drv, inst.id, "finance", "finance1")
    assert project(drv, inst.id).stage == "Initiation"
    reviews = data(drv, inst.id)["routing"]["reviews"]
    assert reviews["steering"]["voters"] == ["steer3", "steer4"]
    assert [reviews[r]["decision"] for r in ("pmo_head", "finance", "steering")] == [
        "approve"] * 3


# --------------------------------------------------------------------------- timers


def test_review_reminder_and_escalation_do_not_stop_the_review(drv, session):
    inst = submit(drv, amount="500000.00")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    drv.engine.claim(session, drv.task(inst.id, "review_finance").id, "finance1")
    drv.advance_and_fire(days=2)  # Wed: nothing due yet
    assert not [t for t in titles(drv, "pmohead") if t.startswith("Reminder")]
    # (a minute past each due time: see test_timer_due_exactly_now_fires_once)
    report = drv.advance_and_fire(days=1, minutes=1)  # Thu = 3 working days: PMO head SLA
    assert report.fired == 1 and report.failed == 0
    assert titles(drv, "pmohead")[0] == "Reminder: PMO head review of 'CRM replacement' is due"
    report = drv.advance_and_fire(days=4)  # Mon: finance SLA (5 working days)
    assert report.fired == 1
    assert titles(drv, "finance1")[0].startswith("Reminder: Finance review")  # the claimant
    report = drv.advance_and_fire(days=1)  # Tue: PMO head 2nd period (6 working days)
    assert report.fired == 1
    assert titles(drv, "steer1")[0] == ("Escalation: PMO head review of 'CRM replacement' "
                                        "is overdue")
    report = drv.advance_and_fire(days=6)  # Mon: 10 working days, finance escalates
    assert report.fired == 1
    assert titles(drv, "pmohead")[0].startswith("Escalation: Finance review")
    assert elements(drv, inst.id) == ["review_finance", "review_pmo_head"]  # still open
    kinds = drv.kinds(inst.id)
    assert kinds.count("timer_fired") == 4
    text = notes(drv, inst.id)
    assert "reminded finance1" in text and "escalated to steer1 (steer1)" in text
    assert "escalated to pmo_head (pmohead)" in text
    review(drv, inst.id, "pmo_head", "pmohead")
    review(drv, inst.id, "finance", "finance1")
    assert project(drv, inst.id).stage == "Initiation"
    # No review timer is left; the kick-off (no reminder in the diagram) has the general one.
    pending = drv.engine.jobs(session, instance_id=inst.id, status="pending")
    assert [(j.kind, j.element_id) for j in pending] == [("sla_reminder", "kickoff")]


def test_timer_due_exactly_now_fires_once_just_after(drv):
    submit(drv)
    assert drv.advance_and_fire(days=2).fired == 0  # exactly the check's SLA: not past yet
    assert drv.advance_and_fire(seconds=1).fired == 1
    assert drv.advance_and_fire(seconds=1).fired == 0


def test_completeness_check_timers(drv, session):
    with unit_of_work(session):
        identity.set_roles(session, "pm1", ["pm", "pmo_reviewer"])
    inst = submit(drv)
    drv.advance_and_fire(days=2, minutes=1)  # Wed: SLA of 2 working days
    assert titles(drv, "reviewer1")[0].startswith("Reminder: Completeness check")
    assert titles(drv, "reviewer2")[0].startswith("Reminder: Completeness check")
    assert not any(t.startswith("Reminder") for t in titles(drv, "pm1"))  # never the submitter
    drv.advance_and_fire(days=2)
    assert titles(drv, "pmohead")[0].startswith("Escalation: Completeness check")
    assert elements(drv, inst.id) == ["check"]
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    assert elements(drv, inst.id) == ["review_pmo_head"]


def test_committee_reminder_skips_voters_and_escalates_to_the_chair(drv):
    inst = submit(drv, amount="50000.00", risk_rating="high")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    review(drv, inst.id, "pmo_head", "pmohead")
    vote(drv, inst.id, "steer2", "approve")
    drv.advance_and_fire(days=14, minutes=1)  # 10 working days
    assert titles(drv, "steer1")[0].startswith("Reminder: Committee vote")
    assert titles(drv, "steer3")[0].startswith("Reminder: Committee vote")
    assert not any(t.startswith("Reminder") for t in titles(drv, "steer2"))
    drv.advance_and_fire(days=14)
    assert titles(drv, "steer1")[0].startswith("Escalation: Committee vote")
    assert not any(t.startswith("Escalation") for t in titles(drv, "steer3"))
    vote(drv, inst.id, "steer3", "approve")
    assert project(drv, inst.id).stage == "Initiation"


# --------------------------------------------------------------------------- withdrawal


def test_withdraw_marks_the_project_withdrawn(drv, session):
    inst = submit(drv, amount="500000.00")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    done = drv.engine.cancel(session, inst.id, "pm1", "Merged into the ERP programme",
                             kind="withdrawn")
    assert done.status == "withdrawn" and done.open_tasks == []
    p = project(drv, inst.id)
    assert p.stage == "Withdrawn"
    last = records.stage_history(session, p.id)[-1]
    assert (last.by, last.reason) == ("pm1", "withdrawn: Merged into the ERP programme")
    assert drv.engine.jobs(session, instance_id=inst.id, status="pending") == []
    assert any("withdrawn" in t for t in titles(drv, "sponsor1"))


def test_withdraw_after_approval_before_kickoff(drv, session):
    inst = submit(drv)
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    review(drv, inst.id, "pmo_head", "pmohead")
    drv.engine.cancel(session, inst.id, "pm1", "Sponsor left", kind="withdrawn")
    p = project(drv, inst.id)
    assert (p.stage, CODE.match(p.code) is not None) == ("Withdrawn", True)


# --------------------------------------------------------------------------- bad input


def _count(session) -> tuple[int, int]:
    instances = session.scalar(select(func.count()).select_from(ProcessInstance))
    return instances, records.list_projects(session)[1]


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": "-5"}, "budget.amount"),
    ({"amount": "12.345"}, "budget.amount"),
    ({"currency": "XYZ"}, "budget.currency"),
    ({"planned_end": "2026-03-31"}, "planned_end"),
    ({"sponsor": "pm1"}, "sponsor"),
    ({"sponsor": "nobody"}, "sponsor"),
    ({"risk_rating": "extreme"}, "risk_rating"),
    ({"departments": []}, "departments"),
    ({"headcount": -1}, "headcount"),
    ({"expected_roi_pct": 5000}, "expected_roi_pct"),
    ({"title": ""}, "title"),
])
def test_bad_proposal_is_refused_per_field(drv, session, change, field):
    with pytest.raises(InvalidData) as err:
        submit(drv, **change)
    assert field in err.value.errors
    assert _count(session) == (0, 0)


def test_bad_decisions_are_refused_and_nothing_advances(drv, session):
    inst = submit(drv, amount="2000000.00")
    revision = drv.instance(inst.id).revision
    for form, field in (({"decision": "rework"}, "comment"),
                        ({"decision": "reject", "comment": "   "}, "comment"),
                        ({"decision": "accept"}, "charter_complete"),
                        ({**ACCEPT, "budget_broken_down": False}, "budget_broken_down"),
                        ({"decision": "maybe"}, "decision")):
        with pytest.raises(InvalidData) as err:
            drv.complete(inst.id, "check", "reviewer1", form)
        assert field in err.value.errors
    assert drv.instance(inst.id).revision == revision and elements(drv, inst.id) == ["check"]
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    for decision in ("reject", "changes"):
        with pytest.raises(InvalidData) as err:
            review(drv, inst.id, "pmo_head", "pmohead", decision)
        assert err.value.errors == {"comment": "This field is required."}
        with pytest.raises(InvalidData):
            vote(drv, inst.id, "steer1", decision)
    assert len(drv.open_tasks(inst.id)) == 5
    assert project(drv, inst.id).stage == "Proposed"


def test_bad_revision_and_kickoff_are_refused(drv):
    inst = submit(drv)
    drv.complete(inst.id, "check", "reviewer1", {"decision": "rework", "comment": "Dates"})
    with pytest.raises(InvalidData) as err:
        drv.complete(inst.id, "revise", "pm1", proposal(planned_end="2026-01-01"))
    assert set(err.value.errors) == {"planned_end"}
    assert elements(drv, inst.id) == ["revise"]
    assert str(project(drv, inst.id).planned_end) == "2026-12-31"
    drv.complete(inst.id, "revise", "pm1", proposal(planned_end="2026-11-30"))
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    review(drv, inst.id, "pmo_head", "pmohead")
    for day in ("2026-03-03", "2026-03-01"):  # tomorrow; before the approval
        with pytest.raises(InvalidData) as err:
            kickoff(drv, inst.id, day)
        assert "kickoff_date" in err.value.errors
    assert project(drv, inst.id).stage == "Initiation"


# --------------------------------------------------------------------------- four eyes


def test_four_eyes_pm_who_is_also_a_reviewer(drv, session, clock):
    with unit_of_work(session):
        identity.set_roles(session, "pm1", ["pm", "pmo_reviewer", "pmo_head"])
    inst = submit(drv)
    check = drv.task(inst.id, "check")
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.complete(session, check.id, "pm1", ACCEPT)
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.claim(session, check.id, "pm1")
    drv.engine.claim(session, check.id, "reviewer2")
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.delegate(session, check.id, "reviewer2", "pm1", "holiday")
    drv.engine.unclaim(session, check.id, "reviewer2")
    with unit_of_work(session):
        identity.add_delegation(session, "reviewer1", "pm1", clock.now(), None, "leave",
                                clock.now())
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.complete(session, check.id, "pm1", ACCEPT)
    assert elements(drv, inst.id) == ["check"]
    drv.complete(inst.id, "check", "reviewer2", ACCEPT)
    head = drv.task(inst.id, "review_pmo_head")
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.complete(session, head.id, "pm1", {"decision": "approve"})
    # Somebody else's proposal: pm1 may check it, in their own right or for reviewer1.
    other = drv.start(KEY, "pm2", proposal(title="Payroll upgrade"))
    drv.complete(other.id, "check", "pm1", ACCEPT)
    assert decisions(drv, other.id)[0][:2] == ("check", "pm1")


# --------------------------------------------------------------------------- table edits


def test_no_matching_rule_sends_the_proposal_to_the_pmo_head(engine, session, clock, drv):
    table = (BPMN / "approval_routing.dmn").read_bytes()
    # The PMO head rules no longer match; distinct values keep them exclusive, as
    # deploy requires of a COLLECT table.
    for rule in (b"In_1_multi", b"In_2_multi"):
        table = re.sub(rb'(<inputEntry id="' + rule + rb'"><text>)\w+(</text>)',
                       rb'\1"never_' + rule + rb'"\2', table)
    engine.deploy(session, bundle(table), "owner1")
    inst = submit(drv)
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    assert elements(drv, inst.id) == ["review_pmo_head"]
    routing = data(drv, inst.id)["routing"]
    assert (routing["default"], routing["sla_days"]) == (True, {"pmo_head": 3})
    assert "No routing rule matched" in notes(drv, inst.id)
    review(drv, inst.id, "pmo_head", "pmohead")
    assert project(drv, inst.id).stage == "Initiation"


def test_a_role_without_a_review_step_is_refused(engine, session, drv):
    table = (BPMN / "approval_routing.dmn").read_bytes().replace(
        b'<text>"finance"</text>', b'<text>"legal"</text>')
    engine.deploy(session, bundle(table), "owner1")
    inst = submit(drv, amount="500000.00")
    with pytest.raises(InvalidData, match="'legal'"):
        drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    assert elements(drv, inst.id) == ["check"]


# --------------------------------------------------------------------------- codes, demo


def test_codes_are_unique_and_sequential(drv):
    codes = []
    for title in ("A project", "B project", "C project"):
        inst = submit(drv, title=title)
        drv.complete(inst.id, "check", "reviewer1", ACCEPT)
        review(drv, inst.id, "pmo_head", "pmohead")
        codes.append(project(drv, inst.id).code)
    assert codes == ["PRJ-2026-0001", "PRJ-2026-0002", "PRJ-2026-0003"]


def test_seed_demo_is_idempotent(drv, engine, session, clock):
    seed_demo(engine, session, clock.now())
    seed_demo(engine, session, clock.now())
    found, total = records.list_projects(session)
    assert total == 3
    by_title = {p.title: p for p in found}
    assert sorted((p.pm, p.stage) for p in found) == [
        ("pm1", "Executing"), ("pm1", "Initiation"), ("pm2", "Executing")]
    for p in found:
        assert p.sponsor == "sponsor1" and CODE.match(p.code)
        assert identity.holds_role_for(session, "sponsor1", "sponsor", p.id)
        for member in ("team1", "team2", "team3"):
            assert identity.holds_role_for(session, member, "team", p.id)
    assert by_title["Data centre migration"].stage == "Initiation"


@pytest.mark.parametrize(("first", "second", "reminded"), [
    ("500000.00", "500000.00", "review_pmo_head"),   # PMO head + finance, both rounds
    ("50000.00", "2000000.00", "review_pmo_head"),   # one reviewer, then all three
    ("2000000.00", "500000.00", "review_finance"),   # all three, then two
])
def test_second_round_waits_for_every_review_after_a_reminder_fired(drv, first, second,
                                                                    reminded):
    """A reminder that fired in round one (its path ended) leaves that round in the task
    tree; round two's join must still wait for every routed review, not go on after the
    first one (it did: "No decision from pmo_head yet", the request stuck)."""
    inst = submit(drv, amount=first)
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    drv.advance_and_fire(days=12)  # every reminder and escalation of round one fires
    assert reminded in elements(drv, inst.id)
    for element in sorted(set(elements(drv, inst.id))):
        if element == "steering_vote":
            for who in ("steer1", "steer2"):
                vote(drv, inst.id, who, "changes", "Phase it")
        else:
            role = element.removeprefix("review_")
            review(drv, inst.id, role, {"pmo_head": "pmohead", "finance": "finance1"}[role],
                   "changes", "Split it")
    assert elements(drv, inst.id) == ["revise"]
    drv.complete(inst.id, "revise", "pm1", proposal(amount=second))
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    routed = sorted(set(elements(drv, inst.id)))
    assert len(routed) >= 2
    for n, element in enumerate(routed):
        assert sorted(set(elements(drv, inst.id))) == routed[n:]  # the others still wait
        assert project(drv, inst.id).stage == "Proposed"
        if element == "steering_vote":
            for who in ("steer1", "steer2"):
                vote(drv, inst.id, who, "approve")
        else:
            role = element.removeprefix("review_")
            review(drv, inst.id, role, {"pmo_head": "pmohead", "finance": "finance1"}[role])
    assert project(drv, inst.id).stage == "Initiation"
    reviews = data(drv, inst.id)["review_result"]["reviews"]
    assert sorted(r["role"] for r in reviews) == sorted(
        e.removeprefix("review_").replace("steering_vote", "steering") for e in routed)
