"""`/api/v1/incidents` and the ops actions: PMO administrator only (403 problem), a stale
revision is a 409 problem saying what changed, bad input a 422 naming the field or
element, each action as documented."""

from __future__ import annotations

from sqlalchemy import update

from engine.store.models import HumanTask
from webui.extensions import db


def test_others_get_a_403_problem(arrange, as_user):
    iid = arrange.start().id
    reviewer = as_user("reviewer1")
    for path, body in ((f"/api/v1/instances/{iid}/suspend", {"reason": "x"}),
                       (f"/api/v1/instances/{iid}/move-token",
                        {"from_element": "review", "to_element": "approve", "reason": "x"}),
                       ("/api/v1/instances/migrate",
                        {"instance_ids": [iid], "definition_id": 1, "reason": "x"})):
        answer = reviewer.post(path, json=body)
        assert answer.status_code == 403, path
        assert answer.mimetype == "application/problem+json"
        assert answer.get_json()["code"] == "access.admin_only"
    assert reviewer.get("/api/v1/incidents").status_code == 403
    assert reviewer.get("/api/v1/ops/instances").status_code == 403


def test_suspend_with_a_stale_revision_is_a_409_saying_what_changed(arrange, as_user):
    iid = arrange.start().id
    admin = as_user("admin")
    [row] = admin.get(f"/api/v1/ops/instances?q={iid}").get_json()["items"]
    seen = row["revision"]
    arrange.complete(arrange.task(iid, "review").id, "reviewer1", {"decision": "accept"})
    stale = admin.post(f"/api/v1/instances/{iid}/suspend",
                       json={"reason": "freeze", "revision": seen})
    assert stale.status_code == 409
    problem = stale.get_json()
    assert problem["code"] == "ops.instance_moved_on" and problem["type"].endswith("/conflict")
    assert "reviewer1" in problem["detail"] and "Approve" in problem["detail"]
    done = admin.post(f"/api/v1/instances/{iid}/suspend",
                      json={"reason": "freeze", "revision": seen + 1})
    assert done.status_code == 200 and done.get_json()["status"] == "suspended"
    listed = admin.get("/api/v1/ops/instances?status=suspended").get_json()
    assert [r["id"] for r in listed["items"]] == [iid]
    back = admin.post(f"/api/v1/instances/{iid}/resume", json={})
    assert back.get_json()["status"] == "running"


def test_move_token_bad_input_and_success(arrange, as_user):
    iid = arrange.start().id
    admin = as_user("admin")
    missing = admin.post(f"/api/v1/instances/{iid}/move-token",
                         json={"from_element": "review", "to_element": "nowhere",
                               "reason": "skip"})
    assert missing.status_code == 422
    [error] = missing.get_json()["errors"]
    assert error["field"] == "to_element" and error["code"] == "ops.step_unknown"
    assert "nowhere" in error["message"]
    no_reason = admin.post(f"/api/v1/instances/{iid}/move-token",
                           json={"from_element": "review", "to_element": "approve",
                                 "reason": ""})
    assert no_reason.status_code == 422
    assert no_reason.get_json()["errors"][0]["code"] == "input.reason_required"
    moved = admin.post(f"/api/v1/instances/{iid}/move-token",
                       json={"from_element": "review", "to_element": "approve",
                             "reason": "checked by phone"})
    assert moved.status_code == 200 and moved.get_json()["detail"] == {
        "from": "review", "to": "approve"}
    assert [t.element_id for t in arrange.tasks(iid, "open")] == ["approve"]
    cancelled = admin.post(f"/api/v1/instances/{iid}/cancel", json={"reason": "duplicate"})
    assert cancelled.get_json()["status"] == "cancelled"
    late = admin.post(f"/api/v1/instances/{iid}/suspend", json={"reason": "late"})
    assert late.status_code == 409 and late.get_json()["code"] == "instance.not_running"


def test_incidents_list_get_and_retry(app, arrange, as_user):
    iid = arrange.start().id
    task = arrange.task(iid, "review")
    with app.app_context():
        db.session.execute(update(HumanTask).where(HumanTask.id == task.id)
                           .values(status="completed", completed_by="nobody"))
        db.session.commit()
        arrange.engine.doctor(db.session)
    admin = as_user("admin")
    listed = admin.get("/api/v1/incidents").get_json()
    [incident] = listed["items"]
    assert listed["total"] == 1 and incident["instance_id"] == iid
    assert incident["kind"] == "task_row_missing" and incident["element_name"]
    assert admin.get(f"/api/v1/incidents/{incident['id']}").get_json() == incident
    assert admin.get("/api/v1/incidents/999999").status_code == 404
    retried = admin.post(f"/api/v1/incidents/{incident['id']}/retry",
                         json={"reason": "inbox lost it"})
    assert retried.status_code == 200 and retried.get_json()["detail"]["resolved"] == [
        incident["id"]]
    assert admin.get("/api/v1/incidents").get_json()["items"] == []
    again = admin.post(f"/api/v1/incidents/{incident['id']}/retry", json={})
    assert again.status_code == 409 and again.get_json()["code"] == "incident.not_open"
    assert [t.element_id for t in arrange.tasks(iid, "open")] == ["review"]
