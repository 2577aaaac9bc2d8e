"""Rendering fields from a schema: labels, widgets, values, errors, rows."""

from __future__ import annotations

from flask_babel import force_locale

from engine.pages import Person
from webui.formview import build_form

SCHEMA = {
    "title": "Proposal", "x-title-zh": "立项",
    "type": "object", "required": ["title"],
    "properties": {
        "title": {"type": "string", "title": "Title", "x-title-zh": "名称"},
        "decision": {"type": "string", "enum": ["accept", "reject"],
                     "x-enum-titles": {"accept": ["Accept", "接受"]}},
        "budget": {"type": "object", "x-widget": "money",
                   "properties": {"amount": {"type": "string"}, "currency": {"type": "string"}}},
        "owner": {"type": "string", "x-widget": "user", "x-role": "sponsor"},
        "items": {"type": "array", "x-widget": "rows", "minItems": 2, "maxItems": 3,
                  "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "code": {"type": "string", "readOnly": True},
    },
}
PEOPLE = (Person("s1", "Sponsor One", ("sponsor",), ("sponsor",)),
          Person("p1", "PM One", ("pm",), ("pm",)))


def fields(values=None, errors=None, locale="en"):
    form = build_form(SCHEMA, values, errors, locale=locale, people=PEOPLE)
    return form, {f.name: f for f in form.fields}


def test_labels_titles_and_required_marks(app):
    form, f = fields()
    assert form.title == "Proposal" and f["title"].label == "Title" and f["title"].required
    assert f["decision"].label == "Decision" and not f["decision"].required
    with app.test_request_context(), force_locale("zh"):
        zh_form, zh = fields(locale="zh")
    assert zh_form.title == "立项" and zh["title"].label == "名称"
    assert [o.label for o in zh["decision"].options] == ["接受", "拒绝"]


def test_values_fill_the_fields():
    _, f = fields({"title": "T", "decision": "reject", "owner": "s1",
                   "budget": {"amount": "5", "currency": "USD"}, "code": "C-1"})
    assert f["title"].text == "T"
    assert [o.value for o in f["decision"].options if o.selected] == ["reject"]
    assert [o.value for o in f["owner"].options] == ["s1"] and f["owner"].options[0].selected
    amount, currency = f["budget"].children
    assert amount.text == "5" and [o.value for o in currency.options if o.selected] == ["USD"]
    assert f["code"].read_only and f["code"].text == "C-1"


def test_unknown_user_value_is_kept_as_an_option():
    _, f = fields({"owner": "gone"})
    assert f["owner"].options[0].value == "gone" and f["owner"].options[0].selected


def test_rows_render_filled_rows_plus_one_up_to_max():
    _, f = fields()
    assert len(f["items"].rows) == 2  # minItems
    _, f = fields({"items": [{"name": "a"}, {"name": "b"}]})
    assert len(f["items"].rows) == 3 and f["items"].rows[0][0].text == "a"
    _, f = fields({"items": [{"name": n} for n in "abc"]})
    assert len(f["items"].rows) == 3  # maxItems reached: no empty row
    assert f["items"].template[0].name == "items.__i__.name"
    assert f["items"].attrs["columns"] == ["Name"]


def test_errors_land_on_their_fields_and_the_rest_is_listed():
    form, f = fields(errors={"title": "This field is required.",
                             "budget.amount": "Has the wrong format.",
                             "items.1.name": "Must be at least 2 characters.",
                             "": "Something about the whole form."})
    assert f["title"].error == "This field is required."
    assert f["budget"].children[0].error == "Has the wrong format."
    assert f["items"].rows[1][0].error == "Must be at least 2 characters."
    assert form.other_errors == ["Something about the whole form."]
    assert [x.name for x in form.invalid()] == ["title", "budget.amount", "items.1.name"]


def test_a_read_only_person_is_shown_by_the_names_given_without_a_directory(app):
    from engine.pages import Directory

    schema = {"type": "object", "properties": {
        "sponsor": {"type": "string", "x-widget": "user", "readOnly": True},
        "team": {"type": "array", "x-widget": "rows", "readOnly": True, "items": {
            "type": "object", "properties": {"who": {"type": "string", "x-widget": "user"}}}}}}
    names = Directory((), {}, {"s1": "Sponsor One", "t1": "Team One"})
    with app.test_request_context():
        form = build_form(schema, {"sponsor": "s1", "team": [{"who": "t1"}]}, names=names)
        f = {x.name: x for x in form.fields}
        assert f["sponsor"].static.text == "Sponsor One"
        assert f["team"].static.table == [["Team One"]]
        # without names, the people offered are the names (and a stranger's username)
        plain = {x.name: x for x in build_form(schema, {"sponsor": "s1"}, people=PEOPLE).fields}
        assert plain["sponsor"].static.text == "Sponsor One"
        assert {x.name: x for x in build_form(schema, {"sponsor": "zz"}).fields}[
            "sponsor"].static.text == "zz"
