"""``camunda:formData`` (generated task forms) -> a JSON Schema form (docs/forms.md)."""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree

from engine.camunda7.common import FileReport, is_camunda, label, local

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "long": {"type": "integer"},
    "integer": {"type": "integer"},
    "short": {"type": "integer"},
    "double": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "enum": {"type": "string"},
}
_FIELD_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


def form_schema(owner: etree._Element, form_data: etree._Element, report: FileReport) -> dict:
    """The JSON Schema for a ``camunda:formData``; fields it cannot express are reported."""
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": " ".join((owner.get("name") or owner.get("id") or "Form").split()),
        "type": "object",
        "properties": {},
    }
    required: list[str] = []
    for field in form_data:
        if not is_camunda(field) or local(field) != "formField":
            continue
        field_id = (field.get("id") or "").strip()
        if not _FIELD_ID.match(field_id):
            report.add(
                owner,
                "camunda:formField",
                "cannot_run",
                f"form field '{field_id}' on {label(owner)}: the id cannot be a variable name "
                "in PMOflow (letters, digits and _); rename it",
                field,
            )
            continue
        prop, is_required = _field(owner, field, report)
        schema["properties"][field_id] = prop
        if is_required:
            required.append(field_id)
    if required:
        schema["required"] = required
    return schema


def _field(
    owner: etree._Element, field: etree._Element, report: FileReport
) -> tuple[dict[str, Any], bool]:
    kind = (field.get("type") or "string").strip()
    prop: dict[str, Any] = dict(_TYPES.get(kind, {"type": "string"}))
    if kind not in _TYPES:
        report.add(
            owner,
            "camunda:formField",
            "needs_decision",
            f"form field '{field.get('id')}' on {label(owner)} has the custom type '{kind}': "
            "it became a text field",
            field,
        )
    title = " ".join((field.get("label") or field.get("id") or "").split())
    prop["title"] = title
    prop["x-title-zh"] = title
    if kind == "enum":
        values = [v for v in field.iter() if is_camunda(v) and local(v) == "value"]
        ids = [v.get("id") or "" for v in values]
        if ids:
            prop["enum"] = ids
            prop["x-enum-titles"] = {
                v.get("id") or "": [v.get("name") or v.get("id") or ""] * 2 for v in values
            }
    default = field.get("defaultValue")
    if default is not None and "${" not in default:
        value = _typed(default, prop["type"])
        if value is not None:
            prop["default"] = value
    is_required = False
    for constraint in field.iter():
        if not (is_camunda(constraint) and local(constraint) == "constraint"):
            continue
        name, config = constraint.get("name"), constraint.get("config")
        is_required |= _constraint(prop, name, config, owner, field, report)
    return prop, is_required


def _constraint(
    prop: dict[str, Any],
    name: str | None,
    config: str | None,
    owner: etree._Element,
    field: etree._Element,
    report: FileReport,
) -> bool:
    number = _typed(config or "", "number")
    if name == "required":
        return True
    if name == "readonly":
        prop["readOnly"] = True
    elif name in ("minlength", "maxlength") and isinstance(number, int):
        prop["minLength" if name == "minlength" else "maxLength"] = number
    elif name in ("min", "max") and number is not None:
        prop["minimum" if name == "min" else "maximum"] = number
    else:
        report.add(
            owner,
            "camunda:constraint",
            "needs_decision",
            f"validation '{name}' on form field '{field.get('id')}' of {label(owner)} "
            "is not converted (custom validators are Java): check the field by hand",
            field,
        )
    return False


def _typed(text: str, kind: str) -> Any:
    text = text.strip()
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            value = float(text)
            return int(value) if value.is_integer() and "." not in text else value
        if kind == "boolean":
            return {"true": True, "false": False}.get(text.lower())
    except ValueError:
        return None
    return text


def schema_bytes(schema: dict) -> bytes:
    """The schema as the form files under ``bpmn/forms`` are written."""
    return (json.dumps(schema, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
