"""`/api/v1/decisions` on the demo database: read, test, what-if and publish the approval
routing as the PMO admin; 403 for everyone else on every endpoint."""

from __future__ import annotations

from io import BytesIO

import pytest

from tests.webui.api.conftest import assert_problem
from webui.extensions import db

KEY = "approval_routing"
ACCEPT = {"decision": "accept", "charter_complete": True, "plan_attached": True,
          "budget_broken_down": True}


def proposal_through_routing(app, amount: str) -> int:
    """A proposal pm1 submitted and reviewer1 found complete: the routing table ran."""
    from engine.api import TaskQuery

    with app.app_context():
        engine = app.extensions["pmoflow"].engine
        data = {"title": f"API {amount}", "business_case": "Test.", "category": "it",
                "strategic_objective": "Customer retention",
                "budget": {"amount": amount, "currency": "CNY"},
                "planned_start": "2026-04-01", "planned_end": "2026-12-31",
                "sponsor": "sponsor1", "expected_roi_pct": 10, "risk_rating": "low",
                "departments": ["IT"], "headcount": 2}
        inst = engine.start(db.session, "project_approval", "pm1", data, title=data["title"])
        tasks, _ = engine.tasks(db.session, None, TaskQuery(scope="all", instance_id=inst.id))
        engine.complete(db.session, next(t.id for t in tasks if t.element_id == "check"),
                        "reviewer1", ACCEPT)
        return inst.id


def lowered(xml: str) -> bytes:
    assert "&gt;= 100000" in xml
    return xml.replace("&gt;= 100000", "&gt;= 50000").encode()


def upload(content: bytes, **form: str) -> dict:
    return {"data": {"file": (BytesIO(content), "approval_routing.dmn"), **form},
            "content_type": "multipart/form-data"}


def test_list_read_test_what_if_and_publish(pmo_app, pmo_as):
    admin = pmo_as("admin")
    tables = admin.get("/api/v1/decisions").get_json()
    assert KEY in {t["key"] for t in tables}
    routing = next(t for t in tables if t["key"] == KEY)
    assert (routing["hit_policy"], routing["in_effect"]["version"], routing["has_draft"]) == (
        "COLLECT", 1, False)
    one = admin.get(f"/api/v1/decisions/{KEY}").get_json()
    assert one["xml"].startswith("<?xml") and [v["status"] for v in one["versions"]] == [
        "published"]
    assert [c["id"] for c in one["inputs"]] == ["Input_budget", "Input_category",
                                                "Input_risk", "Input_multi"]

    found = admin.post(f"/api/v1/decisions/{KEY}/test", json={"inputs": {
        "Input_budget": 2_000_000, "Input_category": "it", "Input_risk": "low",
        "Input_multi": True}}).get_json()
    assert found["draft"] is None and found["published"]["rows"] == [2, 3, 4]
    assert found["published"]["outputs"]["approvers.role"] == ["pmo_head", "finance",
                                                               "steering"]
    assert_problem(admin.post(f"/api/v1/decisions/{KEY}/test",
                              json={"inputs": {"Input_budget": "lots"}}), 422, "invalid-data")

    made = [proposal_through_routing(pmo_app, a) for a in ("20000.00", "60000.00", "80000.00",
                                                            "150000.00")]
    what = admin.post(f"/api/v1/decisions/{KEY}/what-if", **upload(lowered(one["xml"])))
    assert what.status_code == 200, what.get_data(True)
    body = what.get_json()
    assert (body["checked"], body["changed"]) == (4, 2)
    assert [i["instance_id"] for i in body["instances"]] == made[1:3]
    assert body["instances"][0]["url"] == f"/instances/{made[1]}"
    assert body["summary"][0] == {"column": "Approver role", "kind": "added",
                                  "value": "finance", "count": 2}

    assert_problem(admin.post(f"/api/v1/decisions/{KEY}/publish",
                              **upload(lowered(one["xml"]))), 422, "invalid-data")
    broken = one["xml"].replace("&gt; 1000000", "&gt; 1000000 )").encode()
    refused = assert_problem(admin.post(f"/api/v1/decisions/{KEY}/publish",
                                        **upload(broken, comment="x")), 422, "invalid-diagram")
    assert refused["problems"][0]["message"].startswith(
        "row 4, input 'Budget in CNY (reporting currency)': ")
    done = admin.post(f"/api/v1/decisions/{KEY}/publish",
                      **upload(lowered(one["xml"]), comment="finance from 50k"))
    assert done.status_code == 201, done.get_data(True)
    assert (done.get_json()["version"], done.get_json()["status"]) == (2, "published")
    after = admin.get(f"/api/v1/decisions/{KEY}").get_json()
    assert [(v["version"], v["status"]) for v in after["versions"]] == [
        (2, "published"), (1, "retired")]
    assert after["in_effect"]["comment"] == "finance from 50k"


@pytest.mark.parametrize("username", ["pm1", "reviewer1", "finance1", "pmohead"])
def test_everyone_but_the_pmo_admin_gets_403(pmo_app, pmo_as, username):
    caller = pmo_as(username)
    xml = b"<definitions/>"
    for response in (
        caller.get("/api/v1/decisions"),
        caller.get(f"/api/v1/decisions/{KEY}"),
        caller.post(f"/api/v1/decisions/{KEY}/test", json={"inputs": {}}),
        caller.post(f"/api/v1/decisions/{KEY}/what-if", **upload(xml)),
        caller.post(f"/api/v1/decisions/{KEY}/publish", **upload(xml, comment="x")),
    ):
        assert_problem(response, 403, "forbidden")
