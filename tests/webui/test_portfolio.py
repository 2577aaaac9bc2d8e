"""The portfolio (/portfolio) and the project page (/projects/<id>).

:func:`seed_records` builds a small portfolio through ``workflows.records`` (the same
functions the processes' glue calls); the risk, escalation, lessons and browser tests
reuse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask
from sqlalchemy.orm import Session

from engine.clock import ManualClock
from engine.store.uow import unit_of_work
from tests.support import instance_data
from tests.webui.conftest import login, one, parse_html
from tests.workflows.factories import escalation_data, proposal, risk_data
from webui.extensions import db
from workflows import records

INTERFACE_TEXT = "第三方接口联调花了三周, the <script>alert('x')</script> vendor API was late"


@dataclass(frozen=True)
class World:
    """Ids of what :func:`seed_records` made."""

    crm: int
    tower: int
    lake: int
    erp: int
    high_risk: int
    medium_risk: int
    low_risk: int
    escalation: int
    interface_lesson: int
    supplier_lesson: int
    draft_lesson: int


def seed_records(app: Flask, clock: ManualClock) -> World:
    """:func:`seed_session` in the app's database."""
    with app.app_context(), unit_of_work(db.session):
        return seed_session(db.session, clock)


def seed_session(s: Session, clock: ManualClock) -> World:
    """Four projects in four stages, three risks, one escalation, three lessons."""
    now = clock.now
    crm = records.propose_project(s, proposal(title="CRM replacement"), pm="pm1",
                                  now=now())
    records.approve_project(s, crm.id, actor="pmohead", now=now())
    records.set_stage(s, crm.id, "Executing", actor="pm1", now=now(),
                      reason="Kick-off held")
    tower = records.propose_project(s, proposal(
        title="Tower site 2", category="construction", sponsor="sponsor1",
        budget={"amount": "100000.00", "currency": "USD"}), pm="pm2", now=now())
    records.approve_project(s, tower.id, actor="pmohead", now=now())
    lake = records.propose_project(s, proposal(title="Data lake"), pm="pm1", now=now())
    erp = records.propose_project(s, proposal(title="Old ERP upgrade"), pm="pm2",
                                  now=now())
    records.reject_project(s, erp.id, actor="pmohead", now=now(),
                           reason="No business case left")
    high = records.raise_risk(s, crm.id, risk_data(), actor="pm1", now=now(), score=20,
                              level="high", levels_required=3)
    records.record_risk_review(s, high.id, level=1, reviewer="sponsor1",
                               outcome="approve", comment="Agreed", now=now())
    records.record_risk_review(s, high.id, level=2, reviewer="pmohead",
                               outcome="approve", comment="Fund the move", now=now())
    records.record_risk_review(s, high.id, level=3, reviewer="steer1",
                               outcome="approve", comment="Go", now=now())
    records.decide_risk(s, high.id, decision="Move tower 7", decided_by="steer1",
                        level=3, response_plan="Move the tower 30 m east.", now=now())
    medium = records.raise_risk(s, crm.id, risk_data(
        title="Supplier double-booked", category="supplier", probability=3, impact=3,
        urgent=False), actor="pm1", now=now(), score=9, level="medium",
        levels_required=2)
    low = records.raise_risk(s, tower.id, risk_data(
        title="Permit paperwork slow", category="schedule", probability=2, impact=2,
        urgent=False, owner="pm2"), actor="pm2", now=now(), score=4, level="low",
        levels_required=1)
    esc = records.raise_escalation(s, crm.id, escalation_data(
        affected_project_ids=[tower.id]), actor="pm1", now=now())
    records.record_escalation_decision(s, esc.id, decision="Crew goes to CRM first",
                                       decided_by="pmohead", level="pmo", now=now())
    clock.advance(hours=1)
    interface = records.add_lesson(s, crm.id, {
        "title": "Interface debugging", "category": "technical",
        "tags": "integration, vendor", "what_did_not": INTERFACE_TEXT,
        "recommendation": "Book the vendor's engineers for the 接口 tests early."},
        author="team1", now=now())
    clock.advance(hours=1)
    supplier = records.add_lesson(s, tower.id, {
        "title": "Shared crane supplier", "category": "supplier", "tags": ["supplier"],
        "what_went_well": "A shared schedule across sites cut idle days."},
        author="team2", now=now())
    clock.advance(hours=1)
    draft = records.add_lesson(s, crm.id, {
        "title": "Secret draft about 接口", "category": "process",
        "recommendation": "Not curated yet."}, author="team1", now=now())
    records.curate_lessons(s, publish_ids=[interface.id, supplier.id],
                           curator="reviewer1", now=now())
    return World(crm.id, tower.id, lake.id, erp.id, high.id, medium.id, low.id, esc.id,
                 interface.id, supplier.id, draft.id)


def ids(html: str, attribute: str = "data-project-id") -> list[int]:
    return [int(i) for i in re.findall(rf'{attribute}="(\d+)"', html)]


def test_portfolio_lists_projects_with_stage_counts(client, app, web_clock):
    w = seed_records(app, web_clock)
    login(client, "steer1")
    html = client.get("/portfolio").get_data(as_text=True)
    assert ids(html) == [w.erp, w.lake, w.tower, w.crm]
    doc = parse_html(html)
    counts = {a.get("data-testid"): a.xpath("string(.//span[@class='count'])")
              for a in doc.xpath("//*[@data-testid='stage-chips']//a")}
    assert counts["stage-all"] == "4" and counts["stage-Proposed"] == "1"
    assert counts["stage-Initiation"] == "1" and counts["stage-Executing"] == "1"
    assert counts["stage-Rejected"] == "1" and counts["stage-Closed"] == "0"
    assert "PRJ-2026-0001" in html and "Li Wei (PM)" in html and "Zhang Min (Sponsor)" in html
    # budgets in the reporting currency; USD 100,000 at the planning rate, shown beside it
    row = " ".join(one(parse_html(html), f"//tr[@data-project-id='{w.tower}']")
                   .text_content().split())
    assert "CN¥720,000 $100,000" in row
    assert 'data-testid="kpi-active">2<' in html
    assert "CN¥1,470,000" in " ".join(doc.xpath("string(//*[@data-testid='budget-total'])")
                                       .split())


def test_portfolio_filters_by_stage_pm_sponsor_and_text(client, app, web_clock):
    w = seed_records(app, web_clock)
    login(client, "steer1")
    assert ids(client.get("/portfolio?stage=Executing").get_data(as_text=True)) == [w.crm]
    html = client.get("/portfolio?pm=pm2").get_data(as_text=True)
    assert ids(html) == [w.erp, w.tower]
    chips = parse_html(html).xpath("//*[@data-testid='stage-Initiation']//span[@class='count']")
    assert chips[0].text == "1"  # counts follow the other filters
    assert ids(client.get("/portfolio?q=tower").get_data(as_text=True)) == [w.tower]
    assert ids(client.get("/portfolio?q=prj-2026-0001").get_data(as_text=True)) == [w.crm]
    assert ids(client.get("/portfolio?sponsor=nobody").get_data(as_text=True)) == []
    assert ids(client.get("/portfolio?q=100%25").get_data(as_text=True)) == []
    # an unknown stage is ignored, not an error
    assert len(ids(client.get("/portfolio?stage=Bogus").get_data(as_text=True))) == 4


def test_portfolio_pages(client, app, web_clock, monkeypatch):
    seed_records(app, web_clock)
    monkeypatch.setattr("webui.portfolio.PER_PAGE", 3)
    login(client, "steer1")
    first = client.get("/portfolio").get_data(as_text=True)
    second = client.get("/portfolio?page=2").get_data(as_text=True)
    assert len(ids(first)) == 3 and len(ids(second)) == 1
    assert "1–3 of 4" in first and 'rel="next"' in first
    assert not set(ids(first)) & set(ids(second))


def test_portfolio_needs_sign_in_and_is_empty_at_first(client):
    assert client.get("/portfolio").status_code == 302
    login(client, "team1")
    html = client.get("/portfolio").get_data(as_text=True)
    assert 'data-testid="portfolio-empty"' in html


def test_project_page_shows_record_history_and_related_records(client, app, web_clock):
    w = seed_records(app, web_clock)
    login(client, "steer1")
    response = client.get(f"/projects/{w.crm}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    doc = parse_html(html)
    assert doc.xpath("string(//*[@data-testid='project-code'])") == "PRJ-2026-0001"
    assert "The old CRM is out of support." in html and "Customer retention" in html
    changes = doc.xpath("//*[@data-testid='stage-change']")
    assert len(changes) == 3  # submitted, approved, executing (newest first)
    assert "Kick-off held" in changes[0].text_content()
    assert "Chen Jing (PMO head)" in changes[1].text_content()
    risks = doc.xpath("//*[@data-testid='project-risks']//tr[@data-testid='risk-row']")
    assert len(risks) == 2 and "Geological surprise on site" in risks[0].text_content()
    assert "Tower crane" not in html
    assert "Tower supplier serves three projects at once" in html
    lessons = doc.xpath("//*[@data-testid='lesson-item']")
    # the steering committee sees every project's lessons, unpublished ones too
    assert [x.xpath("string(.//a)") for x in lessons] == ["Secret draft about 接口",
                                                         "Interface debugging"]
    tower = client.get(f"/projects/{w.tower}").get_data(as_text=True)
    assert "Tower supplier serves three projects at once" in tower  # it names this project
    assert "USD" in tower


def test_project_page_lists_its_requests_with_links_only_where_allowed(client, arrange, app,
                                                                      web_clock):
    w = seed_records(app, web_clock)
    mine = arrange.start(actor="pm1", title="Change request for CRM", project_id=w.crm)
    arrange.start(actor="pm2", title="Other project's request", project_id=w.tower)
    login(client, "pm2")
    assert client.get(f"/projects/{w.crm}").status_code == 403  # need-to-know: not pm2's
    with app.app_context():  # a team member of the project sees it, and its requests
        from engine import identity
        from engine.store.uow import unit_of_work
        with unit_of_work(db.session):
            identity.grant_project_role(db.session, w.crm, "team2", "team")
    team = client.application.test_client()
    login(team, "team2")
    doc = parse_html(team.get(f"/projects/{w.crm}").get_data(as_text=True))
    rows = doc.xpath("//tr[@data-testid='request-row']")
    assert [int(r.get("data-instance-id")) for r in rows] == [mine.id]
    assert "Change request for CRM" in rows[0].text_content()
    assert rows[0].xpath(".//a/@href") == [f"/instances/{mine.id}"]
    assert "Check completeness" in rows[0].text_content()
    own = client.application.test_client()
    login(own, "pm1")
    doc = parse_html(own.get(f"/projects/{w.crm}").get_data(as_text=True))
    assert doc.xpath("//tr[@data-testid='request-row']//a/@href") == [f"/instances/{mine.id}"]


def test_project_page_shows_unpublished_lessons_to_the_pmo_only(client, app, web_clock):
    w = seed_records(app, web_clock)
    login(client, "reviewer1")
    html = client.get(f"/projects/{w.crm}").get_data(as_text=True)
    assert "Secret draft" in html and "Unpublished" in html


def test_unknown_project_is_404(client):
    login(client, "pm1")
    response = client.get("/projects/999")
    assert response.status_code == 404
    assert "No project with id 999." in response.get_data(as_text=True)


def test_portfolio_in_chinese(client, app, web_clock):
    w = seed_records(app, web_clock)
    login(client, "pm1")
    client.post("/language", data={"lang": "zh", "csrf_token": _token(client)})
    html = client.get("/portfolio").get_data(as_text=True)
    assert "项目组合" in html and "执行" in html and "预算" in html
    page = client.get(f"/projects/{w.crm}").get_data(as_text=True)
    assert "阶段变更" in page and "风险" in page


def _token(client) -> str:
    from tests.webui.conftest import csrf_token

    return csrf_token(client, "/")


# --------------------------------------------------------------------------- project picker

PICKER_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="Defs_picker" targetNamespace="http://pmoflow.example/webui-test">
  <bpmn:process id="picker" name="Project note" isExecutable="true">
    <!-- the start event is in no lane: anyone may start it -->
    <bpmn:laneSet id="LaneSet_p">
      <bpmn:lane id="Lane_p_rev" name="pmo_reviewer">
        <bpmn:flowNodeRef>p_read</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>p_end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="p_start" name="Note written">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="picker-start.schema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:outgoing>pf1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="p_read" name="Read the note">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="picker-read.schema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>pf1</bpmn:incoming>
      <bpmn:outgoing>pf2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="p_end"><bpmn:incoming>pf2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="pf1" sourceRef="p_start" targetRef="p_read"/>
    <bpmn:sequenceFlow id="pf2" sourceRef="p_read" targetRef="p_end"/>
  </bpmn:process>
</bpmn:definitions>
"""
PICKER_START = {
    "type": "object", "required": ["project_id", "title"],
    "properties": {
        "project_id": {"type": "integer", "minimum": 1, "x-widget": "project",
                       "title": "Project", "x-title-zh": "项目"},
        "title": {"type": "string", "minLength": 1, "title": "Title"},
    },
}
PICKER_READ = {
    "type": "object",
    "properties": {"project_id": {"type": "integer", "x-widget": "project", "readOnly": True,
                                  "title": "Project"},
                   "comment": {"type": "string", "title": "Comment"}},
}


def deploy_picker(app: Flask) -> None:
    import json

    from engine.spiff.bundle import SourceFile

    with app.app_context():
        app.extensions["pmoflow"].engine.deploy(db.session, [
            SourceFile("picker.bpmn", PICKER_BPMN),
            SourceFile("forms/picker-start.schema.json", json.dumps(PICKER_START).encode()),
            SourceFile("forms/picker-read.schema.json", json.dumps(PICKER_READ).encode()),
        ], "owner1")


def picker_options(html: str) -> list[tuple[str, str]]:
    doc = parse_html(html)
    return [(o.get("value"), o.text_content()) for o in doc.xpath(
        "//select[@name='project_id']/option") if o.get("value")]


def test_project_picker_offers_running_projects_and_round_trips_the_id(client, app, arrange,
                                                                       web_clock):
    from tests.webui.conftest import post

    w = seed_records(app, web_clock)
    deploy_picker(app)
    login(client, "pmohead")  # the PMO may pick any running project
    html = client.get("/processes/picker/start").get_data(as_text=True)
    assert picker_options(html) == [(str(w.crm), "PRJ-2026-0001 — CRM replacement"),
                                    (str(w.tower), "PRJ-2026-0002 — Tower site 2")]
    response = post(client, "/processes/picker/start",
                    {"project_id": str(w.tower), "title": "Crane note"}, token_from="/")
    assert response.status_code == 302
    inst_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        data = instance_data(app.extensions["pmoflow"].engine, db.session, inst_id)
    assert data["project_id"] == w.tower and isinstance(data["project_id"], int)
    # the next step shows the chosen project (read-only) by code and title, everywhere
    task = arrange.task(inst_id)
    other = client.application.test_client()
    login(other, "reviewer1")
    doc = parse_html(other.get(f"/tasks/{task.id}").get_data(as_text=True))
    shown = doc.xpath("//*[@id='f-project_id']")[0].text_content().strip()
    assert shown == "PRJ-2026-0002 — Tower site 2"
    assert not doc.xpath("//select[@id='f-project_id']")
    # shown once: the form has it, so the request summary beside it does not repeat it
    assert not doc.xpath("//*[@data-testid='summary']//dd[@data-field='project_id']")


def test_project_picker_offers_a_pm_their_own_running_projects(client, app, web_clock):
    from engine import identity

    w = seed_records(app, web_clock)
    deploy_picker(app)
    with app.app_context(), unit_of_work(db.session):
        identity.grant_project_role(db.session, w.tower, "team1", "team")
    login(client, "pm1")
    assert [v for v, _ in picker_options(client.get("/processes/picker/start").get_data(
        as_text=True))] == [str(w.crm)]  # not the proposed Data lake, not pm2's tower
    team = client.application.test_client()
    login(team, "team1")
    assert [v for v, _ in picker_options(team.get("/processes/picker/start").get_data(
        as_text=True))] == [str(w.tower)]


def test_project_picker_keeps_a_bad_choice_and_reports_it(client, app, web_clock):
    from tests.webui.conftest import post

    seed_records(app, web_clock)
    deploy_picker(app)
    login(client, "pmohead")
    response = post(client, "/processes/picker/start", {"project_id": "", "title": "x"},
                    token_from="/")
    assert response.status_code == 422
    assert 'data-error-for="project_id"' in response.get_data(as_text=True)
