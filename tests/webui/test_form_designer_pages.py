"""The form designer's pages: process owners only; the preview renders the task page's
form for a draft schema in the chosen language and refuses bad sample data (in Chinese
when Chinese is chosen); saving answers every problem with its JSON pointer; every form
deployed with approval3 saves back unchanged from the designer's save endpoint."""

from __future__ import annotations

import json

import pytest

from tests.webui.conftest import csrf_token, login

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Site visit", "x-title-zh": "现场检查", "type": "object",
    "required": ["visited_on", "cost"],
    "properties": {
        "visited_on": {"type": "string", "format": "date", "title": "Visited on",
                       "x-title-zh": "检查日期"},
        "cost": {"type": "object", "x-widget": "money", "title": "Cost", "x-title-zh": "费用",
                 "required": ["amount", "currency"], "properties": {
                     "amount": {"type": "string", "pattern": "^\\d{1,12}(\\.\\d{1,2})?$"},
                     "currency": {"type": "string", "enum": ["CNY", "USD"], "default": "CNY"}}},
        "outcome": {"type": "string", "enum": ["ok", "issues"], "x-widget": "radio",
                    "x-enum-titles": {"ok": ["OK", "正常"], "issues": ["Issues", "有问题"]}},
        "findings": {"type": "array", "x-widget": "rows", "title": "Findings",
                     "x-title-zh": "发现", "items": {"type": "object", "properties": {
                         "item": {"type": "string", "title": "Item", "x-title-zh": "事项"}}}},
    },
}


def _preview(client, token: str, lang: str, data: dict | None = None):
    form = {"_schema": json.dumps(SCHEMA), "_lang": lang, **(data or {})}
    if data is not None:
        form["_check"] = "1"
    return client.post("/forms/site_visit.schema.json/preview", data=form,
                       headers={"X-CSRFToken": token})


@pytest.mark.parametrize("user", ["pm1", "reviewer1"])
def test_pages_and_writes_are_for_process_owners(client, user):
    login(client, user)
    token = csrf_token(client, "/tasks")
    assert client.get("/forms").status_code == 403
    assert client.get("/forms/x.schema.json").status_code == 403
    assert _preview(client, token, "en").status_code == 403
    assert client.post("/forms/x.schema.json", data=json.dumps(SCHEMA),
                       headers={"X-CSRFToken": token,
                                "Content-Type": "application/json"}).status_code == 403


def test_preview_renders_the_real_form_and_refuses_a_bad_date_in_chinese(client):
    login(client, "owner1")
    token = csrf_token(client, "/forms")
    shown = _preview(client, token, "zh").get_json()
    assert "检查日期" in shown["html"] and 'data-field="cost.amount"' not in shown["html"]
    assert 'name="cost.amount"' in shown["html"] and 'name="findings.0.item"' in shown["html"]
    assert shown["errors"] == []
    bad = _preview(client, token, "zh", {"visited_on": "2026-02-31", "cost.amount": "12",
                                         "cost.currency": "CNY"}).get_json()
    assert [e["field"] for e in bad["errors"]] == ["visited_on"]
    assert "有效" in bad["errors"][0]["message"] or "日期" in bad["errors"][0]["message"]
    assert 'data-error-for="visited_on"' in bad["html"]
    good = _preview(client, token, "en", {"visited_on": "2026-02-27", "cost.amount": "12",
                                          "cost.currency": "CNY"}).get_json()
    assert good["errors"] == [] and 'data-testid="preview-valid"' in good["html"]


def test_save_names_every_problem_by_pointer_then_saves(client):
    login(client, "owner1")
    token = csrf_token(client, "/forms")
    bad = json.loads(json.dumps(SCHEMA))
    bad["required"].append("ghost")
    bad["properties"]["outcome"]["x-enum-titles"]["ok"] = ["OK"]
    answer = client.post("/forms/site_visit.schema.json", data=json.dumps(bad),
                         headers={"X-CSRFToken": token, "Content-Type": "application/json"})
    assert answer.status_code == 422
    assert [p["pointer"] for p in answer.get_json()["problems"]] == [
        "/required/2", "/properties/outcome/x-enum-titles/ok/1"]
    assert client.get("/forms").get_data(as_text=True).count("site_visit.schema.json") == 0
    saved = client.post("/forms/site_visit.schema.json", data=json.dumps(SCHEMA),
                        headers={"X-CSRFToken": token, "Content-Type": "application/json"})
    assert saved.status_code == 200
    page = client.get("/forms/site_visit.schema.json").get_data(as_text=True)
    assert "Site visit" in page and "form_designer.js" in page
    assert "site_visit.schema.json" in client.get("/forms").get_data(as_text=True)


def test_every_deployed_form_saves_back_unchanged(client, app):
    login(client, "owner1")
    token = csrf_token(client, "/forms")
    with app.app_context():
        from webui.extensions import db
        eng = app.extensions["pmoflow"].engine
        forms = {f.name: f.schema for f in eng.forms(db.session, "owner1")}
    assert forms
    for name, schema in forms.items():
        answer = client.post(f"/forms/{name}", data=json.dumps(schema),
                             headers={"X-CSRFToken": token, "Content-Type": "application/json"})
        assert answer.status_code == 200, (name, answer.get_json())
        with app.app_context():
            again = eng.form(db.session, "owner1", name).schema
        assert again == schema and list(again["properties"]) == list(schema["properties"])


def test_preview_of_a_broken_schema_names_its_problems(client):
    login(client, "owner1")
    token = csrf_token(client, "/forms")
    for text, pointer in (("[1, 2]", ""), ("{nope", ""),
                          ('{"type": "object", "properties": {"a": {"type": "day"}}}',
                           "/properties/a/type")):
        answer = client.post("/forms/x.schema.json/preview",
                             data={"_schema": text, "_lang": "zh", "_check": "1", "a": "1"},
                             headers={"X-CSRFToken": token})
        assert answer.status_code == 422, text
        assert [p["pointer"] for p in answer.get_json()["problems"]] == [pointer], text
