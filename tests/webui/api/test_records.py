"""PMO records over the API (read, search) and deployments (process owners only)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest

from tests.webui.api.conftest import assert_problem
from tests.webui.test_portfolio import seed_records

PROCESSES = Path(__file__).resolve().parents[2] / "engine" / "processes"


@pytest.fixture
def world(app, web_clock):
    return seed_records(app, web_clock)


def test_projects_list_search_and_one(as_user, world):
    mine = as_user("pm2").get("/api/v1/projects").get_json()  # need-to-know: pm2's own
    assert mine["total"] == 2 and {p["id"] for p in mine["items"]} == {world.tower, world.erp}
    assert as_user("pm2").get(f"/api/v1/projects/{world.crm}").status_code == 403
    pm = as_user("steer1")
    every = pm.get("/api/v1/projects").get_json()
    assert every["total"] == 4 and {p["id"] for p in every["items"]} == {
        world.crm, world.tower, world.lake, world.erp}
    crm = pm.get(f"/api/v1/projects/{world.crm}").get_json()
    assert crm["title"] == "CRM replacement" and crm["budget"]["amount"].count(".") == 1
    found = pm.get("/api/v1/projects?q=CRM").get_json()["items"]
    assert [p["id"] for p in found] == [world.crm]
    assert_problem(pm.get("/api/v1/projects?stage=Nowhere"), 422, "invalid-data")
    assert_problem(pm.get("/api/v1/projects/999999"), 404, "not-found")


def test_risks_by_score_with_filters(as_user, world):
    own = [r["id"] for r in as_user("pm1").get("/api/v1/risks").get_json()["items"]]
    assert own == [world.high_risk, world.medium_risk]  # need-to-know: pm1's projects
    assert as_user("pm1").get(f"/api/v1/risks/{world.low_risk}").status_code == 403
    pm = as_user("steer1")
    ids = [r["id"] for r in pm.get("/api/v1/risks").get_json()["items"]]
    assert ids == [world.high_risk, world.medium_risk, world.low_risk]
    high = pm.get("/api/v1/risks?level=high").get_json()["items"]
    assert [r["id"] for r in high] == [world.high_risk] and high[0]["decided_by"] == "steer1"
    one = pm.get(f"/api/v1/risks/{world.high_risk}").get_json()
    assert one["level"] == "high" and isinstance(one["reviews"], list)


def test_escalations_read(as_user, world):
    pm = as_user("pm2")
    log = pm.get("/api/v1/escalations").get_json()
    assert [e["id"] for e in log["items"]] == [world.escalation]
    assert pm.get(f"/api/v1/escalations/{world.escalation}").get_json()["id"] == world.escalation


def test_lessons_search_in_chinese_and_only_the_pmo_sees_drafts(as_user, world):
    pm = as_user("pm1")
    published = [x["id"] for x in pm.get("/api/v1/lessons").get_json()["items"]]
    assert published == [world.supplier_lesson, world.interface_lesson]
    found = pm.get("/api/v1/lessons?q=接口").get_json()["items"]
    assert [x["id"] for x in found] == [world.interface_lesson]
    assert [x["id"] for x in pm.get("/api/v1/lessons?all=true").get_json()["items"]] == published
    assert pm.get(f"/api/v1/lessons/{world.draft_lesson}").status_code == 200  # its PM
    other = as_user("pm2")  # need-to-know: an unpublished lesson of someone else's project
    assert other.get(f"/api/v1/lessons/{world.draft_lesson}").status_code == 403
    assert_problem(pm.get("/api/v1/lessons/999999"), 404, "not-found")
    pmo = as_user("reviewer1")
    every = [x["id"] for x in pmo.get("/api/v1/lessons?all=true").get_json()["items"]]
    assert world.draft_lesson in every
    assert pmo.get(f"/api/v1/lessons/{world.draft_lesson}").status_code == 200


def test_lessons_carry_their_read_counts(app, as_user, world, web_clock):
    from engine.store.uow import unit_of_work
    from webui.extensions import db
    from workflows import records

    with app.app_context(), unit_of_work(db.session):
        for who in ("pm1", "pm2"):
            records.record_read(db.session, world.interface_lesson, who, web_clock.now())
    pm = as_user("pm1")
    items = {x["id"]: x["reads"] for x in pm.get("/api/v1/lessons").get_json()["items"]}
    assert items == {world.interface_lesson: 2, world.supplier_lesson: 0}
    one = pm.get(f"/api/v1/lessons/{world.interface_lesson}").get_json()
    assert one["reads"] == 2  # reading over the API counts no read
    assert pm.get(f"/api/v1/lessons/{world.interface_lesson}").get_json()["reads"] == 2


def _files(*names: str) -> list:
    return [(BytesIO((PROCESSES / name).read_bytes()), name) for name in names]


def test_validate_and_deploy_are_for_process_owners(as_user):
    files = ["approval3.bpmn", "forms/approval3-start.schema.json",
             "forms/approval3-review.schema.json"]
    pm = as_user("pm1")
    assert_problem(pm.post("/api/v1/deployments", data={"files": _files(*files)}), 403,
                   "forbidden")
    owner = as_user("owner1")
    checked = owner.post("/api/v1/deployments/validate", data={"files": _files(*files)})
    assert checked.status_code == 200 and checked.get_json() == {"valid": True, "problems": []}
    same = owner.post("/api/v1/deployments", data={"files": _files(*files)})
    assert same.status_code == 201 and same.get_json()["unchanged"] == ["approval3"]


def test_deploy_lists_every_problem_with_file_line_and_element(as_user):
    broken = (PROCESSES / "approval3.bpmn").read_bytes().replace(
        b'name="pmo_reviewer"', b'name="no_such_role"').replace(
        b"approval3-review.schema.json", b"missing.schema.json", 1)
    owner = as_user("owner1")
    response = owner.post("/api/v1/deployments",
                          data={"files": [(BytesIO(broken), "approval3.bpmn")]})
    body = assert_problem(response, 422, "invalid-diagram")
    assert len(body["problems"]) >= 2
    assert all(p["file"] == "approval3.bpmn" for p in body["problems"])
    assert any(p["element_id"] == "review" for p in body["problems"])
    assert any(p["line"] for p in body["problems"])
    checked = owner.post("/api/v1/deployments/validate",
                         data={"files": [(BytesIO(broken), "approval3.bpmn")]}).get_json()
    assert checked["valid"] is False and len(checked["problems"]) == len(body["problems"])
    none = owner.post("/api/v1/deployments", data={})
    assert_problem(none, 422, "invalid-data")
    as_json = owner.post("/api/v1/deployments", json={"files": []})
    assert_problem(as_json, 415, "unsupported-media-type")
