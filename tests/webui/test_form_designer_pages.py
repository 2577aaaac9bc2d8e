"""The form designer's pages: process owners only; the preview renders the task page's
form for a draft schema in the chosen language and refuses bad sample data (in Chinese
when Chinese is chosen); saving answers every problem with its JSON pointer; every form
deployed with approval3 saves back unchanged from the designer's save endpoint."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup

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


def _ranged() -> dict:
    schema = json.loads(json.dumps(SCHEMA))
    schema["properties"]["visited_on"].update({"x-earliest": "2026-03-01",
                                               "x-latest": "today+30d"})
    schema["properties"]["inspector"] = {"type": "string", "x-widget": "user",
                                         "title": "Inspector", "x-title-zh": "检查人"}
    schema["properties"]["site"] = {"type": "integer", "minimum": 1, "x-widget": "project",
                                    "title": "Project", "x-title-zh": "项目"}
    return schema


def test_preview_puts_the_date_range_on_the_picker_and_refuses_a_day_outside_it(client, app):
    login(client, "owner1")
    token = csrf_token(client, "/forms")
    with app.app_context():
        latest = (app.extensions["pmoflow"].engine.today() + timedelta(days=30)).isoformat()
    form = {"_schema": json.dumps(_ranged()), "_lang": "zh", "_check": "1",
            "visited_on": "2026-02-28", "cost.amount": "12", "cost.currency": "CNY"}
    bad = client.post("/forms/site_visit.schema.json/preview", data=form,
                      headers={"X-CSRFToken": token}).get_json()
    assert bad["errors"] == [{"field": "visited_on", "message": "不得早于 2026-03-01。"}]
    page = BeautifulSoup(bad["html"], "html.parser")
    picker = page.select_one("input[name=visited_on]")
    assert (picker["type"], picker["min"], picker["max"]) == ("date", "2026-03-01", latest)
    assert page.select_one("[data-error-for=visited_on]").get_text() == "不得早于 2026-03-01。"
    form.update(_lang="en", visited_on="9999-01-01")
    late = client.post("/forms/site_visit.schema.json/preview", data=form,
                       headers={"X-CSRFToken": token}).get_json()
    assert late["errors"] == [{"field": "visited_on", "message": f"Must be on or before {latest}."}]


def test_preview_pickers_list_the_real_people_and_projects(pmo_client):
    """The owner manages no project: the preview still shows every running one."""
    client = pmo_client
    login(client, "owner1")
    token = csrf_token(client, "/forms")
    shown = client.post("/forms/site_visit.schema.json/preview",
                        data={"_schema": json.dumps(_ranged()), "_lang": "en"},
                        headers={"X-CSRFToken": token}).get_json()
    page = BeautifulSoup(shown["html"], "html.parser")
    people = [o["value"] for o in page.select("select[name=inspector] option") if o["value"]]
    assert {"pm1", "reviewer1", "owner1"} <= set(people)
    labels = [o.get_text() for o in page.select("select[name=site] option") if o["value"]]
    assert "PRJ-2026-0001 — Warehouse automation" in labels
    assert "PRJ-2026-0002 — Customer portal relaunch" in labels


def test_a_range_that_ends_before_it_starts_is_not_saved(client):
    login(client, "owner1")
    token = csrf_token(client, "/forms")
    bad = _ranged()
    bad["properties"]["visited_on"].update({"x-earliest": "2026-05-01", "x-latest": "2026-04-01"})
    answer = client.post("/forms/site_visit.schema.json", data=json.dumps(bad),
                         headers={"X-CSRFToken": token, "Content-Type": "application/json",
                                  "Accept-Language": "en"})
    assert answer.status_code == 422
    assert answer.get_json()["problems"] == [{
        "pointer": "/properties/visited_on/x-earliest",
        "message": "visited_on: the earliest date 2026-05-01 is after the latest date "
                   "2026-04-01."}]
    assert "site_visit.schema.json" not in client.get("/forms").get_data(as_text=True)


def test_the_task_page_date_picker_gets_the_range_of_the_day():
    from webui.formview import build_form

    schema = {"type": "object", "properties": {
        "due": {"type": "string", "format": "date", "x-earliest": "today",
                "x-latest": "today+14d"},
        "rows": {"type": "array", "x-widget": "rows", "items": {"type": "object", "properties": {
            "on": {"type": "string", "format": "date", "x-latest": "2026-12-31"}}}}}}
    form = build_form(schema, {}, locale="en", today=date(2026, 3, 10))
    due, rows = form.fields
    assert (due.widget, due.attrs) == ("date", {"min": "2026-03-10", "max": "2026-03-24"})
    assert rows.rows[0][0].attrs == {"max": "2026-12-31"}
    assert rows.template[0].attrs == {"max": "2026-12-31"}
