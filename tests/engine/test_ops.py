"""The ops console's actions, on SQLite and PostgreSQL: suspend, resume, cancel, retry an
incident, move a token, move a batch to a newer version.  Each action is checked on the
saved state, the task and job rows and the audit trail; the doctor finds nothing
afterwards (tests that leave something on purpose say so)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.errors import Forbidden, InvalidData, NotReady
from engine.revision import InstanceMovedOn
from engine.services import ServiceCall
from engine.store.models import HumanTask, Job
from tests.engine.driver import Driver

FLOW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="t">
  <bpmn:process id="ops_flow" name="Ops flow" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="pm"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>draft</bpmn:flowNodeRef><bpmn:flowNodeRef>late</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="pmo_reviewer"><bpmn:flowNodeRef>check</bpmn:flowNodeRef><bpmn:flowNodeRef>score</bpmn:flowNodeRef><bpmn:flowNodeRef>cool</bpmn:flowNodeRef><bpmn:flowNodeRef>notify</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l3" name="pmo_head"><bpmn:flowNodeRef>approve</bpmn:flowNodeRef><bpmn:flowNodeRef>chase</bpmn:flowNodeRef><bpmn:flowNodeRef>gw</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef><bpmn:flowNodeRef>end_chase</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Submitted"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="draft" name="Draft proposal"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="late" name="Two days passed" attachedToRef="draft"><bpmn:outgoing>f_late</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td1"><bpmn:timeDuration>"PT48H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:userTask id="chase" name="Chase the author"><bpmn:incoming>f_late</bpmn:incoming><bpmn:outgoing>f_chase</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end_chase"><bpmn:incoming>f_chase</bpmn:incoming></bpmn:endEvent>
    <bpmn:userTask id="check" name="Check completeness"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="score" name="Score"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing><bpmn:script>score = 7</bpmn:script></bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="cool" name="Cooling-off hour"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td2"><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="notify" name="Notify finance">
      <bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="flaky" resultVariable="notified"><spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:userTask id="approve" name="Approve"><bpmn:incoming>f6</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" name="Done?" default="f8"><bpmn:incoming>f7</bpmn:incoming><bpmn:outgoing>f8</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end" name="Finished"><bpmn:incoming>f8</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="draft"/>
    <bpmn:sequenceFlow id="f2" sourceRef="draft" targetRef="check"/>
    <bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="chase"/>
    <bpmn:sequenceFlow id="f_chase" sourceRef="chase" targetRef="end_chase"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="score"/>
    <bpmn:sequenceFlow id="f4" sourceRef="score" targetRef="cool"/>
    <bpmn:sequenceFlow id="f5" sourceRef="cool" targetRef="notify"/>
    <bpmn:sequenceFlow id="f6" sourceRef="notify" targetRef="approve"/>
    <bpmn:sequenceFlow id="f7" sourceRef="approve" targetRef="gw"/>
    <bpmn:sequenceFlow id="f8" sourceRef="gw" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


class Flaky:
    """A glue operation that fails while ``broken`` is set."""

    def __init__(self) -> None:
        self.broken = False

    def __call__(self, call: ServiceCall) -> str:
        if self.broken:
            raise ConnectionError("finance system unreachable")
        return "ok"


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.fixture
def drv(engine, session, clock, people, flaky) -> Driver:
    engine.services.register("flaky", flaky)
    d = Driver(engine, session, clock)
    d.deploy_text("ops_flow.bpmn", FLOW)
    return d


@pytest.fixture(autouse=True)
def doctor_is_clean_afterwards(request, engine, session):
    """After every action the doctor finds nothing (unless a test says it leaves
    something on purpose)."""
    yield
    if request.node.get_closest_marker("doctor_findings_expected"):
        return
    session.rollback()
    report = engine.doctor(session, keep=False)
    assert [f"{f.code}: {f.message}" for f in report.findings] == []


def start(drv: Driver) -> int:
    return drv.start("ops_flow", data={"title": "Tower"}).id


def open_rows(session, iid: int) -> list[tuple[str, str]]:
    session.rollback()
    return [(r.element_id, r.status) for r in session.scalars(
        select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open"))]


def jobs(session, iid: int) -> dict[str, str]:
    session.rollback()
    return {j.element_id: j.status for j in session.scalars(
        select(Job).where(Job.instance_id == iid).order_by(Job.id))}


def revision(drv: Driver, iid: int) -> int:
    return drv.instance(iid).revision


def events(drv: Driver, iid: int, kind: str):
    return [e for e in drv.engine.history(drv.session, iid) if e.kind == kind]


def ready_tokens(drv: Driver, iid: int) -> list[tuple[str, str]]:
    page = drv.engine.ops_instance(drv.session, "admin", iid)
    return [(t.element_id, t.state) for t in page.tokens]


# ------------------------------------------------------------------ access


def test_only_a_pmo_admin_may_use_the_console(drv, session):
    iid = start(drv)
    for verb in (
        lambda: drv.engine.ops_instances(session, "reviewer1"),
        lambda: drv.engine.ops_instance(session, "pmohead", iid),
        lambda: drv.engine.suspend(session, "pm1", iid, "why"),
        lambda: drv.engine.move_token(session, "pmohead", iid, "draft", "check", "why"),
        lambda: drv.engine.ops_incidents(session, "owner1"),
    ):
        with pytest.raises(Forbidden) as err:
            verb()
        assert err.value.code == "access.admin_only"
    assert drv.instance(iid).status == "running" and events(drv, iid, "suspended") == []


# ------------------------------------------------------------------ list


def test_instances_by_status_and_search(drv, session):
    a, b, c = start(drv), start(drv), drv.start("ops_flow", "pm2", data={"title": "Bridge"}).id
    drv.engine.suspend(session, "admin", b, "waiting for the budget freeze")
    drv.engine.ops_cancel(session, "admin", c, "duplicate")
    listing = drv.engine.ops_instances(session, "admin")
    assert [r.id for r in listing.rows] == [c, b, a] and listing.total == 3
    assert listing.counts == {"running": 1, "suspended": 1, "completed": 0, "cancelled": 1,
                              "incident": 0}
    assert [r.id for r in drv.engine.ops_instances(session, "admin", status="suspended").rows] == [b]
    assert [r.id for r in drv.engine.ops_instances(session, "admin", status="cancelled").rows] == [c]
    assert [r.id for r in drv.engine.ops_instances(session, "admin", requester="PM2").rows] == [c]
    assert [r.id for r in drv.engine.ops_instances(session, "admin", search=str(a)).rows] == [a]
    assert [r.id for r in drv.engine.ops_instances(session, "admin", search="bridge").rows] == []
    paged = drv.engine.ops_instances(session, "admin", offset=1, limit=1)
    assert [r.id for r in paged.rows] == [b] and paged.total == 3
    with pytest.raises(InvalidData) as err:
        drv.engine.ops_instances(session, "admin", status="sleeping")
    assert err.value.errors["status"].code == "input.choice"


# ------------------------------------------------------------------ suspend / resume


def test_a_suspended_instance_fires_no_timer_and_accepts_no_completion(drv, session, clock):
    iid = start(drv)
    seen = revision(drv, iid)
    done = drv.engine.suspend(session, "admin", iid, "budget freeze", revision=seen)
    assert done.status == "suspended" and done.revision == seen + 1
    assert jobs(session, iid) == {"late": "held"}
    task = drv.task(iid, "draft")
    with pytest.raises(NotReady) as err:
        drv.engine.complete(session, task.id, "pm1", {})
    assert err.value.code == "instance.suspended"
    clock.advance(hours=72)  # the boundary timer is long due
    assert drv.engine.fire_due_jobs(session).fired == 0
    assert open_rows(session, iid) == [("draft", "open")]
    assert drv.engine.doctor(session, keep=False).findings == []  # held is not stranded

    with pytest.raises(NotReady) as err:  # suspended twice
        drv.engine.suspend(session, "admin", iid, "again")
    assert err.value.code == "instance.suspended"
    back = drv.engine.resume(session, "admin", iid, "freeze lifted", revision=done.revision)
    assert back.status == "running" and jobs(session, iid) == {"late": "pending"}
    assert drv.engine.fire_due_jobs(session).fired == 1  # the timer due meanwhile fires now
    assert open_rows(session, iid) == [("chase", "open")]
    [s] = events(drv, iid, "suspended")
    [r] = events(drv, iid, "resumed")
    assert (s.actor, s.reason, r.reason) == ("admin", "budget freeze", "freeze lifted")
    with pytest.raises(NotReady) as err:
        drv.engine.resume(session, "admin", iid)
    assert err.value.code == "instance.not_suspended"


def test_suspending_needs_a_reason_and_the_version_seen(drv, session):
    iid = start(drv)
    with pytest.raises(InvalidData) as err:
        drv.engine.suspend(session, "admin", iid, "  ")
    assert err.value.errors["reason"].code == "input.reason_required"
    seen = revision(drv, iid)
    drv.complete(iid, "draft", "pm1")  # the instance moves on meanwhile
    with pytest.raises(InstanceMovedOn) as err:
        drv.engine.suspend(session, "admin", iid, "hold it", revision=seen)
    assert err.value.status == 409 and err.value.code == "ops.instance_moved_on"
    params = err.value.params
    assert (params["seen"], params["revision"], params["status"]) == (seen, seen + 1, "running")
    assert params["step"] == "Check completeness"
    assert params["change"] == "task completed 'Draft proposal' by pm1"
    assert drv.instance(iid).status == "running" and events(drv, iid, "suspended") == []


# ------------------------------------------------------------------ cancel


def test_cancel_ends_open_tasks_and_jobs_even_when_suspended(drv, session):
    iid = start(drv)
    drv.engine.suspend(session, "admin", iid, "hold")
    with pytest.raises(InvalidData):
        drv.engine.ops_cancel(session, "admin", iid, "")
    done = drv.engine.ops_cancel(session, "admin", iid, "Requester left the company",
                                 revision=revision(drv, iid))
    assert done.status == "cancelled"
    assert open_rows(session, iid) == [] and jobs(session, iid) == {"late": "cancelled"}
    session.rollback()
    assert {r.status for r in session.scalars(
        select(HumanTask).where(HumanTask.instance_id == iid))} == {"cancelled"}
    [event] = events(drv, iid, "cancelled")
    assert (event.actor, event.reason) == ("admin", "Requester left the company")
    for verb in (lambda: drv.engine.ops_cancel(session, "admin", iid, "again"),
                 lambda: drv.engine.suspend(session, "admin", iid, "x"),
                 lambda: drv.engine.move_token(session, "admin", iid, "draft", "check", "x")):
        with pytest.raises(NotReady) as err:
            verb()
        assert err.value.code == "instance.not_running"


def test_an_action_on_a_completed_instance_is_refused(drv, session, clock):
    iid = start(drv)
    drv.engine.move_token(session, "admin", iid, "draft", "approve", "skip ahead")
    drv.complete(iid, "approve", "pmohead")
    assert drv.instance(iid).status == "completed"
    with pytest.raises(NotReady) as err:
        drv.engine.suspend(session, "admin", iid, "too late")
    assert err.value.code == "instance.not_running" and err.value.params["status"] == "completed"


# ------------------------------------------------------------------ move token


def test_moving_a_token_forward_leaves_one_ready_task_and_rows_that_agree(drv, session):
    iid = start(drv)
    assert ready_tokens(drv, iid) == [("draft", "ready")]
    seen = revision(drv, iid)
    done = drv.engine.move_token(session, "admin", iid, "draft", "check",
                                 "author sent it by e-mail", revision=seen)
    assert done.revision == seen + 1
    assert ready_tokens(drv, iid) == [("check", "ready")]
    assert open_rows(session, iid) == [("check", "open")]
    assert jobs(session, iid) == {"late": "cancelled"}  # the boundary timer went with it
    assert drv.instance(iid).current_step == "Check completeness"
    [event] = events(drv, iid, "token_moved")
    assert (event.actor, event.reason, event.element_id) == (
        "admin", "author sent it by e-mail", "check")
    assert (event.detail["from"], event.detail["to"]) == ("draft", "check")
    drv.complete(iid, "check", "reviewer1")  # the flow goes on from there
    assert ready_tokens(drv, iid) == [("cool", "waiting")]
    assert drv.instance(iid).current_step == "waiting for Cooling-off hour"


def test_moving_a_token_back_re_arms_the_boundary_timer_and_keeps_the_data(drv, session, clock):
    iid = start(drv)
    drv.complete(iid, "draft", "pm1", {"note": "v1"})
    drv.engine.move_token(session, "admin", iid, "check", "draft", "the author must redo it")
    assert open_rows(session, iid) == [("draft", "open")]
    assert jobs(session, iid) == {"late": "pending"}  # armed again from now
    page = drv.engine.instance_and_task_data(session, iid, drv.task(iid, "draft").id)
    assert page.task_data["title"] == "Tower" and page.task_data["note"] == "v1"
    clock.advance(hours=49)
    assert drv.engine.fire_due_jobs(session).fired == 1
    assert open_rows(session, iid) == [("chase", "open")]


def test_moving_a_token_onto_a_script_runs_it_and_arms_the_next_timer(drv, session, clock, flaky):
    iid = start(drv)
    drv.engine.move_token(session, "admin", iid, "draft", "score", "scored by hand")
    assert open_rows(session, iid) == [] and jobs(session, iid) == {"late": "cancelled",
                                                                     "cool": "pending"}
    assert ready_tokens(drv, iid) == [("cool", "waiting")]
    # a waiting timer is a token too: move it on to the approval
    drv.engine.move_token(session, "admin", iid, "cool", "approve", "no cooling-off needed")
    assert jobs(session, iid)["cool"] == "cancelled" and open_rows(session, iid) == [
        ("approve", "open")]


@pytest.mark.parametrize(("from_element", "to_element", "field", "code"), [
    ("draft", "nowhere", "to_element", "ops.step_unknown"),
    ("draft", "start", "to_element", "ops.step_not_enterable"),
    ("draft", "gw", "to_element", "ops.step_not_enterable"),
    ("draft", "late", "to_element", "ops.step_not_enterable"),
    ("draft", "end", "to_element", "ops.step_not_enterable"),
    ("draft", "draft", "to_element", "ops.same_step"),
    ("check", "approve", "from_element", "ops.no_token"),
    ("draft", "", "to_element", "form.required"),
])
def test_a_move_to_a_step_that_cannot_be_entered_names_the_element(
        drv, session, from_element, to_element, field, code):
    iid = start(drv)
    seen = revision(drv, iid)
    with pytest.raises(InvalidData) as err:
        drv.engine.move_token(session, "admin", iid, from_element, to_element, "because")
    error = err.value.errors[field]
    assert error.code == code
    if to_element and code.startswith("ops.step"):
        assert repr(to_element) in str(error) and error.params["element_id"] == to_element
    assert revision(drv, iid) == seen and events(drv, iid, "token_moved") == []
    assert open_rows(session, iid) == [("draft", "open")]


def test_moving_a_token_needs_a_reason_and_a_fresh_version(drv, session):
    iid = start(drv)
    with pytest.raises(InvalidData) as err:
        drv.engine.move_token(session, "admin", iid, "draft", "check", "")
    assert err.value.errors["reason"].code == "input.reason_required"
    seen = revision(drv, iid)
    drv.engine.suspend(session, "admin", iid, "hold")
    drv.engine.resume(session, "admin", iid)
    with pytest.raises(InstanceMovedOn) as err:
        drv.engine.move_token(session, "admin", iid, "draft", "check", "go", revision=seen)
    assert err.value.params["change"] == "resumed by admin"
    assert open_rows(session, iid) == [("draft", "open")]


# ------------------------------------------------------------------ incidents


@pytest.mark.doctor_findings_expected  # the doctor is asked for its findings mid-test
def test_a_failed_job_is_an_incident_with_its_element_and_a_retry_clears_it(
        drv, session, clock, flaky):
    iid = start(drv)
    drv.complete(iid, "draft", "pm1")
    drv.complete(iid, "check", "reviewer1")
    flaky.broken = True
    for _ in range(8):  # the timer's run fails at "Notify finance" until attempts run out
        clock.advance(hours=2)
        drv.engine.fire_due_jobs(session)
    assert jobs(session, iid)["cool"] == "failed"
    page = drv.engine.ops_instance(session, "admin", iid)
    [failed] = page.incidents  # shown before any doctor pass
    assert (failed.id, failed.kind, failed.element_id) == (None, "job_failed", "cool")
    assert "finance system unreachable" in failed.error
    listing = drv.engine.ops_instances(session, "admin", status="incident")
    assert [r.id for r in listing.rows] == [iid] and listing.rows[0].incidents == 1

    report = drv.engine.doctor(session)
    assert [f.kind for f in report.findings] == ["job_failed"]
    incidents, total = drv.engine.ops_incidents(session, "admin")
    [incident] = incidents
    assert total == 1 and incident.instance_id == iid and incident.element_id == "cool"
    assert incident.element_name == "Cooling-off hour" and "unreachable" in incident.error
    assert drv.engine.ops_incident(session, "admin", incident.id) == incident

    with pytest.raises(Exception, match="unreachable"):  # still broken: nothing saved
        drv.engine.retry_incident(session, "admin", incident.id, "try again")
    assert jobs(session, iid)["cool"] == "failed"
    flaky.broken = False
    done = drv.engine.retry_incident(session, "admin", incident.id, "finance is back")
    assert done.action == "retry" and done.detail["resolved"] == [incident.id]
    assert open_rows(session, iid) == [("approve", "open")]
    assert jobs(session, iid)["cool"] == "done"
    assert drv.engine.ops_incidents(session, "admin")[0] == []
    with pytest.raises(NotReady) as err:
        drv.engine.retry_incident(session, "admin", incident.id)
    assert err.value.code == "incident.not_open"
    [event] = events(drv, iid, "repaired")
    assert (event.actor, event.reason) == ("admin", "finance is back")
    assert drv.engine.doctor(session, keep=False).findings == []


@pytest.mark.doctor_findings_expected
def test_a_stranded_instance_found_by_the_doctor_is_retried(drv, session):
    iid = start(drv)
    task = drv.task(iid, "draft")
    session.execute(update(HumanTask).where(HumanTask.id == task.id)
                    .values(status="completed", completed_by="nobody"))
    session.commit()
    drv.engine.doctor(session)
    [incident] = drv.engine.ops_instance(session, "admin", iid).incidents
    assert incident.kind == "task_row_missing" and incident.element_name == "Draft proposal"
    assert incident.element_id == "draft"
    seen = revision(drv, iid)
    drv.engine.retry_instance(session, "admin", iid, "inbox lost it", revision=seen)
    assert open_rows(session, iid) == [("draft", "open")]
    assert drv.engine.ops_instance(session, "admin", iid).incidents == []
    with pytest.raises(InstanceMovedOn):
        drv.engine.retry_instance(session, "admin", iid, "again", revision=seen)
    assert drv.engine.doctor(session, keep=False).findings == []


@pytest.mark.doctor_findings_expected
def test_retrying_a_stray_job_of_a_finished_instance_cancels_it(drv, session, clock):
    iid = start(drv)
    drv.engine.move_token(session, "admin", iid, "draft", "approve", "skip ahead")
    drv.complete(iid, "approve", "pmohead")
    session.add(Job(kind="timer", instance_id=iid, task_ref="stray", element_id="cool",
                    due_at=clock.now(), status="pending", attempts=0, payload={},
                    created_at=clock.now()))
    session.commit()
    [finding] = drv.engine.doctor(session).findings
    assert finding.kind == "finished_instance_job"
    [incident] = drv.engine.ops_incidents(session, "admin")[0]
    done = drv.engine.retry_incident(session, "admin", incident.id, "tidy up")
    assert done.status == "completed" and done.detail["resolved"] == [incident.id]
    assert jobs(session, iid)["cool"] == "cancelled"
    assert drv.engine.doctor(session, keep=False).findings == []


# ------------------------------------------------------------------ versions


def test_a_batch_moves_to_a_newer_version_and_lists_who_cannot(drv, session):
    waiting_draft, waiting_check = start(drv), start(drv)
    drv.complete(waiting_check, "draft", "pm1")
    suspended = start(drv)
    drv.engine.suspend(session, "admin", suspended, "hold")
    v2 = FLOW.replace('name="Check completeness"', 'name="Check it all"')
    v2 = v2.replace('<bpmn:userTask id="check"', '<bpmn:userTask id="check2"').replace(
        'targetRef="check"', 'targetRef="check2"').replace('sourceRef="check"',
                                                           'sourceRef="check2"')
    v2 = v2.replace("<bpmn:flowNodeRef>check</bpmn:flowNodeRef>",
                    "<bpmn:flowNodeRef>check2</bpmn:flowNodeRef>")
    [target] = drv.deploy_text("ops_flow.bpmn", v2).processes
    page = drv.engine.ops_instance(session, "admin", waiting_check)
    assert [(v.version, v.missing) for v in page.versions] == [
        (2, ("Check completeness (check)",))]
    with pytest.raises(InvalidData) as err:
        drv.engine.migrate_instances(session, "admin", [waiting_draft], target.id, " ")
    assert err.value.errors["reason"].code == "input.reason_required"
    result = drv.engine.migrate_instances(
        session, "admin", [waiting_draft, waiting_check, suspended, 999999], target.id,
        "v2 renames the check")
    assert result.moved == (waiting_draft,) and result.target_version == 2
    assert set(result.refused) == {waiting_check, suspended, 999999}
    assert "Check completeness (check)" in result.refused[waiting_check]
    assert "suspended" in result.refused[suspended] and "no instance" in result.refused[999999]
    assert drv.instance(waiting_draft).definition_version == 2
    assert drv.instance(waiting_check).definition_version == 1
    drv.complete(waiting_draft, "draft", "pm1")
    assert open_rows(session, waiting_draft) == [("check2", "open")]
    [event] = events(drv, waiting_draft, "moved_version")
    assert (event.actor, event.reason) == ("admin", "v2 renames the check")
