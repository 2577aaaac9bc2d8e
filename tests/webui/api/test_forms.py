"""Task forms over the API: every shipped form comes back unchanged from a save (the
round trip of the designer), a bad schema is a 422 naming each problem by JSON pointer
with nothing saved, preview validates sample data, and only process owners get in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.webui.api.conftest import assert_problem

SHIPPED = sorted((Path(__file__).resolve().parents[3] / "bpmn" / "forms").glob("*.json"))


def test_every_shipped_form_lists_and_saves_back_unchanged(pmo_as):
    owner = pmo_as("admin")  # the PMO administrator is also a process owner
    listed = {f["name"]: f for f in owner.get("/api/v1/forms").get_json()["items"]}
    assert set(listed) == {p.name for p in SHIPPED}
    for path in SHIPPED:
        shipped = json.loads(path.read_text(encoding="utf-8"))
        got = owner.get(f"/api/v1/forms/{path.name}").get_json()
        assert got["schema"] == shipped and got["draft"] is False and got["deployed_in"]
        raw = owner.get(f"/api/v1/forms/{path.name}").get_data(as_text=True)
        text = json.dumps(json.loads(raw)["schema"])  # as a client sends it back, in order
        saved = owner.put(f"/api/v1/forms/{path.name}", data=text,
                          headers={"Content-Type": "application/json"})
        assert saved.status_code == 200, (path.name, saved.get_json())
        body = saved.get_json()
        assert body["schema"] == shipped and body["draft"] is True
        again = json.loads(owner.get(f"/api/v1/forms/{path.name}").get_data(as_text=True))
        assert list(again["schema"]["properties"]) == list(shipped["properties"])  # in order


def test_a_bad_form_is_422_with_every_pointer_and_nothing_saved(pmo_as):
    owner = pmo_as("admin")
    bad = {"type": "object", "required": ["ghost"], "properties": {
        "choice": {"type": "string", "enum": ["a"], "x-enum-titles": {"a": ["A", ""]}},
        "n": {"type": "integer", "minimum": "zero"}},
        "if": {"properties": {"missing": {"const": 1}}}, "then": {"required": ["choice"]}}
    body = assert_problem(owner.put("/api/v1/forms/new.schema.json", json=bad), 422,
                          "invalid-data")
    assert {e["field"]: e["code"] for e in body["errors"]} == {
        "/properties/n/minimum": "form_schema.invalid"}
    bad["properties"]["n"]["minimum"] = 0
    body = assert_problem(owner.put("/api/v1/forms/new.schema.json", json=bad), 422,
                          "invalid-data")
    assert {e["field"]: e["code"] for e in body["errors"]} == {
        "/required/0": "form_schema.unknown_field",
        "/if/properties/missing": "form_schema.unknown_field",
        "/properties/choice/x-enum-titles/a/1": "form_schema.choice_label"}
    assert_problem(owner.get("/api/v1/forms/new.schema.json"), 404, "not-found")
    dup = '{"type": "object", "properties": {"a": {"type": "string"}, "a": {}}}'
    body = assert_problem(owner.put("/api/v1/forms/dup.schema.json", data=dup,
                                    headers={"Content-Type": "application/json"}),
                          422, "invalid-data")
    assert [e["field"] for e in body["errors"]] == ["/properties/a"]
    huge = json.dumps({"type": "object", "properties": {}, "description": "x" * 5_000_000})
    assert_problem(owner.put("/api/v1/forms/huge.schema.json", data=huge,
                             headers={"Content-Type": "application/json"}),
                   413, "payload-too-large")  # the app's request limit answers first
    big = json.dumps({"type": "object", "properties": {}, "description": "x" * 600_000})
    body = assert_problem(owner.put("/api/v1/forms/big.schema.json", data=big,
                                    headers={"Content-Type": "application/json"}),
                          422, "invalid-data")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("", "form_schema.too_large")]
    names = {f["name"] for f in owner.get("/api/v1/forms").get_json()["items"]}
    assert not names & {"big.schema.json", "new.schema.json", "dup.schema.json"}


def test_preview_validates_sample_data_in_the_callers_language(pmo_as):
    owner = pmo_as("admin")
    schema = {"type": "object", "required": ["due"], "properties": {
        "due": {"type": "string", "format": "date", "title": "Due", "x-title-zh": "截止日期"}}}
    found = owner.post("/api/v1/forms/x.schema.json/preview",
                       json={"schema": schema, "data": {"due": "2026-02-30"}},
                       headers={"Accept-Language": "zh"}).get_json()
    assert found["valid"] is False
    assert [(e["field"], e["code"]) for e in found["errors"]] == [("due", "form.format")]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in found["errors"][0]["message"])
    ok = owner.post("/api/v1/forms/x.schema.json/preview",
                    json={"schema": schema, "data": {"due": "2026-02-27"}}).get_json()
    assert ok == {"valid": True, "errors": []}


@pytest.mark.parametrize("user", ["pm1", "sponsor1"])
def test_only_process_owners(pmo_as, user):
    caller = pmo_as(user)
    assert_problem(caller.get("/api/v1/forms"), 403, "forbidden")
    assert_problem(caller.get("/api/v1/forms/project_approval-start.schema.json"), 403,
                   "forbidden")
    assert_problem(caller.put("/api/v1/forms/a.schema.json", json={"type": "object",
                                                                    "properties": {}}),
                   403, "forbidden")
    assert_problem(caller.post("/api/v1/forms/a.schema.json/preview", json={"data": {}}), 403,
                   "forbidden")
