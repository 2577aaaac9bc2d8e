"""Importing a Camunda 7 diagram over the API: report and converted files, drafts kept,
then deployed as they are; process owners only; bad tables refused per field."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

from tests.webui.api.conftest import assert_problem
from webui.extensions import db

APPROVAL = Path(__file__).resolve().parents[2] / "engine" / "camunda7" / "data" / "approval.bpmn"
ROLES = {"management": "pmo_head", "directors": "steering", "*": "pm"}


def _upload(caller, **fields):
    return caller.post("/api/v1/imports/camunda7", data={
        "files": [(BytesIO(APPROVAL.read_bytes()), "approval.bpmn")], **fields})


def test_owner_imports_keeps_drafts_and_the_files_deploy(as_user):
    owner = as_user("owner1")
    first = _upload(owner, roles=json.dumps(ROLES))
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["status"] == {"approval.bpmn": "cannot_run"}  # the delegate is not bound
    service = body["services"][0]
    assert (service["element_id"], service["construct"], service["operation"]) == (
        "order", "camunda:class", None)
    stop = [e for e in body["report"] if e["outcome"] == "cannot_run"]
    assert [e["message"] for e in stop] == [
        "camunda:class=com.acme.purchase.PlaceOrderDelegate on 'Place order': bind it to an "
        "operation or remove it"]
    lines = [e["line"] for e in body["report"]]
    assert lines == sorted(lines)
    assert body["drafts"] == []

    operation = next(iter(_operations(owner)))
    bound = _upload(owner, roles=json.dumps(ROLES), operations=json.dumps({"order": operation}),
                    drafts="true").get_json()
    assert bound["status"] == {"approval.bpmn": "needs_decision"}
    assert bound["summary"] == "converted=0 needs_decision=1 cannot_run=0 crashed=0"
    assert bound["drafts"] == ["purchase_approval"]
    app = owner.client.application
    with app.app_context():
        kept = app.extensions["pmoflow"].engine.process_drafts(db.session, "owner1")
        assert [d.process_key for d in kept] == ["purchase_approval"]
        form = app.extensions["pmoflow"].engine.form(db.session, "owner1", "approval-review.schema.json")
        assert form.schema["properties"]["approved"]["type"] == "boolean"
    files = [(BytesIO(f["content"].encode()), f["name"].rsplit("/", 1)[-1])
             for f in bound["files"]]
    deployed = owner.post("/api/v1/deployments", data={"files": files, "comment": "From Camunda"})
    assert deployed.status_code == 201, deployed.get_json()
    assert [p["key"] for p in deployed.get_json()["processes"]] == ["purchase_approval"]


def _operations(owner) -> list[str]:
    app = owner.client.application
    return sorted(app.extensions["pmoflow"].engine.services.names())


def test_only_process_owners_and_bad_tables_are_refused(as_user):
    assert_problem(_upload(as_user("pm1")), 403, "forbidden")
    owner = as_user("owner1")
    bad = assert_problem(_upload(owner, roles="[1, 2]"), 422, "invalid-data")
    assert bad["errors"][0]["field"] == "roles"
    empty = owner.post("/api/v1/imports/camunda7", data={})
    assert empty.status_code == 422


def test_broken_upload_is_a_report_not_a_500(as_user):
    owner = as_user("owner1")
    answer = owner.post("/api/v1/imports/camunda7", data={
        "files": [(BytesIO(b"<bpmn:definitions"), "broken.bpmn")]})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == {"broken.bpmn": "cannot_run"}
    assert "not well-formed XML" in body["report"][0]["message"]
    assert body["files"] == []
