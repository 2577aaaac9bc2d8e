"""Three-level risk review (三级评审): every path of bpmn/risk_review.bpmn, SQLite and PostgreSQL.

Each engine call loads the instance from the database and saves it back (the Driver), so
every step round-trips through the serializer like the web app.  The clock starts on
Monday 2026-03-02 09:00 UTC; timers fire once their time has passed (strictly), so the
tests move the clock a minute beyond each deadline.
"""

from __future__ import annotations

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
from engine.tasks import TaskQuery
from tests.engine.driver import Driver
from tests.support import instance_data, visited_elements
from tests.workflows.factories import process_driver, proposal
from workflows import records
from workflows.risk import DEMO_RISKS, OPERATIONS, seed_demo

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
KEY = "risk_review"
EXTRA_USERS = {"sponsor2": "sponsor", "steer2": "steering", "steer3": "steering",
               "reviewer2": "pmo_reviewer", "owner1": "process_owner", "team3": "team"}
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SPONSOR, PMO, STEERING, REVISE = "sponsor_review", "pmo_review", "steering_review", "revise"


def bundle() -> list[SourceFile]:
    """The shipped diagram, both decision tables and the forms."""
    files = [SourceFile(n, (BPMN / n).read_bytes())
             for n in ("risk_review.bpmn", "risk_scoring.dmn", "risk_review_sla.dmn")]
    files += [SourceFile(f"forms/{p.name}", p.read_bytes())
              for p in sorted((BPMN / "forms").glob("risk_review-*.schema.json"))]
    return files


def running_project(session, clock, *, pm: str, sponsor: str, title: str,
                    stage: str = "Executing") -> int:
    """A project through the records: proposed, approved, moved to ``stage``."""
    view = records.propose_project(session, proposal(title=title, sponsor=sponsor), pm=pm,
                                   now=clock.now())
    if stage != "Proposed":
        records.approve_project(session, view.id, actor="pmohead", now=clock.now())
        identity.grant_project_role(session, view.id, sponsor, "sponsor")
    if stage == "Executing":
        records.set_stage(session, view.id, "Executing", actor=pm, now=clock.now())
    return view.id


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    d = process_driver(engine, session, clock, users=EXTRA_USERS, operations=OPERATIONS,
                       files=bundle())
    with unit_of_work(session):
        d.a = running_project(session, clock, pm="pm1", sponsor="sponsor1", title="ERP upgrade")
        d.b = running_project(session, clock, pm="pm2", sponsor="sponsor2", title="CRM rollout")
        d.proposed = running_project(session, clock, pm="pm1", sponsor="sponsor1",
                                     title="Not approved yet", stage="Proposed")
    return d


# --------------------------------------------------------------------------- helpers


def form(drv: Driver, **kw: Any) -> dict[str, Any]:
    """A valid start form for project A: a medium supplier risk (3 x 3 = 9)."""
    data = {"project_id": drv.a, "title": "Tower supplier serves three projects",
            "description": "The only certified supplier is booked by two other projects.",
            "category": "supplier", "probability": 3, "impact": 3, "response": "mitigate",
            "contingency": "Pre-qualify a second supplier.", "owner": "team1",
            "urgent": False}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def raise_risk(drv: Driver, who: str = "pm1", **kw: Any):
    return drv.start(KEY, who, form(drv, **kw))


def review(drv: Driver, iid: int, element: str, who: str, decision: str = "approve",
           comment: str | None = None):
    data = {"decision": decision, **({"comment": comment} if comment else {})}
    return drv.complete(iid, element, who, data)


def revise(drv: Driver, iid: int, **changes: Any):
    data = {k: v for k, v in form(drv, **changes).items()
            if k not in ("project_id", "urgent", "immediate_action")}
    return drv.complete(iid, REVISE, "pm1", data)


def open_(drv: Driver, iid: int) -> list[str]:
    return sorted(t.element_id for t in drv.open_tasks(iid))


def data(drv: Driver, iid: int) -> dict[str, Any]:
    return instance_data(drv.engine, drv.session, iid)


def risk(drv: Driver, iid: int) -> records.RiskView:
    found, total = records.list_risks(drv.session, status=None, limit=500)
    mine = [r for r in found if r.instance_id == iid]
    assert len(mine) == 1, total
    return mine[0]


def reviews(drv: Driver, iid: int) -> list[tuple]:
    return [(r.level, r.reviewer, r.outcome, r.comment) for r in risk(drv, iid).reviews]


def titles(drv: Driver, username: str) -> list[str]:
    return [n.title for n in drv.engine.notifications(drv.session, username, limit=100)]


def notes(drv: Driver, iid: int) -> str:
    return "\n".join(n for e in drv.engine.history(drv.session, iid)
                     if e.kind == "service_called" for n in e.detail.get("notes", []))


def completed(drv: Driver, iid: int) -> list[tuple]:
    return [(e.element_id, e.actor, e.outcome, e.reason)
            for e in drv.engine.history(drv.session, iid) if e.kind == "task_completed"]


# --------------------------------------------------------------------------- the tables

TABLES_ONLY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="t">
  <bpmn:process id="tables_only" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="a"><bpmn:extensionElements><spiffworkflow:calledDecisionId>risk_scoring</spiffworkflow:calledDecisionId></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:businessRuleTask id="b"><bpmn:extensionElements><spiffworkflow:calledDecisionId>risk_review_sla</spiffworkflow:calledDecisionId></bpmn:extensionElements><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/><bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def tables(probability: int, impact: int, urgent: bool = False) -> dict[str, Any]:
    """Both decision tables run in the sandbox as the process runs them."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(TABLES_ONLY.encode(), filename="tables_only.bpmn")
    for name in ("risk_scoring.dmn", "risk_review_sla.dmn"):
        parser.add_dmn_str((BPMN / name).read_bytes(), filename=name)
    engine = SandboxedScriptEngine(helpers=make_helpers(lambda: MONDAY))
    wf = BpmnWorkflow(parser.get_spec("tables_only"), script_engine=engine)
    wf.task_tree.data.update(probability=probability, impact=impact, urgent=urgent)
    wf.do_engine_steps()
    return {k: wf.data[k] for k in ("score", "risk_level", "levels_required", "review_sla",
                                    "decision_hours")}


def expected_level(score: int) -> tuple[str, int]:
    return ("low", 1) if score <= 6 else ("medium", 2) if score <= 14 else ("high", 3)


@pytest.mark.parametrize(("p", "i", "level", "levels"), [
    (1, 1, "low", 1), (2, 3, "low", 1), (3, 2, "low", 1),
    # 7 and 14 are no product of two numbers from 1 to 5; the cells are checked all the same
    # (the table does not know where the score comes from; the form limits P and I).
    (7, 1, "medium", 2), (2, 4, "medium", 2), (14, 1, "medium", 2), (3, 4, "medium", 2),
    (15, 1, "high", 3), (3, 5, "high", 3), (5, 5, "high", 3),
])
def test_scoring_table_boundaries(p, i, level, levels):
    got = tables(p, i)
    assert (got["score"], got["risk_level"], got["levels_required"]) == (p * i, level, levels)


def test_scoring_table_every_pair():
    """All 25 (P, I) pairs: score P x I; 1-6 low, 7-14 medium, 15-25 high."""
    for p in range(1, 6):
        for i in range(1, 6):
            got = tables(p, i)
            assert got["score"] == p * i
            assert (got["risk_level"], got["levels_required"]) == expected_level(p * i)


@pytest.mark.parametrize(("urgent", "p", "i", "sla", "hours"), [
    (False, 1, 1, {"sponsor": "P5D", "pmo": "P5D", "steering": "P5D"}, 0),
    (False, 3, 3, {"sponsor": "P3D", "pmo": "P3D", "steering": "P5D"}, 0),
    (False, 5, 5, {"sponsor": "P2D", "pmo": "P2D", "steering": "P3D"}, 0),
    (True, 1, 1, {"sponsor": "clock:PT8H", "pmo": "clock:PT8H", "steering": "clock:PT12H"}, 48),
    (True, 3, 3, {"sponsor": "clock:PT8H", "pmo": "clock:PT8H", "steering": "clock:PT12H"}, 48),
    (True, 5, 5, {"sponsor": "clock:PT8H", "pmo": "clock:PT8H", "steering": "clock:PT12H"}, 48),
])
def test_sla_table(urgent, p, i, sla, hours):
    got = tables(p, i, urgent)
    assert (got["review_sla"], got["decision_hours"]) == (sla, hours)


# --------------------------------------------------------------------------- main paths


def test_low_risk_sponsor_approves(drv, session, clock):
    inst = raise_risk(drv, probability=2, impact=3, category="schedule")
    assert inst.project_id == drv.a and inst.status == "running"
    task = drv.task(inst.id, SPONSOR)
    assert (task.role, task.project_id, task.assignee, task.four_eyes) == (
        "sponsor", drv.a, None, True)
    assert task.due_at == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # P5D: five working days
    r = risk(drv, inst.id)
    assert (r.score, r.level, r.levels_required, r.status, r.raised_by) == (
        6, "low", 1, "under_review", "pm1")
    d = data(drv, inst.id)
    assert d["review"]["level"] == 1 and d["review"]["clock"] is False
    assert d["project"]["label"].endswith("ERP upgrade")
    assert "Risk for your sponsor review (level 1): Tower supplier serves three projects" \
        in titles(drv, "sponsor1")
    clock.advance(hours=2)
    done = review(drv, inst.id, SPONSOR, "sponsor1", comment="Fine, go ahead.")
    assert done.status == "completed" and done.open_tasks == []
    r = risk(drv, inst.id)
    assert (r.status, r.decided_by, r.decision_level, r.level) == (
        "accepted", "sponsor1", 1, "low")
    assert r.decision == "Response plan approved: Fine, go ahead."
    assert r.response_plan == "mitigate: Pre-qualify a second supplier."
    assert r.decided_at == MONDAY + timedelta(hours=2)
    assert reviews(drv, inst.id) == [(1, "sponsor1", "approve", "Fine, go ahead.")]
    for who in ("pm1", "team1"):
        assert "Risk decided: Tower supplier serves three projects" in titles(drv, who)
    assert completed(drv, inst.id) == [(SPONSOR, "sponsor1", "approve", "Fine, go ahead.")]
    assert "accepted at level 1 by sponsor1" in notes(drv, inst.id)
    assert data(drv, inst.id)["risk"]["status"] == "accepted"


def test_medium_risk_needs_sponsor_then_pmo(drv, session):
    inst = raise_risk(drv, probability=2, impact=4)
    assert risk(drv, inst.id).levels_required == 2
    review(drv, inst.id, SPONSOR, "sponsor1")
    task = drv.task(inst.id, PMO)
    assert (task.role, task.project_id, task.assignee) == ("pmo_head", drv.a, None)
    assert task.due_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)  # P3D
    assert risk(drv, inst.id).status == "under_review"
    done = review(drv, inst.id, PMO, "pmohead")
    assert done.status == "completed"
    r = risk(drv, inst.id)
    assert (r.status, r.decided_by, r.decision_level, r.level) == (
        "accepted", "pmohead", 2, "medium")
    assert reviews(drv, inst.id) == [(1, "sponsor1", "approve", ""),
                                     (2, "pmohead", "approve", "")]


def test_high_risk_needs_all_three_levels(drv, session):
    inst = raise_risk(drv, probability=3, impact=5, category="technical")
    review(drv, inst.id, SPONSOR, "sponsor1")
    review(drv, inst.id, PMO, "pmohead")
    task = drv.task(inst.id, STEERING)
    assert (task.role, task.project_id, task.form) == (
        "steering", drv.a, "risk_review-steering.schema.json")
    d = data(drv, inst.id)
    assert d["levels_needed"] == 3 and "Level 2, pmohead" in d["review_trail"]
    done = review(drv, inst.id, STEERING, "steer2", comment="Approved in session 12.")
    assert done.status == "completed"
    r = risk(drv, inst.id)
    assert (r.status, r.decided_by, r.decision_level, r.level, r.score) == (
        "accepted", "steer2", 3, "high", 15)
    assert [x[:3] for x in reviews(drv, inst.id)] == [
        (1, "sponsor1", "approve"), (2, "pmohead", "approve"), (3, "steer2", "approve")]


# --------------------------------------------------------------------------- send back, escalate


def test_send_back_at_every_level_twice_at_level_one(drv, session):
    inst = raise_risk(drv, probability=3, impact=5)
    for n in (1, 2):
        review(drv, inst.id, SPONSOR, "sponsor1", "send_back", f"Name the second supplier {n}")
        task = drv.task(inst.id, REVISE)
        assert (task.role, task.assignee, task.project_id) == ("pm", "pm1", drv.a)
        assert risk(drv, inst.id).status == "sent_back"
        d = data(drv, inst.id)
        assert (d["feedback"], d["feedback_by"]) == (f"Name the second supplier {n}", "sponsor1")
        revise(drv, inst.id, probability=3, impact=5, contingency=f"Supplier B, plan v{n + 1}")
        assert open_(drv, inst.id) == [SPONSOR]  # back to the level that sent it back
        assert risk(drv, inst.id).contingency == f"Supplier B, plan v{n + 1}"
    review(drv, inst.id, SPONSOR, "sponsor1")
    review(drv, inst.id, PMO, "pmohead", "send_back", "Add the cost of supplier B")
    revise(drv, inst.id, probability=3, impact=5, contingency="Supplier B at +4% cost")
    assert open_(drv, inst.id) == [PMO]  # level 2 again, not level 1
    review(drv, inst.id, PMO, "pmohead")
    review(drv, inst.id, STEERING, "steer1", "send_back", "Which budget line pays?")
    revise(drv, inst.id, probability=3, impact=5, contingency="Supplier B, from contingency")
    assert open_(drv, inst.id) == [STEERING]
    done = review(drv, inst.id, STEERING, "steer1")
    assert done.status == "completed"
    assert [x[:3] for x in reviews(drv, inst.id)] == [
        (1, "sponsor1", "send_back"), (1, "sponsor1", "send_back"), (1, "sponsor1", "approve"),
        (2, "pmohead", "send_back"), (2, "pmohead", "approve"),
        (3, "steer1", "send_back"), (3, "steer1", "approve")]
    r = risk(drv, inst.id)
    assert (r.status, r.decision_level, r.response_plan) == (
        "accepted", 3, "mitigate: Supplier B, from contingency")
    visits = visited_elements(drv.engine, session, inst.id)
    assert (visits[REVISE], visits["score"], visits[SPONSOR]) == (4, 5, 3)
    outcomes = [c[:3] for c in completed(drv, inst.id) if c[0] != REVISE]
    assert outcomes[0] == (SPONSOR, "sponsor1", "send_back")
    # the outcome as the form labels it, not its key (issue 13)
    assert ("Sponsor review (level 1): Send back to the PM for changes by sponsor1"
            in titles(drv, "pm1"))


def test_revision_is_scored_again(drv, session):
    inst = raise_risk(drv, probability=3, impact=5)
    assert risk(drv, inst.id).levels_required == 3
    review(drv, inst.id, SPONSOR, "sponsor1", "send_back", "Probability is overstated")
    revise(drv, inst.id, probability=1, impact=5)
    r = risk(drv, inst.id)
    assert (r.score, r.level, r.levels_required, r.status) == (5, "low", 1, "under_review")
    assert data(drv, inst.id)["risk_level"] == "low"
    done = review(drv, inst.id, SPONSOR, "sponsor1")
    assert done.status == "completed" and risk(drv, inst.id).decision_level == 1


def test_escalate_beyond_the_score(drv, session):
    inst = raise_risk(drv, probability=1, impact=2, category="cultural")
    assert risk(drv, inst.id).levels_required == 1
    review(drv, inst.id, SPONSOR, "sponsor1", "escalate", "Affects three sites: PMO call")
    assert open_(drv, inst.id) == [PMO] and risk(drv, inst.id).levels_required == 2
    review(drv, inst.id, PMO, "pmohead", "escalate", "Needs the steering committee")
    assert open_(drv, inst.id) == [STEERING]
    done = review(drv, inst.id, STEERING, "steer3")
    assert done.status == "completed"
    r = risk(drv, inst.id)
    assert (r.level, r.score, r.levels_required, r.decision_level, r.decided_by) == (
        "low", 2, 3, 3, "steer3")
    assert reviews(drv, inst.id)[:2] == [
        (1, "sponsor1", "escalate", "Affects three sites: PMO call"),
        (2, "pmohead", "escalate", "Needs the steering committee")]


def test_escalation_stays_after_a_revision(drv, session):
    inst = raise_risk(drv, probability=1, impact=2)
    review(drv, inst.id, SPONSOR, "sponsor1", "escalate", "PMO should see this")
    review(drv, inst.id, PMO, "pmohead", "send_back", "Add a fallback")
    revise(drv, inst.id, probability=1, impact=2, contingency="Fallback: local crew")
    assert open_(drv, inst.id) == [PMO] and risk(drv, inst.id).levels_required == 2
    done = review(drv, inst.id, PMO, "pmohead")
    assert done.status == "completed" and risk(drv, inst.id).decision_level == 2


def test_comment_required_on_send_back_and_escalate(drv, session):
    inst = raise_risk(drv)
    task = drv.task(inst.id, SPONSOR)
    for decision in ("send_back", "escalate"):
        with pytest.raises(InvalidData) as err:
            review(drv, inst.id, SPONSOR, "sponsor1", decision)
        assert err.value.errors == {"comment": "This field is required."}
        with pytest.raises(InvalidData) as err:
            drv.complete(inst.id, SPONSOR, "sponsor1", {"decision": decision, "comment": ""})
        assert err.value.errors == {"comment": "This field is required."}
    with pytest.raises(InvalidData) as err:
        review(drv, inst.id, SPONSOR, "sponsor1", "maybe")
    assert "decision" in err.value.errors
    assert drv.task(inst.id, SPONSOR).id == task.id and drv.instance(inst.id).revision == 1
    assert reviews(drv, inst.id) == []
    review(drv, inst.id, SPONSOR, "sponsor1")
    review(drv, inst.id, PMO, "pmohead", "escalate", "Steering please")
    with pytest.raises(InvalidData) as err:  # the top level cannot escalate
        review(drv, inst.id, STEERING, "steer1", "escalate", "Nowhere to go")
    assert "decision" in err.value.errors
    with pytest.raises(InvalidData) as err:  # whitespace is no comment (glue check)
        review(drv, inst.id, STEERING, "steer1", "send_back", "   ")
    assert err.value.errors == {"comment": "This field is required."}


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("change", "field"), [
    ({"probability": 7}, "probability"),
    ({"impact": 0}, "impact"),
    ({"category": "weather"}, "category"),
    ({"response": "ignore"}, "response"),
    ({"title": ""}, "title"),
    ({"contingency": None}, "contingency"),
    ({"owner": "nobody"}, "owner"),
    ({"project_id": 99999}, "project_id"),
    ({"urgent": True}, "immediate_action"),
])
def test_bad_input_comes_back_per_field(drv, session, change, field):
    with pytest.raises(InvalidData) as err:
        raise_risk(drv, **change)
    assert list(err.value.errors) == [field], err.value.errors
    assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    assert records.list_risks(session)[1] == 0


def test_only_the_projects_pm_raises_risks_on_running_projects(drv, session):
    with pytest.raises(InvalidData) as err:
        raise_risk(drv, "pm2")  # project A is pm1's
    assert "You are not the PM" in err.value.errors["project_id"]
    with pytest.raises(InvalidData) as err:
        raise_risk(drv, project_id=drv.proposed)
    assert "Proposed" in err.value.errors["project_id"]
    with pytest.raises(Forbidden, match="needs the role 'pm'"):
        raise_risk(drv, "pmohead")
    assert records.list_risks(session)[1] == 0
    assert raise_risk(drv, "pm2", project_id=drv.b).project_id == drv.b


# --------------------------------------------------------------------------- who may review


def test_four_eyes_the_pm_never_reviews_their_own_risk(drv, session, clock):
    with unit_of_work(session):
        identity.grant_project_role(session, drv.a, "pm1", "sponsor")
        identity.set_roles(session, "pm1", ["pm", "pmo_head", "steering"])
    inst = raise_risk(drv, probability=3, impact=5)
    for element, ok in ((SPONSOR, "sponsor1"), (PMO, "pmohead"), (STEERING, "steer1")):
        task = drv.task(inst.id, element)
        with pytest.raises(Forbidden, match="four-eyes"):
            drv.engine.complete(session, task.id, "pm1", {"decision": "approve"})
        with pytest.raises(Forbidden, match="four-eyes"):
            drv.engine.claim(session, task.id, "pm1")
        review(drv, inst.id, element, ok)
    assert risk(drv, inst.id).status == "accepted"


def test_four_eyes_through_delegation(drv, session, clock):
    with unit_of_work(session):
        identity.add_delegation(session, "sponsor1", "pm1", clock.now(), None, "leave",
                                clock.now())
        identity.add_delegation(session, "pmohead", "pm1", clock.now(), None, "leave",
                                clock.now())
    inst = raise_risk(drv, probability=2, impact=4)
    with pytest.raises(Forbidden, match="four-eyes"):
        review(drv, inst.id, SPONSOR, "pm1")
    review(drv, inst.id, SPONSOR, "sponsor1")
    with pytest.raises(Forbidden, match="four-eyes"):
        review(drv, inst.id, PMO, "pm1")
    # The PMO head's delegate reviews for them on somebody else's risk: recorded on behalf.
    with unit_of_work(session):
        identity.add_delegation(session, "pmohead", "reviewer1", clock.now(), None,
                                "PMO reviewer deputises", clock.now())
    done = review(drv, inst.id, PMO, "reviewer1")
    assert done.status == "completed"
    assert risk(drv, inst.id).decided_by == "reviewer1"
    row = drv.engine.history(session, inst.id)
    assert any(e.element_id == PMO and e.detail.get("on_behalf_of") == "pmohead" for e in row)


def test_sponsor_of_another_project_cannot_review(drv, session):
    inst = raise_risk(drv)
    task = drv.task(inst.id, SPONSOR)
    with pytest.raises(Forbidden, match=f"needs the role 'sponsor' for project {drv.a}"):
        review(drv, inst.id, SPONSOR, "sponsor2")
    assert drv.engine.tasks(session, "sponsor2", TaskQuery(scope="claimable"))[1] == 0
    mine, total = drv.engine.tasks(session, "sponsor1", TaskQuery(scope="claimable"))
    assert total == 1 and mine[0].id == task.id
    other = raise_risk(drv, "pm2", project_id=drv.b)
    assert drv.task(other.id, SPONSOR).project_id == drv.b
    with pytest.raises(Forbidden, match="needs the role 'sponsor'"):
        review(drv, other.id, SPONSOR, "sponsor1")
    review(drv, other.id, SPONSOR, "sponsor2", "send_back", "More detail")
    assert drv.task(other.id, REVISE).assignee == "pm2"


def test_named_sponsor_gets_the_project_role_if_missing(drv, session, clock):
    with unit_of_work(session):
        pid = records.propose_project(session, proposal(title="Plant retrofit",
                                                        sponsor="sponsor2"),
                                      pm="pm1", now=clock.now()).id
        records.approve_project(session, pid, actor="pmohead", now=clock.now())
    assert not identity.holds_role_for(session, "sponsor2", "sponsor", pid)
    inst = raise_risk(drv, project_id=pid)
    assert identity.holds_role_for(session, "sponsor2", "sponsor", pid)
    assert "sponsor2 made sponsor of" in notes(drv, inst.id)
    review(drv, inst.id, SPONSOR, "sponsor2")


# --------------------------------------------------------------------------- urgent risks

GEOLOGY = {"title": "Karst cave under tower 7", "category": "technical", "probability": 3,
           "impact": 4, "urgent": True, "description": "Found while drilling the piles.",
           "immediate_action": "Stopped drilling; moved the rig to tower 8."}


def test_urgent_no_decision_in_48_hours_goes_to_steering(drv, session, clock):
    inst = raise_risk(drv, **GEOLOGY)
    r = risk(drv, inst.id)
    assert r.urgent and r.description.endswith(
        "[Immediate action] Stopped drilling; moved the rig to tower 8.")
    assert r.levels_required == 2
    assert drv.task(inst.id, SPONSOR).due_at == MONDAY + timedelta(hours=8)
    jobs = {j.element_id: j.due_at for j in drv.engine.jobs(session, instance_id=inst.id,
                                                           status="pending")}
    assert jobs == {"window": MONDAY + timedelta(hours=48),
                    "sponsor_review_sla": MONDAY + timedelta(hours=8)}
    drv.advance_and_fire(hours=8, minutes=1)  # the SLA: the sponsor is reminded
    assert titles(drv, "sponsor1")[0].startswith("Reminder: level-1 sponsor review of risk")
    drv.advance_and_fire(hours=8)  # a second period: the PMO head is told
    assert titles(drv, "pmohead")[0].startswith("Overdue: level-1 sponsor review of risk")
    assert open_(drv, inst.id) == [SPONSOR]  # the work goes on
    report = drv.advance_and_fire(hours=32)  # 48 hours and a minute after raising
    assert report.failed == 0
    assert open_(drv, inst.id) == [STEERING]
    task = drv.task(inst.id, STEERING)
    assert (task.role, task.project_id, task.due_at) == (
        "steering", drv.a, clock.now() + timedelta(hours=12))
    r = risk(drv, inst.id)
    assert (r.levels_required, r.status, r.reviews) == (3, "under_review", ())
    for who in ("pm1", "team1", "pmohead"):
        assert "No decision in time on an urgent risk: Karst cave under tower 7" in titles(
            drv, who)
    assert "Risk for your steering committee decision (level 3)" in titles(drv, "steer1")[0]
    assert "goes to the steering committee" in notes(drv, inst.id)
    kinds = drv.kinds(inst.id)
    assert kinds.count("timer_fired") == 3
    drv.advance_and_fire(hours=12, minutes=1)  # the committee's SLA: all members reminded
    for who in ("steer1", "steer2", "steer3"):
        assert titles(drv, who)[0].startswith("Reminder: level-3 steering committee decision")
    drv.advance_and_fire(hours=12)  # no level above the committee: the PMO head is told
    assert titles(drv, "pmohead")[0].startswith("Overdue: level-3 steering committee")
    done = review(drv, inst.id, STEERING, "steer1", comment="Switch to bored piles.")
    assert done.status == "completed"
    r = risk(drv, inst.id)
    assert (r.status, r.decision_level, r.decided_by) == ("accepted", 3, "steer1")
    assert r.decision.startswith("Response plan approved: Switch to bored piles. (Steering")
    assert not drv.engine.jobs(session, instance_id=inst.id, status="pending")


def test_urgent_decided_in_time_is_not_escalated(drv, session, clock):
    inst = raise_risk(drv, **{**GEOLOGY, "probability": 1, "impact": 5})
    clock.advance(hours=3)
    done = review(drv, inst.id, SPONSOR, "sponsor1", comment="Agreed, keep me posted.")
    assert done.status == "completed"
    r = risk(drv, inst.id)
    assert (r.status, r.decision_level, r.levels_required) == ("accepted", 1, 1)
    assert "Steering" not in r.decision
    assert not drv.engine.jobs(session, instance_id=inst.id, status="pending")
    assert {j.status for j in drv.engine.jobs(session, instance_id=inst.id)} == {"cancelled"}
    drv.advance_and_fire(hours=48)
    assert drv.instance(inst.id).status == "completed"
    assert "timer_fired" not in drv.kinds(inst.id)


def test_urgent_window_covers_every_level(drv, session, clock):
    """Decided at level 1 in time, but level 2 still open at 48 hours: steering decides."""
    inst = raise_risk(drv, **GEOLOGY)
    clock.advance(hours=1)
    review(drv, inst.id, SPONSOR, "sponsor1")
    assert open_(drv, inst.id) == [PMO]
    assert drv.task(inst.id, PMO).due_at == clock.now() + timedelta(hours=8)
    drv.advance_and_fire(hours=47, minutes=1)
    assert open_(drv, inst.id) == [STEERING]
    done = review(drv, inst.id, STEERING, "steer2")
    assert done.status == "completed"
    assert [x[:3] for x in reviews(drv, inst.id)] == [(1, "sponsor1", "approve"),
                                                      (3, "steer2", "approve")]


def test_urgent_window_passing_at_the_top_level_keeps_it_there(drv, session, clock):
    inst = raise_risk(drv, **{**GEOLOGY, "probability": 5, "impact": 4})
    review(drv, inst.id, SPONSOR, "sponsor1")
    review(drv, inst.id, PMO, "pmohead")
    first = drv.task(inst.id, STEERING)
    drv.advance_and_fire(hours=48, minutes=1)
    again = drv.task(inst.id, STEERING)
    assert again.id != first.id and again.due_at == clock.now() + timedelta(hours=12)
    assert risk(drv, inst.id).levels_required == 3
    assert review(drv, inst.id, STEERING, "steer1").status == "completed"
    assert risk(drv, inst.id).decision_level == 3


def test_urgent_resubmitted_after_the_window_goes_straight_to_steering(drv, session, clock):
    inst = raise_risk(drv, **GEOLOGY)
    clock.advance(hours=1)
    review(drv, inst.id, SPONSOR, "sponsor1", "send_back", "Which rig, which crew?")
    drv.advance_and_fire(hours=8, minutes=1)  # the PM is reminded of the revision
    assert titles(drv, "pm1")[0].startswith("Reminder: revision of risk")
    drv.advance_and_fire(hours=8)  # then the reviewer and the PMO head are told
    assert titles(drv, "sponsor1")[0].startswith("Overdue: revision of risk")
    assert titles(drv, "pmohead")[0].startswith("Overdue: revision of risk")
    clock.advance(hours=40)
    revise(drv, inst.id, **{k: v for k, v in GEOLOGY.items() if k != "immediate_action"},
           contingency="Rig 2 with crew B.")
    assert open_(drv, inst.id) == [STEERING]
    assert risk(drv, inst.id).levels_required == 3
    review(drv, inst.id, STEERING, "steer1", "send_back", "Cost?")
    revise(drv, inst.id, **{k: v for k, v in GEOLOGY.items() if k != "immediate_action"},
           contingency="Rig 2 with crew B, 40k from contingency.")
    assert open_(drv, inst.id) == [STEERING]  # the level that sent it back, no new window
    done = review(drv, inst.id, STEERING, "steer1")
    assert done.status == "completed" and risk(drv, inst.id).decision_level == 3


# --------------------------------------------------------------------------- SLAs, withdrawal


def test_sla_reminder_then_next_level_told_without_stopping_work(drv, session, clock):
    inst = raise_risk(drv, probability=3, impact=4)  # medium: P3D per level
    task = drv.task(inst.id, SPONSOR)
    assert task.due_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    jobs = drv.engine.jobs(session, instance_id=inst.id, status="pending")
    assert [(j.element_id, j.due_at) for j in jobs] == [("sponsor_review_sla", task.due_at)]
    clock.set("2026-03-05T09:01:00+00:00")
    drv.engine.fire_due_jobs(session)
    assert titles(drv, "sponsor1")[0] == (
        "Reminder: level-1 sponsor review of risk 'Tower supplier serves three projects' "
        "is due")
    assert not any(t.startswith("Overdue") for t in titles(drv, "pmohead"))
    jobs = drv.engine.jobs(session, instance_id=inst.id, status="pending")
    assert [j.due_at for j in jobs] == [datetime(2026, 3, 10, 9, 0, tzinfo=UTC)]  # +3 wd
    clock.set("2026-03-10T09:01:00+00:00")
    drv.engine.fire_due_jobs(session)
    assert titles(drv, "pmohead")[0].startswith("Overdue: level-1 sponsor review")
    assert drv.task(inst.id, SPONSOR).id == task.id  # still open, same task
    assert not drv.engine.jobs(session, instance_id=inst.id, status="pending")
    review(drv, inst.id, SPONSOR, "sponsor1")
    pmo = drv.task(inst.id, PMO)
    assert pmo.due_at == datetime(2026, 3, 13, 9, 1, tzinfo=UTC)
    clock.set("2026-03-13T09:02:00+00:00")
    drv.engine.fire_due_jobs(session)
    assert titles(drv, "pmohead")[0].startswith("Reminder: level-2 PMO review")
    clock.set("2026-03-18T09:02:00+00:00")
    drv.engine.fire_due_jobs(session)
    assert titles(drv, "steer1")[0].startswith("Overdue: level-2 PMO review")
    assert review(drv, inst.id, PMO, "pmohead").status == "completed"


def test_withdrawn_risk_is_closed_in_the_register(drv, session):
    inst = raise_risk(drv)
    review(drv, inst.id, SPONSOR, "sponsor1", "send_back", "Is this a risk at all?")
    done = drv.engine.cancel(session, inst.id, "pm1", "Raised by mistake", kind="withdrawn")
    assert done.status == "withdrawn"
    r = risk(drv, inst.id)
    assert (r.status, r.close_reason) == ("closed", "Withdrawn by pm1: Raised by mistake")
    assert records.risk_matrix(session) == {}


# --------------------------------------------------------------------------- the register


def test_pmo_sees_all_risks_by_category_and_level(drv, session):
    a = raise_risk(drv, probability=1, impact=2, category="schedule")
    b = raise_risk(drv, probability=3, impact=5, category="technical")
    c = raise_risk(drv, "pm2", project_id=drv.b, probability=2, impact=4, category="supplier")
    d = raise_risk(drv, "pm2", project_id=drv.b, probability=5, impact=4, category="technical")
    review(drv, a.id, SPONSOR, "sponsor1")
    review(drv, c.id, SPONSOR, "sponsor2")
    assert records.risk_matrix(session) == {("schedule", "low"): 1, ("technical", "high"): 2,
                                            ("supplier", "medium"): 1}
    high, total = records.list_risks(session, level="high")
    assert total == 2 and [r.instance_id for r in high] == [d.id, b.id]  # highest score first
    assert {r.project_id for r in high} == {drv.a, drv.b}
    found, _ = records.list_risks(session, category="technical", level="high",
                                  status="under_review")
    assert len(found) == 2
    accepted, _ = records.list_risks(session, status="accepted")
    assert [r.instance_id for r in accepted] == [a.id]
    assert records.list_risks(session, status="under_review")[1] == 3


def test_seed_demo_on_the_demo_projects(drv, engine, session, clock):
    seed_demo(engine, session, clock.now())  # no demo projects: nothing, no error
    assert records.list_risks(session)[1] == 0
    from workflows.approval import seed_demo as seed_projects

    seed_projects(engine, session, clock.now())
    seed_demo(engine, session, clock.now())
    seed_demo(engine, session, clock.now())
    found, total = records.list_risks(session, limit=100)
    assert total == len(DEMO_RISKS) == 3
    for project_title, title, _cat, p, i, *_rest, scored in DEMO_RISKS:
        got = tables(p, i)
        assert (got["score"], got["risk_level"], got["levels_required"]) == scored
        r = next(x for x in found if x.title == title)
        assert (r.status, r.decision_level, r.score) == ("accepted", scored[2], scored[0])
        assert len(r.reviews) == scored[2]
        assert records.get_project(session, r.project_id).title == project_title
    assert records.risk_matrix(session) == {("currency", "low"): 1, ("supplier", "medium"): 1,
                                            ("technical", "high"): 1}
