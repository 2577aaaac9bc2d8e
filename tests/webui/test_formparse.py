"""The HTML form -> JSON parser, one convention of docs/forms.md at a time."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from webui.formparse import coerce, parse_form
from webui.schema import widget_of

SCHEMA = {
    "type": "object",
    "required": ["title"],
    "properties": {
        "title": {"type": "string", "title": "Title"},
        "budget": {"type": "number", "minimum": 0},
        "headcount": {"type": "integer"},
        "cost": {"type": "object", "x-widget": "money",
                 "properties": {"amount": {"type": "string"},
                                "currency": {"type": "string", "enum": ["CNY", "USD"]}}},
        "start": {"type": "string", "format": "date"},
        "urgent": {"type": "boolean"},
        "probability": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
        "milestones": {"type": "array", "x-widget": "rows",
                       "items": {"type": "object", "properties": {
                           "name": {"type": "string"}, "weeks": {"type": "integer"},
                           "critical": {"type": "boolean"}}}},
        "departments": {"type": "array", "items": {"type": "string",
                                                    "enum": ["IT", "HR", "Ops"]}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "code": {"type": "string", "readOnly": True},
        "charter": {"type": "object", "x-widget": "file"},
        "initiator": {"type": "string"},
        "sponsor": {"type": "object", "properties": {"name": {"type": "string"},
                                                      "email": {"type": "string"}}},
    },
}


def parse(**fields):
    return parse_form(SCHEMA, MultiDict(list(fields.items())))


def test_empty_form_gives_false_checkboxes_only():
    assert parse() == {"urgent": False}


def test_text_is_trimmed_and_empty_optional_fields_are_omitted():
    assert parse(title="  Tower  ", start="", headcount=" ") == {"title": "Tower",
                                                                 "urgent": False}


def test_numbers_converted_only_where_the_schema_says_so():
    data = parse(title="42", budget="1200.50", headcount="7", probability="3")
    assert data["title"] == "42"
    assert data["budget"] == 1200.5 and isinstance(data["budget"], float)
    assert data["headcount"] == 7 and isinstance(data["headcount"], int)
    assert data["probability"] == 3


def test_whole_numbers_become_int_and_bad_numbers_are_kept_for_the_error():
    assert parse(budget="1200")["budget"] == 1200
    assert parse(budget="12e2")["budget"] == 1200
    assert parse(budget="abc")["budget"] == "abc"
    assert parse(budget="NaN")["budget"] == "NaN"
    assert parse(headcount="2.5")["headcount"] == "2.5"
    assert parse(headcount="3.0")["headcount"] == 3


def test_money_is_a_decimal_string_with_currency():
    data = parse(**{"cost.amount": " 1,234,567.50 ", "cost.currency": "usd"})
    assert data["cost"] == {"amount": "1234567.50", "currency": "USD"}


def test_money_without_amount_is_omitted_even_with_a_currency():
    assert "cost" not in parse(**{"cost.amount": "", "cost.currency": "CNY"})


def test_dates_stay_iso_strings():
    assert parse(start="2026-04-01")["start"] == "2026-04-01"


def test_checkbox_values():
    assert parse(urgent="on")["urgent"] is True
    assert parse(urgent="true")["urgent"] is True
    assert parse(urgent="")["urgent"] is False


def test_rows_in_index_order_with_empty_rows_dropped():
    form = MultiDict([
        ("milestones.3.name", "Go live"), ("milestones.3.weeks", "12"),
        ("milestones.0.name", "Design"), ("milestones.0.weeks", "4"),
        ("milestones.0.critical", "on"),
        ("milestones.1.name", ""), ("milestones.1.weeks", ""),
        ("milestones.x.name", "ignored"),
    ])
    assert parse_form(SCHEMA, form)["milestones"] == [
        {"name": "Design", "weeks": 4, "critical": True},
        {"name": "Go live", "weeks": 12, "critical": False},
    ]


def test_all_empty_rows_omit_the_field():
    form = MultiDict([("milestones.0.name", ""), ("milestones.0.weeks", "")])
    assert "milestones" not in parse_form(SCHEMA, form)


def test_multiselect_reads_every_value():
    form = MultiDict([("departments", "IT"), ("departments", "Ops"), ("departments", "")])
    assert parse_form(SCHEMA, form)["departments"] == ["IT", "Ops"]


def test_tags_are_comma_separated_in_both_scripts():
    assert parse(tags="vendor, 接口联调，risk;; ")["tags"] == ["vendor", "接口联调", "risk"]
    assert "tags" not in parse(tags=" , ")


def test_read_only_file_and_reserved_fields_are_never_read():
    data = parse(code="PRJ-1", charter="x", initiator="mallory", typename="X")
    assert not {"code", "charter", "initiator", "typename"} & set(data)


def test_nested_objects_and_empty_nested_objects():
    assert parse(**{"sponsor.name": "Zhang"})["sponsor"] == {"name": "Zhang"}
    assert "sponsor" not in parse(**{"sponsor.name": " "})


def test_plain_dict_is_accepted_and_no_schema_gives_nothing():
    assert parse_form(SCHEMA, {"title": "x"})["title"] == "x"
    assert parse_form(None, MultiDict([("title", "x")])) == {}


def test_coerce_leaves_strings_alone():
    assert coerce({"type": "string"}, "007") == "007"
    assert coerce({"type": ["integer", "null"]}, "7") == 7


def test_widgets_follow_the_conventions():
    p = SCHEMA["properties"]
    assert widget_of(p["title"]) == "text"
    assert widget_of({"type": "string", "maxLength": 500}) == "textarea"
    assert widget_of(p["start"]) == "date"
    assert widget_of(p["budget"]) == "number"
    assert widget_of(p["probability"]) == "select"
    assert widget_of({"type": "string", "enum": ["a", "b", "c"]}) == "radio"
    assert widget_of({"type": "string", "enum": ["a", "b"], "x-widget": "select"}) == "select"
    assert widget_of(p["urgent"]) == "checkbox"
    assert widget_of(p["cost"]) == "money"
    assert widget_of({"type": "object", "properties": {"amount": {}, "currency": {}}}) == "money"
    assert widget_of(p["milestones"]) == "rows"
    assert widget_of(p["departments"]) == "multiselect"
    assert widget_of(p["tags"]) == "tags"
    assert widget_of(p["sponsor"]) == "object"
    assert widget_of({"type": "string", "x-widget": "user"}) == "user"
