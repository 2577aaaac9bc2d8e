"""Task work over the API, and each permission rule the UI keeps: roles, four eyes,
delegation, 409 when someone else holds or finished a task, 422 per field."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import identity
from engine.store.models import AuditEvent, HumanTask
from engine.store.uow import unit_of_work
from tests.webui.api.conftest import assert_problem
from webui.extensions import db

PROPOSAL = {"title": "Tower upgrade", "budget": 1200}


def start(caller, data=None, **kw):
    response = caller.post("/api/v1/processes/approval3/instances",
                           json={"data": data or PROPOSAL, **kw})
    assert response.status_code == 201, response.get_json()
    return response


def test_processes_list_what_i_may_start_with_the_start_form_schema(as_user):
    pm = as_user("pm1")
    found = pm.get("/api/v1/processes").get_json()
    keys = {p["key"]: p for p in found["items"]}
    assert "approval3" in keys and found["total"] == len(found["items"])
    schema = keys["approval3"]["start_form_schema"]
    assert schema["required"] == ["title", "budget"]
    one = pm.get("/api/v1/processes/approval3").get_json()
    assert one["start_form_schema"] == schema and one["version"] >= 1
    assert_problem(pm.get("/api/v1/processes/nope"), 404, "not-found")


def test_start_gives_201_with_the_instance_and_its_location(as_user, arrange):
    response = start(as_user("pm1"), business_key="BK-1")
    body = response.get_json()
    assert body["status"] == "running" and body["title"] == "Tower upgrade"
    assert response.headers["Location"] == f"/api/v1/instances/{body['id']}"
    assert [(t["name"], t["status"]) for t in body["tasks"]] == [("Check completeness", "open")]
    assert arrange.task(body["id"]).role == "pmo_reviewer"


def test_start_errors_are_per_field_422(as_user):
    pm = as_user("pm1")
    response = pm.post("/api/v1/processes/approval3/instances",
                       json={"data": {"title": "", "budget": "lots"}})
    body = assert_problem(response, 422, "invalid-data")
    fields = {e["field"] for e in body["errors"]}
    assert {"title", "budget"} <= fields and all(e["code"] and e["message"]
                                                  for e in body["errors"])
    by_field = {e["field"]: e for e in body["errors"]}
    assert body["code"] == "invalid_data"
    assert (by_field["title"]["code"], by_field["title"]["params"]["field"]) == (
        "form.required", "title")
    assert by_field["budget"]["code"] == "form.type"
    assert by_field["budget"]["params"]["expected"] in ("number", "integer")
    unknown = pm.post("/api/v1/processes/approval3/instances", json={"data": {}, "extra": 1})
    body = assert_problem(unknown, 422, "invalid-data")
    assert body["errors"] == [{"field": "extra", "in": "json", "code": "unknown_field",
                               "message": "Unknown field."}]
    wrong = pm.post("/api/v1/processes/approval3/instances", json={"data": [1], "title": 5})
    fields = {e["field"] for e in assert_problem(wrong, 422, "invalid-data")["errors"]}
    assert fields == {"data", "title"}


def test_start_needs_the_start_role(as_user):
    assert_problem(as_user("steer1").post("/api/v1/processes/approval3/instances",
                                          json={"data": PROPOSAL}), 403, "forbidden")


def test_inbox_mine_and_claimable_filtered_and_paged_with_link_header(as_user, arrange):
    for i in range(3):
        arrange.start(data={"title": f"P{i}", "budget": i}, title=f"P{i}")
    reviewer = as_user("reviewer1")
    assert reviewer.get("/api/v1/tasks?scope=mine").get_json()["total"] == 0
    first = reviewer.get("/api/v1/tasks?scope=claimable&limit=2&sort=created")
    body = first.get_json()
    assert body["total"] == 3 and body["offset"] == 0 and body["limit"] == 2
    assert [t["instance_title"] for t in body["items"]] == ["P0", "P1"]
    link = first.headers["Link"]
    assert 'rel="next"' in link and "offset=2" in link and "scope=claimable" in link
    nxt = link.split(";")[0].strip("<>").replace("http://localhost", "")
    second = reviewer.get(nxt)
    assert [t["instance_title"] for t in second.get_json()["items"]] == ["P2"]
    assert 'rel="prev"' in second.headers["Link"] and 'rel="next"' not in second.headers["Link"]
    assert reviewer.get("/api/v1/tasks?scope=claimable&process=widgets").get_json()["total"] == 0
    assert as_user("pmohead").get("/api/v1/tasks?scope=claimable").get_json()["total"] == 0
    bad = reviewer.get("/api/v1/tasks?scope=all&limit=0&bogus=1")
    fields = {e["field"] for e in assert_problem(bad, 422, "invalid-data")["errors"]}
    assert fields == {"scope", "limit", "bogus"}


def test_one_task_has_its_form_schema_data_and_who_may_act(as_user, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    body = as_user("reviewer1").get(f"/api/v1/tasks/{task.id}").get_json()
    assert body["name"] == "Check completeness" and body["form"]
    assert body["form_schema"]["required"] == ["decision"]
    assert body["may_act"]["role"] == "pmo_reviewer" and body["may_act"]["you"] is True
    assert body["may_act"]["can_claim"] is True and "reviewer1" in body["may_act"]["candidates"]
    assert body["four_eyes"] is True
    assert_problem(as_user("team3").get(f"/api/v1/tasks/{task.id}"), 403, "forbidden")
    assert_problem(as_user("pm1").get("/api/v1/tasks/999999"), 404, "not-found")


def test_claim_then_409_for_the_next_one_saying_who_holds_it(as_user, arrange, app):
    arrange.add_user("reviewer2", "pmo_reviewer")
    inst = arrange.start()
    task = arrange.task(inst.id)
    claimed = as_user("reviewer1").post(f"/api/v1/tasks/{task.id}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "reviewer1"
    again = as_user("reviewer2").post(f"/api/v1/tasks/{task.id}/claim")
    body = assert_problem(again, 409, "conflict")
    assert body["task"]["assignee"] == "reviewer1" and "reviewer1" in body["detail"]
    assert body["code"] == "task.claimed_by_other"
    assert body["params"] == {"task_id": task.id, "user": "reviewer1"}
    assert arrange.task(inst.id).assignee == "reviewer1"
    back = as_user("reviewer1").post(f"/api/v1/tasks/{task.id}/unclaim")
    assert back.status_code == 200 and back.get_json()["assignee"] is None
    assert_problem(as_user("reviewer2").post(f"/api/v1/tasks/{task.id}/unclaim"), 403,
                   "forbidden")


def test_wrong_role_may_neither_claim_nor_complete(as_user, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    head = as_user("pmohead")
    assert_problem(head.post(f"/api/v1/tasks/{task.id}/claim"), 403, "forbidden")
    body = assert_problem(head.post(f"/api/v1/tasks/{task.id}/complete",
                                    json={"decision": "accept"}), 403, "forbidden")
    assert body["code"] == "access.role_missing" and body["params"]["role"] == "pmo_reviewer"
    assert "PMO reviewer" in body["detail"]
    assert arrange.task(inst.id).status == "open"


def test_four_eyes_nobody_reviews_what_they_submitted(as_user, arrange):
    arrange.add_user("pmrev", "pm", "pmo_reviewer")
    both = as_user("pmrev")
    inst = start(both).get_json()
    task = inst["tasks"][0]
    body = assert_problem(both.post(f"/api/v1/tasks/{task['id']}/complete",
                                    json={"decision": "accept"}), 403, "forbidden")
    assert body["code"] == "access.four_eyes" and "Four-eyes" in body["detail"]
    assert body["params"]["own"] is True
    assert_problem(both.post(f"/api/v1/tasks/{task['id']}/claim"), 403, "forbidden")
    view = both.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert view["may_act"]["you"] is False and "Four-eyes" in view["may_act"]["why_not"]
    assert view["may_act"]["why_not_code"] == "access.four_eyes"
    zh = both.get(f"/api/v1/tasks/{task['id']}", headers={"Accept-Language": "zh"})
    assert zh.get_json()["may_act"]["why_not"] == "四眼原则：此申请由您提交，须由他人审核。"
    assert "pmrev" not in view["may_act"]["candidates"]
    assert view["may_act"]["handover"] == []  # who may not act hands nothing over
    # the inbox agrees with the check: the own review is not offered as claimable
    listed = both.get("/api/v1/tasks?scope=claimable").get_json()["items"]
    assert task["id"] not in [t["id"] for t in listed]
    other = as_user("reviewer1").get(f"/api/v1/tasks/{task['id']}").get_json()["may_act"]
    assert other["you"] is True and other["handover"] == []  # nobody else may do it


def test_complete_422_per_field_then_200_then_409_for_the_late_one(as_user, arrange):
    arrange.add_user("reviewer2", "pmo_reviewer")
    inst = arrange.start()
    task = arrange.task(inst.id)
    reviewer = as_user("reviewer1")
    bad = reviewer.post(f"/api/v1/tasks/{task.id}/complete", json={"decision": "maybe"})
    body = assert_problem(bad, 422, "invalid-data")
    assert "decision" in [e["field"] for e in body["errors"]]
    rework = reviewer.post(f"/api/v1/tasks/{task.id}/complete", json={"decision": "rework"})
    assert [e["field"] for e in assert_problem(rework, 422, "invalid-data")["errors"]] == [
        "comment"]
    done = reviewer.post(f"/api/v1/tasks/{task.id}/complete", json={"decision": "accept"})
    assert done.status_code == 200
    after = done.get_json()
    assert after["id"] == inst.id and [t["name"] for t in after["tasks"]] == ["Approve"]
    late = as_user("reviewer2").post(f"/api/v1/tasks/{task.id}/complete",
                                     json={"decision": "accept"})
    body = assert_problem(late, 409, "conflict")
    assert body["task"]["completed_by"] == "reviewer1" and body["task"]["status"] == "completed"
    assert body["code"] == "task.already_completed"


def test_complete_takes_only_a_json_object(as_user, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    reviewer = as_user("reviewer1")
    assert_problem(reviewer.post(f"/api/v1/tasks/{task.id}/complete", json=[1, 2]), 422,
                   "invalid-data")
    assert_problem(reviewer.post(f"/api/v1/tasks/{task.id}/complete", data="{nope",
                                 content_type="application/json"), 400, "malformed-json")
    assert_problem(reviewer.post(f"/api/v1/tasks/{task.id}/complete", data="decision=accept",
                                 content_type="application/x-www-form-urlencoded"), 415,
                   "unsupported-media-type")
    assert arrange.task(inst.id).status == "open"


def test_delegate_hands_over_with_a_reason_and_validates_its_body(as_user, arrange):
    arrange.add_user("reviewer2", "pmo_reviewer")
    inst = arrange.start()
    task = arrange.task(inst.id)
    reviewer = as_user("reviewer1")
    url = f"/api/v1/tasks/{task.id}/delegate"
    missing = assert_problem(reviewer.post(url, json={"to": "reviewer2"}), 422, "invalid-data")
    assert [(e["field"], e["code"]) for e in missing["errors"]] == [("reason", "required")]
    assert_problem(reviewer.post(url, json={"to": "reviewer2", "reason": "x", "cc": "y"}), 422,
                   "invalid-data")
    assert_problem(reviewer.post(url, json={"to": 7, "reason": "x"}), 422, "invalid-data")
    nobody = assert_problem(reviewer.post(url, json={"to": "ghost", "reason": "away"}), 422,
                            "invalid-data")
    assert nobody["errors"][0]["field"] == "to"
    assert_problem(as_user("steer1").post(url, json={"to": "reviewer2", "reason": "x"}), 403,
                   "forbidden")
    done = reviewer.post(url, json={"to": "reviewer2", "reason": "On leave"})
    assert done.status_code == 200 and done.get_json()["assignee"] == "reviewer2"
    with arrange.app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "delegated"))
        assert (event.actor, event.reason) == ("reviewer1", "On leave")


def test_a_delegate_acts_for_the_delegator(as_user, arrange, web_clock):
    inst = arrange.start()
    task = arrange.task(inst.id)
    arrange.claim(task.id, "reviewer1")
    with arrange.app.app_context(), unit_of_work(db.session):
        identity.add_delegation(db.session, "reviewer1", "team1", web_clock.now(),
                                web_clock.now() + timedelta(days=5), "holiday",
                                web_clock.now())
    deputy = as_user("team1")
    mine = deputy.get("/api/v1/tasks?scope=mine").get_json()
    assert [t["id"] for t in mine["items"]] == [task.id]
    done = deputy.post(f"/api/v1/tasks/{task.id}/complete", json={"decision": "accept"})
    assert done.status_code == 200
    with arrange.app.app_context():
        row = db.session.get(HumanTask, task.id)
        assert (row.completed_by, row.on_behalf_of) == ("team1", "reviewer1")


def test_reassign_is_for_the_pmo_admin(as_user, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    arrange.add_user("reviewer2", "pmo_reviewer")
    body = {"to": "reviewer2", "reason": "Urgent"}
    assert_problem(as_user("reviewer1").post(f"/api/v1/tasks/{task.id}/reassign", json=body),
                   403, "forbidden")
    # not even an administrator hands a step to someone who could not do it
    no_role = as_user("admin").post(f"/api/v1/tasks/{task.id}/reassign",
                                    json={"to": "pmohead", "reason": "Urgent"})
    assert_problem(no_role, 403, "forbidden")
    assert no_role.get_json()["code"] == "access.handover_not_eligible"
    done = as_user("admin").post(f"/api/v1/tasks/{task.id}/reassign", json=body)
    assert done.status_code == 200 and done.get_json()["assignee"] == "reviewer2"
    # an administrator's override: with a reason, audited with why the rule refused
    assert_problem(as_user("reviewer1").post(f"/api/v1/tasks/{task.id}/reassign", json={
        "to": "pmohead", "reason": "Urgent", "override": True}), 403, "forbidden")
    forced = as_user("admin").post(f"/api/v1/tasks/{task.id}/reassign",
                                   json={"to": "pmohead", "reason": "Only one left",
                                         "override": True})
    assert forced.status_code == 200 and forced.get_json()["assignee"] == "pmohead"
    history = as_user("admin").get(f"/api/v1/instances/{inst.id}").get_json()["history"]
    [event] = [e for e in history if e["kind"] == "reassigned" and e["detail"].get("override")]
    assert event["reason"] == "Only one left" and event["detail"]["to"] == "pmohead"


def test_instance_has_status_open_tasks_and_history_for_those_who_may_see_it(as_user, arrange):
    pm = as_user("pm1")
    inst = start(pm).get_json()
    task = arrange.task(inst["id"])
    arrange.complete(task.id, "reviewer1", {"decision": "accept"})
    body = pm.get(f"/api/v1/instances/{inst['id']}").get_json()
    assert body["status"] == "running" and body["data"]["title"] == "Tower upgrade"
    assert [(t["name"], t["status"]) for t in body["tasks"]] == [("Approve", "open")]
    assert all(isinstance(t["id"], int) for t in body["tasks"])
    kinds = [h["kind"] for h in body["history"]]
    assert kinds[0] == "started" and "task_completed" in kinds
    assert_problem(as_user("team3").get(f"/api/v1/instances/{inst['id']}"), 403, "forbidden")
    mine = pm.get("/api/v1/instances?status=running").get_json()
    assert [r["id"] for r in mine["items"]] == [inst["id"]]


def test_withdraw_is_for_the_starter_with_a_reason(as_user):
    pm = as_user("pm1")
    inst = start(pm).get_json()
    url = f"/api/v1/instances/{inst['id']}/withdraw"
    assert_problem(as_user("pm2").post(url, json={"reason": "x"}), 403, "forbidden")
    assert_problem(pm.post(url, json={}), 422, "invalid-data")
    done = pm.post(url, json={"reason": "Duplicate"})
    assert done.status_code == 200 and done.get_json()["status"] == "cancelled"
    assert_problem(pm.post(url, json={"reason": "again"}), 409, "conflict")


def test_complete_with_json_null_is_422_and_without_a_body_uses_no_data(as_user, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    reviewer = as_user("reviewer1")
    assert_problem(reviewer.post(f"/api/v1/tasks/{task.id}/complete", data="null",
                                 content_type="application/json"), 422, "invalid-data")
    empty = reviewer.post(f"/api/v1/tasks/{task.id}/complete")
    body = assert_problem(empty, 422, "invalid-data")
    assert "decision" in [e["field"] for e in body["errors"]]


def test_problems_are_said_in_the_language_asked_for_with_stable_codes(as_user, arrange):
    arrange.add_user("reviewer2", "pmo_reviewer")
    task = arrange.task(arrange.start().id)
    as_user("reviewer1").post(f"/api/v1/tasks/{task.id}/claim")
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    body = assert_problem(as_user("reviewer2").post(f"/api/v1/tasks/{task.id}/claim",
                                                    headers=zh), 409, "conflict")
    assert body["code"] == "task.claimed_by_other"
    assert body["detail"] == f"任务 {task.id} 已被 reviewer1 认领。"
    bad = as_user("pm1").post("/api/v1/processes/approval3/instances",
                              json={"data": {"title": "", "budget": -5}}, headers=zh)
    body = assert_problem(bad, 422, "invalid-data")
    by_field = {e["field"]: e for e in body["errors"]}
    assert by_field["title"]["message"] == "此项为必填项。"
    assert by_field["budget"] == {"field": "budget", "code": "form.minimum",
                                  "params": {"limit": 0, "field": "budget",
                                             "pointer": "/budget"},
                                  "message": "不能小于 0。"}
