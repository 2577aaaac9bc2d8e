"""Project closure (结项与经验总结): every path of bpmn/project_closure.bpmn, on SQLite and
PostgreSQL.

Each engine call loads the instance from the database and saves it back (the Driver), so
every step round-trips through the serializer like the web app.  The clock starts on
Monday 2026-03-02 09:00 UTC; the test projects ran from 2025-06-01 to 2026-02-27.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine import identity
from engine.errors import Forbidden, InvalidData
from engine.spiff.bundle import SourceFile
from engine.spiff.sandbox import SandboxedScriptEngine
from engine.spiff.script_helpers import make_helpers
from engine.store.uow import unit_of_work
from engine.tasks import TaskQuery
from tests.engine.driver import Driver
from tests.support import instance_data
from tests.workflows.factories import process_driver, proposal
from workflows import records
from workflows.closure import OPERATIONS, variance_pct

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
KEY = "project_closure"
EXTRA_USERS = {"team3": "team", "owner1": "process_owner", "reviewer2": "pmo_reviewer",
               "sponsor2": "sponsor", "finance2": "finance"}
STORY = ("第三方接口联调 took three weeks: the vendor's sandbox differed from production. "
         "Book a joint debugging window before the contract is signed.")


def bundle(variance_dmn: bytes | None = None) -> list[SourceFile]:
    """The shipped diagram, its two tables and its forms (optionally another variance table)."""
    files = [SourceFile("project_closure.bpmn", (BPMN / "project_closure.bpmn").read_bytes()),
             SourceFile("closure_cost_variance.dmn",
                        variance_dmn or (BPMN / "closure_cost_variance.dmn").read_bytes()),
             SourceFile("closure_lesson_window.dmn",
                        (BPMN / "closure_lesson_window.dmn").read_bytes())]
    files += [SourceFile(f"forms/{p.name}", p.read_bytes())
              for p in sorted((BPMN / "forms").glob("project_closure-*.schema.json"))]
    return files


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    return process_driver(engine, session, clock, users=EXTRA_USERS, operations=OPERATIONS,
                          files=bundle())


def make_project(drv: Driver, *, pm: str = "pm1", stage: str = "Executing",
                 **overrides: Any) -> records.ProjectView:
    """An approved project (PRJ-2026-NNNN) with its sponsor and team granted."""
    s, now = drv.session, drv.clock.now()
    data = proposal(planned_start="2025-06-01", planned_end="2026-02-27", **overrides)
    with unit_of_work(s):
        view = records.propose_project(s, data, pm=pm, now=now)
        view = records.approve_project(s, view.id, actor="pmohead", now=now)
        if stage == "Executing":
            view = records.set_stage(s, view.id, "Executing", actor=pm, now=now,
                                     reason="Kick-off")
        identity.grant_project_role(s, view.id, view.sponsor, "sponsor")
        for member in ("team1", "team2", "team3"):
            identity.grant_project_role(s, view.id, member, "team")
    return view


@pytest.fixture
def project(drv: Driver) -> records.ProjectView:
    return make_project(drv)


# --------------------------------------------------------------------------- helpers


def form(project_id: int, **kw: Any) -> dict[str, Any]:
    """A valid start form: everything accepted, 240,000 CNY spent, nobody asked."""
    data = {"project_id": project_id, "deliverables_accepted": True,
            "actual_cost": {"amount": "240000.00", "currency": "CNY"},
            "actual_end": "2026-02-27", "customer_satisfaction": 4, "open_items_count": 0,
            "lesson_team": []}
    data.update(kw)
    return data


def close(drv: Driver, project_id: int, who: str = "pm1", **kw: Any):
    return drv.start(KEY, who, form(project_id, **kw), title="Closure")


def open_elements(drv: Driver, iid: int) -> list[str]:
    return sorted(t.element_id for t in drv.open_tasks(iid))


def all_tasks(drv: Driver, iid: int) -> list[tuple]:
    views, _ = drv.engine.tasks(drv.session, None, TaskQuery(
        scope="all", status="any", instance_id=iid, sort="created", limit=500))
    return [(t.element_id, t.assignee, t.status) for t in views]


def data(drv: Driver, iid: int) -> dict[str, Any]:
    return instance_data(drv.engine, drv.session, iid)


def notes(drv: Driver, iid: int) -> str:
    return "\n".join(n for e in drv.engine.history(drv.session, iid)
                     if e.kind == "service_called" for n in e.detail.get("notes", []))


def titles(drv: Driver, username: str) -> list[str]:
    return [n.title for n in drv.engine.notifications(drv.session, username, limit=100)]


def stages(drv: Driver, project_id: int) -> list[tuple]:
    return [(h.from_stage, h.to_stage, h.by) for h in
            records.stage_history(drv.session, project_id)]


def stage(drv: Driver, project_id: int) -> str:
    return records.get_project(drv.session, project_id).stage


def verdict(drv: Driver, iid: int, element: str, who: str, decision: str,
            comment: str | None = None):
    body = {"decision": decision, **({"comment": comment} if comment else {})}
    return drv.complete(iid, element, who, body)


def sign(drv: Driver, iid: int, who: str = "sponsor1", decision: str = "sign_off",
         comment: str | None = None):
    return verdict(drv, iid, "sign_off", who, decision, comment)


def check(drv: Driver, iid: int, who: str = "finance1", decision: str = "accept",
          comment: str | None = None):
    return verdict(drv, iid, "check_variance", who, decision, comment)


def fire_at(drv: Driver, day: str):
    """Move the clock to 09:01 UTC on 2026-``day`` (just past the 09:00 timers) and fire."""
    drv.clock.set(f"2026-{day}T09:01:00+00:00")
    return drv.engine.fire_due_jobs(drv.session)


def lesson(drv: Driver, iid: int, member: str, **kw: Any):
    task = next(t for t in drv.open_tasks(iid)
                if t.element_id == "write_lesson" and t.assignee == member)
    body = {"category": "supplier", "what_went_well": f"{member}: the daily stand-up."}
    body.update(kw)
    return drv.engine.complete(drv.session, task.id, member, body)


# --------------------------------------------------------------------------- the tables


RULE_ONLY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="t">
  <bpmn:process id="rule_only" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="r"><bpmn:extensionElements><spiffworkflow:calledDecisionId>DECISION</spiffworkflow:calledDecisionId></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="r"/><bpmn:sequenceFlow id="f2" sourceRef="r" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def decide(decision: str, values: dict[str, Any]) -> dict[str, Any]:
    """Run one of the closure tables alone in the sandbox; the workflow data after it."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(RULE_ONLY.replace("DECISION", decision).encode(), filename="r.bpmn")
    parser.add_dmn_str((BPMN / f"{decision}.dmn").read_bytes(), filename=f"{decision}.dmn")
    engine = SandboxedScriptEngine(helpers=make_helpers(lambda: datetime.now(UTC)))
    wf = BpmnWorkflow(parser.get_spec("rule_only"), script_engine=engine)
    wf.task_tree.data.update(values)
    wf.do_engine_steps()
    return wf.data


@pytest.mark.parametrize(("pct", "budget", "explain", "threshold"), [
    ("0.00", "250000.00", False, 10),
    ("10.00", "250000.00", False, 10),
    ("10.01", "250000.00", True, 10),
    ("-25.00", "250000.00", False, 10),
    ("-25.01", "250000.00", True, -25),
    ("10.01", "1000000.00", True, 10),
    ("5.01", "1000000.00", False, 10),      # exactly 1,000,000 is not "above"
    ("5.00", "1000000.01", False, 5),
    ("5.01", "1000000.01", True, 5),
    ("-25.01", "5000000.00", True, -25),
    ("9999.99", "0.00", True, 10),          # no budget, some cost
])
def test_cost_variance_table_at_every_boundary(pct, budget, explain, threshold):
    for category in ("it", "construction", "rnd"):
        closure = {"variance_pct": pct, "budget_reporting": {"amount": budget}, "category":
                   category}
        rule = decide("closure_cost_variance", {"closure": closure})["variance_rule"]
        assert (rule["explain"], rule["threshold_pct"]) == (explain, threshold)
        assert rule["reason"]


@pytest.mark.parametrize(("category", "people", "days"), [
    ("it", 0, 5), ("it", 15, 5), ("it", 16, 7), ("rnd", 40, 7),
    ("construction", 1, 10), ("construction", 16, 10),
])
def test_lesson_window_table(category, people, days):
    values = {"closure": {"category": category},
              "lesson_team": [f"u{i}" for i in range(people)]}
    assert decide("closure_lesson_window", values)["lesson_window_days"] == days


def test_variance_is_a_percentage_to_the_cent():
    from decimal import Decimal as D

    assert variance_pct(D("250000"), D("275000")) == D("10.00")
    assert variance_pct(D("250000"), D("275025")) == D("10.01")
    assert variance_pct(D("250000"), D("187475")) == D("-25.01")
    assert variance_pct(D("0"), D("0")) == D("0.00")
    assert variance_pct(D("0"), D("1")) == D("9999.99")


# --------------------------------------------------------------------------- main paths


def test_happy_path_within_threshold_lesson_published_project_closed(drv, session, project):
    inst = close(drv, project.id, lesson_team=["team1"])
    pid = project.id
    assert drv.instance(inst.id).project_id == pid
    assert stage(drv, pid) == "Closing"
    tasks = sorted((t.element_id, t.role, t.project_id, t.assignee, t.four_eyes)
                   for t in drv.open_tasks(inst.id))
    assert tasks == [("check_variance", "finance", pid, None, True),
                     ("sign_off", "sponsor", pid, None, True),
                     ("write_lesson", "team", pid, "team1", False)]
    view = records.get_project(session, pid)
    assert (view.actual_end.isoformat(), view.customer_satisfaction) == ("2026-02-27", 4)
    assert view.actual_cost.to_json() == {"amount": "240000.00", "currency": "CNY"}
    d = data(drv, inst.id)
    assert d["closure"]["variance_pct"] == "-4.00"
    assert d["cost_check"]["explain"] is False
    assert d["lesson_window"]["days"] == 5
    assert d["lesson_window"]["closes_at"] == "2026-03-09T09:00:00+00:00"
    assert "Please sign off acceptance" in titles(drv, "sponsor1")[0]

    lesson(drv, inst.id, "team1", title="Third-party interface debugging", category="supplier",
           tags=["api", "联调"], what_did_not=STORY, recommendation="Book the window early.")
    saved, total = records.list_lessons(session, project_id=pid)
    assert total == 1 and saved[0].author == "team1" and not saved[0].published
    assert open_elements(drv, inst.id) == ["check_variance", "curate", "sign_off"]
    assert drv.engine.jobs(session, status="pending", instance_id=inst.id)  # SLA timers only
    drv.complete(inst.id, "curate", "reviewer1", {"publish_ids": [saved[0].id]})
    for term in ("sandbox", "联调", "接口"):
        assert [v.id for v in records.search_lessons(session, term)] == [saved[0].id]

    sign(drv, inst.id)
    check(drv, inst.id)
    done = drv.instance(inst.id)
    assert done.status == "completed"
    assert stage(drv, pid) == "Closed"
    assert records.get_project(session, pid).closed_at is not None
    assert stages(drv, pid)[-2:] == [("Executing", "Closing", "pm1"),
                                      ("Closing", "Closed", "sponsor1")]
    reason = records.stage_history(session, pid)[-1].reason
    assert "Acceptance signed off by sponsor1" in reason and "1 published" in reason
    for who in ("pm1", "sponsor1"):
        assert any(t.startswith("Project closed: PRJ-2026-") for t in titles(drv, who))
    assert "Your lesson is published: Third-party interface debugging" in titles(drv, "team1")
    kinds = drv.kinds(inst.id)
    assert kinds[0] == "started" and kinds[-1] == "completed"
    decisions = [(e.element_id, e.actor, e.outcome) for e in drv.engine.history(session, inst.id)
                 if e.kind == "task_completed"]
    assert ("sign_off", "sponsor1", "sign_off") in decisions
    assert ("check_variance", "finance1", "accept") in decisions
    assert drv.engine.jobs(session, status="pending", instance_id=inst.id) == []
    # a closed project cannot be closed again
    with pytest.raises(InvalidData) as err:
        close(drv, pid)
    assert err.value.errors == {"project_id": f"{project.code} is Closed; only a project in "
                                              "Initiation or Executing can be closed."}


@pytest.mark.parametrize(("amount", "currency", "explain"), [
    ("275000.00", "CNY", False),   # exactly 10.00 % over: within
    ("275025.00", "CNY", True),    # 10.01 %
    ("38200.00", "USD", True),     # 275,040 CNY at 7.20: 10.02 %
    ("38194.00", "USD", False),    # 274,996.80 CNY: 10.00 % (rounded)
])
def test_variance_is_judged_in_the_reporting_currency(drv, project, amount, currency,
                                                      explain):
    inst = close(drv, project.id, actual_cost={"amount": amount, "currency": currency})
    expected = ["check_variance", "sign_off"] if not explain else ["explain", "sign_off"]
    assert open_elements(drv, inst.id) == expected
    assert data(drv, inst.id)["cost_check"]["explain"] is explain


def test_over_threshold_pm_explains_finance_asks_again_then_accepts(drv, session, project):
    inst = close(drv, project.id, actual_cost={"amount": "300000.00", "currency": "CNY"})
    assert data(drv, inst.id)["cost_check"]["pct"] == "20.00"
    explain = drv.task(inst.id, "explain")
    assert (explain.assignee, explain.role, explain.project_id) == ("pm1", "pm", project.id)
    with pytest.raises(InvalidData) as err:
        drv.complete(inst.id, "explain", "pm1", {"variance_explanation": "too short"})
    assert set(err.value.errors) == {"variance_explanation"}
    drv.complete(inst.id, "explain", "pm1",
                 {"variance_explanation": "The vendor raised its day rate in Q4."})
    assert open_elements(drv, inst.id) == ["check_variance", "sign_off"]
    with pytest.raises(InvalidData) as err:
        check(drv, inst.id, decision="ask_again")
    assert set(err.value.errors) == {"comment"}
    check(drv, inst.id, decision="ask_again", comment="Which contract clause allowed it?")
    assert open_elements(drv, inst.id) == ["explain", "sign_off"]
    assert any(t.startswith("Finance asks about the cost variance of PRJ-")
               for t in titles(drv, "pm1"))
    drv.complete(inst.id, "explain", "pm1",
                 {"variance_explanation": "Clause 7.2: indexation to the CPI, +8 %."})
    check(drv, inst.id, who="finance2")
    sign(drv, inst.id)
    assert drv.instance(inst.id).status == "completed"
    review = data(drv, inst.id)["variance_review"]
    assert (review["decision"], review["by"], review["round"]) == ("accept", "finance2", 2)
    assert review["explanation"].startswith("Clause 7.2")
    reason = records.stage_history(session, project.id)[-1].reason
    assert "20.00%" in reason and "after the PM's explanation" in reason
    assert "asked again" not in notes(drv, inst.id)
    assert "ask_again by finance1" in notes(drv, inst.id)


def test_a_pmo_edit_of_the_table_changes_the_routing(drv, session, project):
    source = (BPMN / "closure_cost_variance.dmn").read_bytes()
    stricter = source.replace(b"<text>&gt; 10</text>", b"<text>&gt; 30</text>")
    drv.engine.deploy(session, [f for f in bundle(stricter) if f.name.endswith(".dmn")],
                      "admin")
    inst = close(drv, project.id, actual_cost={"amount": "300000.00", "currency": "CNY"})
    assert open_elements(drv, inst.id) == ["check_variance", "sign_off"]


def test_no_matching_rule_lets_finance_check_without_an_explanation(drv, session, project):
    source = (BPMN / "closure_cost_variance.dmn").read_text(encoding="utf-8")
    for rule in ("Rule_large_within", "Rule_within"):
        start = source.index(f'<rule id="{rule}">')
        source = source[:start] + source[source.index("</rule>", start) + 7:]
    drv.engine.deploy(session, [SourceFile("closure_cost_variance.dmn", source.encode())],
                      "admin")
    inst = close(drv, project.id)
    assert open_elements(drv, inst.id) == ["check_variance", "sign_off"]
    assert "No rule of closure_cost_variance matched." in notes(drv, inst.id)


def test_sponsor_refuses_twice_pm_fixes_then_sponsor_signs_off(drv, session, project):
    pid = project.id
    inst = close(drv, pid)
    check(drv, inst.id)
    with pytest.raises(InvalidData) as err:
        sign(drv, inst.id, decision="refuse")
    assert set(err.value.errors) == {"comment"}
    for n, why in enumerate(("The user manual is missing.", "Manual still lacks chapter 3."),
                            start=1):
        sign(drv, inst.id, decision="refuse", comment=why)
        assert stage(drv, pid) == "Executing"
        fix = drv.task(inst.id, "fix")
        assert (fix.assignee, fix.role) == ("pm1", "pm")
        assert data(drv, inst.id)["acceptance"]["round"] == n
        with pytest.raises(InvalidData):
            drv.complete(inst.id, "fix", "pm1", {"fix_notes": "  "})
        drv.complete(inst.id, "fix", "pm1", {"fix_notes": f"Fixed: {why}"})
        assert stage(drv, pid) == "Closing"
        assert open_elements(drv, inst.id) == ["sign_off"]
    sign(drv, inst.id)
    assert drv.instance(inst.id).status == "completed"
    history = records.stage_history(session, pid)
    moves = [(h.from_stage, h.to_stage, h.by) for h in history][3:]
    assert moves == [("Executing", "Closing", "pm1"), ("Closing", "Executing", "sponsor1"),
                     ("Executing", "Closing", "pm1"), ("Closing", "Executing", "sponsor1"),
                     ("Executing", "Closing", "pm1"), ("Closing", "Closed", "sponsor1")]
    assert history[4].reason == "Acceptance refused by sponsor1: The user manual is missing."
    assert "(round 3)" in history[-1].reason
    refusals = [(e.actor, e.outcome, e.reason) for e in drv.engine.history(session, inst.id)
                if e.element_id == "sign_off" and e.kind == "task_completed"]
    assert refusals[0] == ("sponsor1", "refuse", "The user manual is missing.")
    assert sum(t.startswith("Acceptance refused: PRJ-2026-") for t in titles(drv, "pm1")) == 2


# --------------------------------------------------------------------------- lessons


def test_window_closes_with_one_of_three_answered(drv, session, project):
    inst = close(drv, project.id, lesson_team=["team1", "team2", "team3"])
    sign(drv, inst.id)
    check(drv, inst.id)
    asked = [t for t in drv.open_tasks(inst.id) if t.element_id == "write_lesson"]
    assert sorted(t.assignee for t in asked) == ["team1", "team2", "team3"]
    assert {(t.role, t.project_id, t.form, t.due_at.isoformat()) for t in asked} == {
        ("team", project.id, "project_closure-lesson.schema.json", "2026-03-09T09:00:00+00:00")}
    lesson(drv, inst.id, "team2", what_did_not=STORY)
    kept, _ = records.list_lessons(session, project_id=project.id)
    assert [v.author for v in kept] == ["team2"]        # saved the moment it was written
    fire_at(drv, "03-06")                                # Friday: one working day left
    for member in ("team1", "team3"):
        assert [t for t in titles(drv, member) if t.startswith("Reminder")] == [
            f"Reminder: lessons learned for {project.code}"]
    assert not any(t.startswith("Reminder") for t in titles(drv, "team2"))
    report = fire_at(drv, "03-09")                       # Monday 09:00: the window closes
    assert report.failed == 0
    assert open_elements(drv, inst.id) == ["curate"]
    states = sorted((a, s) for e, a, s in all_tasks(drv, inst.id) if e == "write_lesson")
    assert states == [("team1", "cancelled"), ("team2", "completed"), ("team3", "cancelled")]
    d = data(drv, inst.id)
    assert sorted((r["member"], r["answered"]) for r in d["lesson_receipts"]) == [
        ("team1", False), ("team2", True), ("team3", False)]
    assert [(x["author"], x["id"]) for x in d["collected_lessons"]] == [("team2", kept[0].id)]
    assert "team1 did not answer before the lessons window closed." in notes(drv, inst.id)
    fired = [e.element_id for e in drv.engine.history(session, inst.id)
             if e.kind == "timer_fired"]
    assert fired == ["lesson_due_soon"] * 2 + ["window_closed"] * 2   # one per member left
    drv.complete(inst.id, "curate", "reviewer1", {"publish_ids": [kept[0].id]})
    assert drv.instance(inst.id).status == "completed"
    assert "Lessons: 1 of 3 answered, 1 published." in records.stage_history(
        session, project.id)[-1].reason


def test_pm_closes_the_lessons_window_early_with_a_reason(drv, session, project):
    inst = close(drv, project.id, lesson_team=["team1", "team2", "team3"])
    sign(drv, inst.id)
    check(drv, inst.id)
    lesson(drv, inst.id, "team2", what_did_not=STORY)
    waits = drv.engine.waits(session, inst.id)
    closable = [w for w in waits if w.closable]
    assert {w.element_id for w in closable} == {"window_closed"} and len(closable) == 2
    assert {w.then for w in closable} == {"Record no answer"}
    assert not any(w.closable for w in waits if w.element_id == "lesson_due_soon")
    with pytest.raises(Forbidden):
        drv.engine.close_wait_early(session, inst.id, "team1", "I am done")
    assert drv.engine.close_wait_early(session, inst.id, "pm1", "the team has moved on") == 2
    assert open_elements(drv, inst.id) == ["curate"]
    d = data(drv, inst.id)
    assert sorted((r["member"], r["answered"]) for r in d["lesson_receipts"]) == [
        ("team1", False), ("team2", True), ("team3", False)]
    (event,) = [e for e in drv.engine.history(session, inst.id)
                if e.kind == "wait_closed_early"]
    assert (event.actor, event.reason, event.element_id) == (
        "pm1", "the team has moved on", "window_closed")
    # The reminders of the closed window are gone too: no timer fires later; only the
    # general SLA reminder of "Curate lessons" (its diagram models none) does.
    before = drv.kinds(inst.id).count("timer_fired")
    assert fire_at(drv, "03-20").fired == 1
    assert drv.kinds(inst.id).count("timer_fired") == before
    assert drv.kinds(inst.id).count("sla_reminder") == 1


def test_all_answer_before_the_window_no_waiting(drv, session, project):
    inst = close(drv, project.id, lesson_team=["team1", "team2"])
    lesson(drv, inst.id, "team1")
    lesson(drv, inst.id, "team2")
    assert open_elements(drv, inst.id) == ["check_variance", "curate", "sign_off"]
    window_jobs = [j for j in drv.engine.jobs(session, instance_id=inst.id)
                   if j.element_id in ("window_closed", "lesson_due_soon")]
    assert len(window_jobs) == 4 and {j.status for j in window_jobs} == {"cancelled"}
    assert len(data(drv, inst.id)["collected_lessons"]) == 2


def test_empty_team_skips_the_collection_at_once(drv, session, project):
    inst = close(drv, project.id, lesson_team=[])
    assert open_elements(drv, inst.id) == ["check_variance", "sign_off"]
    assert "Nobody to ask for lessons: the collection is skipped." in notes(drv, inst.id)
    assert "0 lesson(s) collected for curation." in notes(drv, inst.id)
    sign(drv, inst.id)
    check(drv, inst.id)
    assert drv.instance(inst.id).status == "completed"
    assert data(drv, inst.id)["lesson_receipts"] == []
    assert "curate" not in [e for e, _a, _s in all_tasks(drv, inst.id)]


def test_curation_publishes_one_of_two_and_merges(drv, session, project):
    inst = close(drv, project.id, lesson_team=["team1", "team2"])
    lesson(drv, inst.id, "team1", title="Interface debugging", what_did_not=STORY,
           tags=["api", "联调"])
    lesson(drv, inst.id, "team2", title="Vendor sandbox", category="technical",
           what_did_not="The vendor's test stub hid timeouts (超时) until go-live.")
    found, _ = records.list_lessons(session, project_id=project.id)
    first, second = sorted(v.id for v in found)
    curate = drv.task(inst.id, "curate")
    assert (curate.role, curate.four_eyes, curate.project_id) == ("pmo_reviewer", True,
                                                                   project.id)
    with pytest.raises(InvalidData) as err:
        drv.complete(inst.id, "curate", "reviewer1", {"publish_ids": [first, 9999]})
    assert err.value.errors == {"publish_ids": "Lesson 9999 was not collected here."}
    with pytest.raises(InvalidData) as err:
        drv.complete(inst.id, "curate", "reviewer1", {
            "edits": [{"lesson_id": second, "title": "x"},
                      {"lesson_id": first, "what_went_well": "", "what_did_not": "",
                       "recommendation": ""}]})
    assert set(err.value.errors) == {"edits.1.what_went_well"}
    assert not any(v.published for v in records.list_lessons(session)[0])
    drv.complete(inst.id, "curate", "reviewer1", {
        "publish_ids": [first], "merges": [{"source": second, "target": first}],
        "edits": [{"lesson_id": first, "title": "Third-party interface debugging (接口联调)"}]})
    kept = records.get_lesson(session, first)
    assert kept.published and kept.merged_ids == (second,) and kept.curated_by == "reviewer1"
    assert kept.title == "Third-party interface debugging (接口联调)"
    assert records.get_lesson(session, second).merged_into_id == first
    for term in ("stub", "超时", "联调", "debugging"):
        assert [v.id for v in records.search_lessons(session, term)] == [first]
    sign(drv, inst.id)
    check(drv, inst.id)
    curation = data(drv, inst.id)["curation"]
    assert curation["published"] == [first] and curation["merges"] == {str(second): first}
    assert curation["edited"] == [first] and curation["by"] == "reviewer1"


def test_a_lesson_needs_one_of_the_three_texts(drv, session, project):
    inst = close(drv, project.id, lesson_team=["team1"])
    with pytest.raises(InvalidData) as err:
        lesson(drv, inst.id, "team1", what_went_well="")
    assert set(err.value.errors) == {"what_went_well"}
    assert records.list_lessons(session, project_id=project.id)[1] == 0
    with pytest.raises(InvalidData) as err:
        lesson(drv, inst.id, "team1", category="gossip")
    assert set(err.value.errors) == {"category"}
    with pytest.raises(Forbidden):
        task = drv.task(inst.id, "write_lesson")
        drv.engine.complete(session, task.id, "team2", {"category": "other",
                                                        "what_went_well": "not mine"})


# --------------------------------------------------------------------------- SLAs, cancel


def test_reminders_and_escalations_do_not_stop_the_work(drv, session, project):
    inst = close(drv, project.id)
    due = {t.element_id: t.due_at.isoformat() for t in drv.open_tasks(inst.id)}
    assert due == {"sign_off": "2026-03-09T09:00:00+00:00",
                   "check_variance": "2026-03-05T09:00:00+00:00"}
    fire_at(drv, "03-05")                           # Thursday: finance's SLA
    for who in ("finance1", "finance2"):
        assert titles(drv, who)[0].startswith("Reminder: Cost variance check of PRJ-")
    assert not any(t.startswith("Reminder") for t in titles(drv, "sponsor1"))
    fire_at(drv, "03-09")                           # Monday: the sponsor's SLA
    assert titles(drv, "sponsor1")[0].startswith("Reminder: Acceptance sign-off of PRJ-")
    assert not any(t.startswith("Overdue") for t in titles(drv, "pmohead"))
    fire_at(drv, "03-10")                           # Tuesday: finance's second period
    assert titles(drv, "pmohead")[0].startswith("Overdue: Cost variance check of PRJ-")
    fire_at(drv, "03-16")                           # Monday: the sponsor's second period
    assert titles(drv, "pmohead")[0].startswith("Overdue: Acceptance sign-off of PRJ-")
    assert open_elements(drv, inst.id) == ["check_variance", "sign_off"]
    assert drv.engine.jobs(session, status="pending", instance_id=inst.id) == []
    sign(drv, inst.id)
    check(drv, inst.id)
    assert drv.instance(inst.id).status == "completed"
    assert drv.kinds(inst.id).count("timer_fired") == 4


def test_withdrawing_the_closure_returns_the_project_to_executing(drv, session, project):
    inst = close(drv, project.id, lesson_team=["team1", "team2"])
    lesson(drv, inst.id, "team1")
    done = drv.engine.cancel(session, inst.id, "pm1", "The customer extended the contract.",
                             kind="withdrawn")
    assert done.status == "withdrawn"
    assert stage(drv, project.id) == "Executing"
    assert records.stage_history(session, project.id)[-1].reason == (
        "Closure withdrawn: The customer extended the contract.")
    assert records.list_lessons(session, project_id=project.id)[1] == 1   # kept
    assert drv.open_tasks(inst.id) == []
    assert drv.engine.jobs(session, status="pending", instance_id=inst.id) == []
    assert "Closure of PRJ-" in titles(drv, "sponsor1")[0]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("change", "field"), [
    ({"actual_end": "2025-05-31"}, "actual_end"),                # before the project start
    ({"actual_end": "2026-03-03"}, "actual_end"),                # in the future
    ({"actual_end": "27.02.2026"}, "actual_end"),
    ({"customer_satisfaction": 6}, "customer_satisfaction"),
    ({"customer_satisfaction": 0}, "customer_satisfaction"),
    ({"actual_cost": {"amount": "-5.00", "currency": "CNY"}}, "actual_cost.amount"),
    ({"actual_cost": {"amount": "5.001", "currency": "CNY"}}, "actual_cost.amount"),
    ({"actual_cost": {"amount": "5.00", "currency": "XYZ"}}, "actual_cost.currency"),
    ({"lesson_team": ["team1", "ghost"]}, "lesson_team"),
    ({"lesson_team": ["team1", "team1"]}, "lesson_team"),
    ({"deliverables_accepted": False}, "deliverables_notes"),
    ({"open_items_count": 2}, "open_items_note"),
    ({"open_items_count": -1}, "open_items_count"),
    ({"project_id": 9999}, "project_id"),
])
def test_bad_input_is_refused_per_field_and_nothing_advances(drv, session, project, change,
                                                             field):
    before = stages(drv, project.id)
    with pytest.raises(InvalidData) as err:
        drv.start(KEY, "pm1", {**form(project.id), **change})
    assert set(err.value.errors) == {field}, err.value.errors
    assert drv.engine.instances(session) == []
    assert stages(drv, project.id) == before
    assert records.get_project(session, project.id).actual_cost is None


def test_only_the_projects_pm_can_close_it(drv, session, project):
    with pytest.raises(InvalidData) as err:
        close(drv, project.id, who="pm2")
    assert err.value.errors == {
        "project_id": f"Only the project's manager (pm1) can close {project.code}."}
    with pytest.raises(Forbidden, match="needs the role 'pm'"):
        close(drv, project.id, who="team1")
    assert stage(drv, project.id) == "Executing"


def test_projects_in_other_stages_cannot_be_closed(drv, session, project):
    started = make_project(drv, stage="Initiation", title="Started but cancelled early")
    inst = close(drv, started.id)                     # Initiation may close (early stop)
    assert stage(drv, started.id) == "Closing"
    with pytest.raises(InvalidData, match="is Closing"):
        close(drv, started.id)                        # a closure is already running
    drv.engine.cancel(session, inst.id, "pm1", "wrong project", kind="withdrawn")
    with unit_of_work(session):
        proposed = records.propose_project(session, proposal(title="Only proposed"),
                                           pm="pm1", now=drv.clock.now())
    with pytest.raises(InvalidData, match="is Proposed"):
        close(drv, proposed.id)


# --------------------------------------------------------------------------- four eyes


def test_pm_cannot_sign_off_even_as_sponsor_of_the_project(drv, session, clock, project):
    with unit_of_work(session):
        identity.grant_project_role(session, project.id, "pm1", "sponsor")
    inst = close(drv, project.id)
    task = drv.task(inst.id, "sign_off")
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.complete(session, task.id, "pm1", {"decision": "sign_off"})
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.engine.claim(session, task.id, "pm1")
    with pytest.raises(Forbidden, match="needs the role 'sponsor' for project"):
        drv.engine.complete(session, task.id, "sponsor2", {"decision": "sign_off"})
    with unit_of_work(session):
        identity.add_delegation(session, "sponsor1", "pm1", clock.now(), None, "leave",
                                clock.now())
        identity.add_delegation(session, "pm1", "team3", clock.now(), None, "holiday",
                                clock.now())
    for who in ("pm1", "team3"):                      # for the sponsor; or acting for pm1
        with pytest.raises(Forbidden, match="four-eyes"):
            drv.engine.complete(session, task.id, who, {"decision": "sign_off"})
    assert open_elements(drv, inst.id) == ["check_variance", "sign_off"]
    sign(drv, inst.id)
    assert stage(drv, project.id) == "Closing"


def test_pm_cannot_check_costs_or_curate_their_own_closure(drv, session, project):
    with unit_of_work(session):
        identity.set_roles(session, "pm1", ["pm", "finance", "pmo_reviewer"])
    inst = close(drv, project.id, lesson_team=["team1"])
    with pytest.raises(Forbidden, match="four-eyes"):
        check(drv, inst.id, who="pm1")
    lesson(drv, inst.id, "team1")
    with pytest.raises(Forbidden, match="four-eyes"):
        drv.complete(inst.id, "curate", "pm1", {})
    check(drv, inst.id)
    drv.complete(inst.id, "curate", "reviewer2", {})
    sign(drv, inst.id)
    assert drv.instance(inst.id).status == "completed"


# --------------------------------------------------------------------------- engine gaps
# Why the lessons are collected by an embedded sub-process with the timer on each member's
# task (see workflows/closure.py).  Strict xfails: when the engine is fixed they fail, and
# the called-process design the brief suggested becomes possible.

GAP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="G" targetNamespace="t">
  <bpmn:process id="PID" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="team">REFS</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    BODY
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
ASK = ('<bpmn:userTask id="ask" name="Ask"><bpmn:extensionElements><spiffworkflow:properties>'
       '<spiffworkflow:property name="assignee" value="member"/></spiffworkflow:properties>'
       '</bpmn:extensionElements>INOUT</bpmn:userTask>')
EACH = ("<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>team"
        '</bpmn:loopDataInputRef><bpmn:inputDataItem id="member" name="member"/>'
        "</bpmn:multiInstanceLoopCharacteristics>")


def gap_process(pid: str, body: str, refs: tuple[str, ...]) -> SourceFile:
    xml = GAP.replace("PID", pid).replace("BODY", body).replace("REFS", "".join(
        f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in ("s", "e", *refs)))
    return SourceFile(f"{pid}.bpmn", xml.encode())


def test_called_process_user_task_keeps_its_assignee(drv, session):
    ask = ASK.replace('id="ask"', 'id="a"').replace(
        "INOUT", "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>")
    callee = gap_process("gap_callee", ask, ("a",))
    caller = gap_process("gap_caller", '<bpmn:callActivity id="a" calledElement="gap_callee">'
                         "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"
                         "</bpmn:callActivity>", ("a",))
    drv.engine.deploy(session, [callee, caller], "owner1")
    inst = drv.start("gap_caller", "team1", {"member": "team2"})
    assert [t.assignee for t in drv.open_tasks(inst.id)] == ["team2"]


def test_timer_cancelling_a_multi_instance_sub_process(drv, session):
    """SpiffWorkflow 3.2 orphans the instances' sub-workflows here; the engine purges
    them (engine/spiff/runtime.py) so the timer fires cleanly."""
    inner = ('<bpmn:startEvent id="is"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>'
             + ASK.replace("INOUT", "<bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2"
                                    "</bpmn:outgoing>")
             + '<bpmn:endEvent id="ie"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>'
             '<bpmn:sequenceFlow id="g1" sourceRef="is" targetRef="ask"/>'
             '<bpmn:sequenceFlow id="g2" sourceRef="ask" targetRef="ie"/>')
    body = (f'<bpmn:subProcess id="a"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2'
            f"</bpmn:outgoing>{EACH}{inner}</bpmn:subProcess>"
            '<bpmn:boundaryEvent id="t" attachedToRef="a"><bpmn:outgoing>f3</bpmn:outgoing>'
            "<bpmn:timerEventDefinition><bpmn:timeDate>in_working_days(1)"
            "</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
            '<bpmn:endEvent id="e2"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="e2"/>')
    drv.engine.deploy(session, [gap_process("gap_window", body, ("a", "t", "e2"))], "owner1")
    inst = drv.start("gap_window", "team1", {"team": ["team1", "team2"]})
    first = drv.open_tasks(inst.id)[0]
    drv.engine.complete(session, first.id, first.assignee, {})
    report = fire_at(drv, "03-03")
    assert (report.fired, report.failed) == (1, 0), report.errors
