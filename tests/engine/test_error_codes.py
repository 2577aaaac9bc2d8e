"""Engine errors carry stable codes and params: every code is registered, every class and
raise site names one, and form errors map from jsonschema's keyword and path (never from
its English message)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import engine
from engine.errors import (
    CODES,
    EngineError,
    FieldError,
    Forbidden,
    InvalidData,
    NotReady,
    Problem,
    TaskFailed,
)
from engine.forms import validate_form

ENGINE = Path(engine.__file__).resolve().parent


def _all_engine_modules() -> None:
    for info in pkgutil.walk_packages([str(ENGINE)], "engine."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


#: The PMO catalog raises engine errors too (read as files: engine tests import no
#: workflows module).
WORKFLOWS = ENGINE.parent / "workflows"


def used_codes(*, catalog: bool = False) -> dict[str, list[str]]:
    """Every code literal in engine/ (and workflows/ with ``catalog``): ``code="..."``
    keywords, ``code = "..."`` class attributes and the second argument of
    ``FieldError(...)``; code -> where."""
    found: dict[str, list[str]] = {}
    paths = list(ENGINE.rglob("*.py")) + (list(WORKFLOWS.rglob("*.py")) if catalog else [])
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            literal = None
            keyword = isinstance(node, ast.keyword) and node.arg == "code"
            attribute = (isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in node.targets)) or (
                isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and node.target.id == "code")
            if keyword or attribute:
                literal = node.value
            elif isinstance(node, ast.arguments):
                positional = node.posonlyargs + node.args
                names = [a.arg for a in positional + node.kwonlyargs]
                defaults = [None] * (len(positional) - len(node.defaults)) + node.defaults
                defaults += node.kw_defaults
                literal = dict(zip(names, defaults, strict=True)).get("code")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "FieldError" and len(node.args) > 1):
                literal = node.args[1]
            if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                where = f"{path.relative_to(ENGINE.parent)}:{getattr(literal, 'lineno', 0)}"
                found.setdefault(literal.value, []).append(where)
    return found


def test_every_code_used_in_the_engine_is_registered():
    """In the error registry, or (the Camunda importer's report lines, which are not
    errors) in the importer's own registry, whose translations
    tests/webui/test_camunda_wording.py checks."""
    from engine.camunda7.report import MESSAGES as IMPORT_REPORT_CODES

    used = used_codes()
    assert len(used) > 40  # the scan finds the raise sites
    unknown = {code: where for code, where in used.items()
               if code not in CODES and code not in IMPORT_REPORT_CODES}
    assert unknown == {}


def test_every_registered_code_is_used():
    """Codes named nowhere are the form keywords, made as ``form.<keyword>``."""
    used = used_codes(catalog=True)
    dead = [c for c in CODES if c not in used and not c.startswith("form.")]
    assert dead == []


def test_every_error_class_has_a_registered_code():
    _all_engine_modules()
    classes = _subclasses(EngineError) | {EngineError}
    assert {c.__name__ for c in classes} >= {"NotFound", "Forbidden", "Conflict", "NotReady",
                                            "InvalidData", "InvalidDiagram", "TaskFailed",
                                            "InstanceChanged", "Busy", "StateError"}
    assert {c.__name__: c.code for c in classes if c.code not in CODES} == {}


def test_codes_are_dotted_or_generic_and_described():
    for code, meaning in CODES.items():
        assert code == code.strip() and " " not in code and meaning.endswith("."), code


def test_unknown_codes_are_refused_at_once():
    with pytest.raises(ValueError, match="unknown error code"):
        Forbidden("nope", code="made.up")
    with pytest.raises(ValueError):
        FieldError("nope", "made.up")
    with pytest.raises(ValueError):
        Problem("f.bpmn", "nope", code="made.up")


def test_errors_keep_their_english_text_and_carry_code_and_params():
    err = NotReady("task 7 is no longer open", code="task.already_completed", task_id=7)
    assert str(err) == "task 7 is no longer open"
    assert (err.code, err.params, err.status) == ("task.already_completed", {"task_id": 7}, 409)
    assert Forbidden("plain").code == "forbidden" and Forbidden("plain").params == {}
    reason = FieldError("this task is assigned to ann", "access.assigned_to_other", user="ann")
    lent = Forbidden(reason)
    assert (str(lent), lent.code, lent.params) == (reason, "access.assigned_to_other",
                                                   {"user": "ann"})
    failed = TaskFailed("boom", element_id="Gw_1", line=3)
    assert failed.code == "run.failed" and failed.params["element_id"] == "Gw_1"
    assert failed.params["detail"] == "boom" and str(failed) == "element Gw_1, line 3: boom"


def test_plain_field_messages_are_wrapped_with_a_generic_code():
    err = InvalidData({"to": "There is no user named 'x'."})
    assert err.errors["to"] == "There is no user named 'x'."
    assert (err.errors["to"].code, err.errors["to"].params) == ("form.invalid", {"field": "to"})


def test_problems_carry_code_and_params_in_their_dict():
    found = Problem("t.dmn", "rules r1 and r2 overlap", "r2", code="dmn.problem",
                    params={"rule": "r2"})
    assert found.to_dict()["code"] == "dmn.problem" and found.to_dict()["params"] == {
        "rule": "r2"}
    assert Problem("a.bpmn", "x").code == "diagram.problem"


# --------------------------------------------------------------------------- jsonschema


SCHEMA = {
    "type": "object",
    "required": ["title", "budget", "kind"],
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 20},
        "budget": {"type": "number", "minimum": 0, "exclusiveMaximum": 1000},
        "kind": {"enum": ["capex", "opex"]},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "start": {"type": "string", "format": "date"},
        "tags": {"type": "array", "minItems": 1, "maxItems": 2},
        "note": {"type": "string", "minLength": 5},
        "items": {"type": "array", "items": {
            "type": "object", "required": ["amount"],
            "properties": {"amount": {"type": "integer", "exclusiveMinimum": 0},
                           "label": {"const": "fixed"}}}},
    },
}


def errors_of(data):
    with pytest.raises(InvalidData) as caught:
        validate_form(SCHEMA, data)
    return {k: (v.code, v.params) for k, v in caught.value.errors.items()}, caught.value.errors


def test_each_keyword_maps_to_its_code_and_params():
    got, texts = errors_of({
        "title": "x" * 21, "budget": 1000, "kind": "other", "code": "ab", "start": "soon",
        "tags": [], "note": "abc"})
    assert got["title"] == ("form.maxLength", {"limit": 20, "field": "title",
                                               "pointer": "/title"})
    assert got["budget"] == ("form.exclusiveMaximum", {"limit": 1000, "field": "budget",
                                                       "pointer": "/budget"})
    assert got["kind"][0] == "form.enum" and got["kind"][1]["values"] == ["capex", "opex"]
    assert got["kind"][1]["allowed"] == "capex, opex"
    assert got["code"][0] == "form.pattern" and got["code"][1]["pattern"] == "^[A-Z]{3}$"
    assert got["start"][0] == "form.format" and got["start"][1]["format"] == "date"
    assert got["tags"] == ("form.minItems", {"limit": 1, "field": "tags", "pointer": "/tags"})
    assert got["note"][0] == "form.minLength" and got["note"][1]["limit"] == 5
    assert texts["budget"] == "Must be less than 1000." and texts["kind"] == (
        "Choose one of: capex, opex.")


def test_required_names_the_missing_property_and_empty_text_counts_as_missing():
    got, texts = errors_of({"title": "", "budget": -1})
    assert got["title"] == ("form.required", {"field": "title", "pointer": "/title"})
    assert got["kind"] == ("form.required", {"field": "kind", "pointer": "/kind"})
    assert got["budget"] == ("form.minimum", {"limit": 0, "field": "budget",
                                              "pointer": "/budget"})
    assert texts["title"] == texts["kind"] == "This field is required."


def test_nested_paths_and_types():
    got, _texts = errors_of({"title": "T", "budget": "lots", "kind": "opex", "items": [
        {"amount": 0}, {"amount": 1.5}, {}, {"amount": 2, "label": "other"}]})
    assert got["budget"] == ("form.type", {"expected": "number", "field": "budget",
                                           "pointer": "/budget"})
    assert got["items.0.amount"] == ("form.exclusiveMinimum", {
        "limit": 0, "field": "items.0.amount", "pointer": "/items/0/amount"})
    assert got["items.1.amount"][0] == "form.type"
    assert got["items.2.amount"] == ("form.required", {"field": "items.2.amount",
                                                       "pointer": "/items/2/amount"})
    assert got["items.3.label"][0] == "form.const"


def test_a_custom_error_message_is_kept_as_a_param():
    schema = {"type": "object", "required": ["why"],
              "properties": {"why": {"type": "string", "errorMessage": "Say why."}}}
    with pytest.raises(InvalidData) as caught:
        validate_form(schema, {})
    err = caught.value.errors["why"]
    assert err == "Say why." and err.code == "form.required" and err.params["custom"] == (
        "Say why.")


def test_non_object_and_unsafe_data_have_codes():
    with pytest.raises(InvalidData) as caught:
        validate_form(SCHEMA, [1])  # type: ignore[arg-type]
    assert caught.value.errors[""].code == "form.not_object"
    with pytest.raises(InvalidData) as caught:
        validate_form(None, {"x": {"typename": 1}, "y": float("nan")})
    codes = {k: v.code for k, v in caught.value.errors.items()}
    assert set(codes.values()) == {"data.reserved", "data.unsafe"}


def test_the_form_module_does_not_read_jsonschema_messages():
    source = (ENGINE / "forms.py").read_text(encoding="utf-8")
    assert "import re\n" not in source and ".message.startswith" not in source
    assert "is a required property" not in source
