"""Process versions over the API: list, XML, diff; validating a draft is for process
owners (403 for others); a deployment keeps its comment."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from tests.webui.api.conftest import assert_problem

FORMS = Path(__file__).resolve().parents[2] / "engine" / "processes" / "forms"


def _forms() -> list:
    return [(BytesIO(p.read_bytes()), p.name) for p in sorted(FORMS.glob("approval3-*.json"))]


def test_versions_xml_diff_and_a_commented_deployment(as_user):
    owner = as_user("owner1")
    listed = owner.get("/api/v1/processes/approval3/versions").get_json()
    assert [v["version"] for v in listed["items"]] == [1]
    assert listed["items"][0]["current"] is True and listed["items"][0]["running"] == 0
    xml = owner.get("/api/v1/processes/approval3/versions/1/xml")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    source = xml.get_data(as_text=True)
    changed = source.replace('name="Check completeness"', 'name="Check it is complete"', 1)
    assert changed != source
    deployed = owner.post("/api/v1/deployments", data={
        "files": [(BytesIO(changed.encode()), "approval3.bpmn"), *_forms()],
        "comment": "Clearer step name"})
    assert deployed.status_code == 201, deployed.get_json()
    listed = owner.get("/api/v1/processes/approval3/versions").get_json()["items"]
    assert [(v["version"], v["comment"], v["deployed_by"]) for v in listed] == [
        (2, "Clearer step name", "owner1"), (1, None, "owner1")]
    diff = owner.get("/api/v1/processes/approval3/diff?from=1&to=2").get_json()
    assert diff["added"] == [] and diff["removed"] == []
    assert [(c["element_id"], c["changes"]) for c in diff["changed"]] == [
        ("review", [{"field": "name", "old": "Check completeness",
                     "new": "Check it is complete"}])]
    assert_problem(owner.get("/api/v1/processes/approval3/versions/9/xml"), 404, "not-found")
    assert_problem(owner.get("/api/v1/processes/nope/versions"), 404, "not-found")


def test_validating_a_draft_is_for_process_owners(as_user):
    owner, pm = as_user("owner1"), as_user("pm1")
    source = owner.get("/api/v1/processes/approval3/versions/1/xml").get_data(as_text=True)
    assert_problem(pm.post("/api/v1/processes/approval3/validate", json={"xml": source}), 403,
                   "forbidden")
    ok = owner.post("/api/v1/processes/approval3/validate", json={"xml": source})
    assert ok.status_code == 200 and ok.get_json() == {"valid": True, "problems": []}
    loose = source.replace("</bpmn:process>",
                           '<bpmn:userTask id="loose" name="Loose"/></bpmn:process>', 1)
    bad = owner.post("/api/v1/processes/approval3/validate", json={"xml": loose}).get_json()
    assert bad["valid"] is False
    assert "loose" in {p["element_id"] for p in bad["problems"]}
    other = owner.post("/api/v1/processes/other/validate", json={"xml": source}).get_json()
    assert other["valid"] is False and "no process 'other'" in other["problems"][-1]["message"]
    assert_problem(pm.post("/api/v1/deployments", data={
        "files": [(BytesIO(source.encode()), "approval3.bpmn")], "comment": "x"}), 403,
        "forbidden")
