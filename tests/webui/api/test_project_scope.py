"""Project-scoped roles over the API: the sponsor of one project reviews its risks; the
sponsor of another project may not (the shipped risk review process, demo projects)."""

from __future__ import annotations

from engine import identity
from engine.store.uow import unit_of_work
from tests.webui.api.conftest import assert_problem
from webui.extensions import db
from workflows import records


def test_sponsor_of_another_project_may_not_take_the_review(pmo_app, pmo_as):
    with pmo_app.app_context():
        projects, _ = records.list_projects(db.session, pm="pm1")
        mine, other = projects[0], next(
            p for p in records.list_projects(db.session)[0] if p.id != projects[0].id)
        with unit_of_work(db.session):
            identity.create_user(db.session, "sponsor2", now=pmo_app.extensions[
                "pmoflow"].engine.clock.now(), roles=[])
            identity.grant_project_role(db.session, other.id, "sponsor2", "sponsor")
    pm = pmo_as("pm1")
    started = pm.post("/api/v1/processes/risk_review/instances", json={"data": {
        "project_id": mine.id, "title": "Crane shortage", "description": "Two cranes only.",
        "category": "resource", "probability": 2, "impact": 2, "response": "mitigate",
        "contingency": "Rent one.", "owner": "pm1"}})
    assert started.status_code == 201, started.get_json()
    task = started.get_json()["tasks"][0]
    full = pm.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert (full["role"], full["project_id"]) == ("sponsor", mine.id)
    outsider = pmo_as("sponsor2")
    assert outsider.get("/api/v1/tasks?scope=claimable").get_json()["total"] == 0
    body = assert_problem(outsider.post(f"/api/v1/tasks/{task['id']}/claim"), 403, "forbidden")
    assert "sponsor" in body["detail"]
    assert_problem(outsider.post(f"/api/v1/tasks/{task['id']}/complete",
                                 json={"decision": "approve"}), 403, "forbidden")
    sponsor = pmo_as("sponsor1")
    claimable = sponsor.get("/api/v1/tasks?scope=claimable").get_json()["items"]
    assert task["id"] in [t["id"] for t in claimable]
    claimed = sponsor.post(f"/api/v1/tasks/{task['id']}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "sponsor1"
